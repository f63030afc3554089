"""The warm host: one pre-imported process per workspace that forks endpoint supervisors.

A fresh ``python -m siklus.serving._server`` spends most of its start importing
scikit-learn, SciPy, pandas and skops (about 1.4 s on a small machine), before it loads a
model. The warm host (``python -m siklus.serving._host --workspace ROOT``) pays those
imports once, then waits on a Unix socket ``<workspace>/.siklus/serving/host.sock``
(mode 0600, never TCP; only the same user may connect). On a ``spawn`` request it forks a
child that becomes the endpoint supervisor exactly as the subprocess would: its own
session, stdin from /dev/null, stdout and stderr to the endpoint log, the caller's
environment and working directory, default signal handlers; then it runs
:func:`siklus.serving._server.main` and exits with its status.

Opt-in: :func:`spawn_server` uses the host only when one answers for this workspace,
interpreter and siklus installation; otherwise it starts the subprocess as before. The
host is single-threaded (children are reaped on SIGCHLD), so forking it is safe. Killing
the host does not stop the endpoints it started: each child leads its own session.
Code changes (siklus or a library upgrade) need ``siklus endpoints host stop`` and
``start``: the host keeps the modules it imported at start.

Protocol: one JSON object per connection each way, newline-terminated.
``{"op": "ping"}``, ``{"op": "spawn", "name", "port", "env", "log_path", "cwd"}``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState
from siklus.jobs import process_alive, process_create_time
from siklus.store import WorkspaceContext

logger = logging.getLogger("siklus.serving.host")

#: Seconds a client waits for the host to answer one request.
_ANSWER_TIMEOUT_S = 5.0
#: AF_UNIX paths are limited to 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_MAX_REQUEST_BYTES = 4 * 1024 * 1024


def host_dir(root: Path) -> Path:
    """``<workspace>/.siklus/serving``: the host's socket, pid file, lock and log."""
    return root / ".siklus" / "serving"


def host_socket_path(ctx: WorkspaceContext) -> Path:
    """The warm host's socket for this workspace (it may not exist)."""
    return host_dir(ctx.root) / "host.sock"


def _paths(root: Path) -> dict[str, Path]:
    base = host_dir(root)
    return {
        "socket": base / "host.sock",
        "pid": base / "host.pid",
        "lock": base / "host.lock",
        "log": base / "host.log",
    }


def _siklus_path() -> str:
    """Where this siklus is installed: a host running other code must not fork endpoints."""
    return str(Path(__file__).resolve().parents[1])


# -- client side ------------------------------------------------------------------------------


def _request(sock_path: Path, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request and read one answer. Raises OSError or ValueError on failure."""
    if len(os.fsencode(sock_path)) > _MAX_SOCKET_PATH:
        raise OSError(errno.ENAMETOOLONG, f"socket path too long: {sock_path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(sock_path))
        client.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data.decode())
    if not isinstance(answer, dict):
        raise ValueError("the host answered something other than a JSON object")
    return answer


def _read_pid_file(path: Path) -> tuple[int | None, float | None]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return int(body["pid"]), body.get("started_at")
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def _ping(root: Path, timeout: float = _ANSWER_TIMEOUT_S) -> dict[str, Any] | None:
    """The host's ping answer, or None when no host answers on this workspace's socket."""
    try:
        answer = _request(_paths(root)["socket"], {"op": "ping"}, timeout)
    except (OSError, ValueError):
        return None
    return answer if answer.get("ok") else None


def _clean_stale(root: Path) -> bool:
    """Remove the socket and pid file of a host that is gone. True when something went."""
    paths = _paths(root)
    pid, started_at = _read_pid_file(paths["pid"])
    if pid is not None and process_alive(pid, started_at):
        return False
    removed = False
    for key in ("socket", "pid"):
        with contextlib.suppress(FileNotFoundError):
            paths[key].unlink()
            removed = True
    return removed


def host_status(ctx: WorkspaceContext) -> dict[str, Any]:
    """Whether a warm host serves this workspace: ``running``, ``pid``, ``socket``, ``log``,
    ``uptime_s``, ``children`` (endpoint supervisors it started that still run).

    A socket left by a dead host is removed here (reported as ``stale_removed``).
    """
    paths = _paths(ctx.root)
    answer = _ping(ctx.root)
    status: dict[str, Any] = {
        "running": answer is not None,
        "pid": None,
        "socket": str(paths["socket"]),
        "log": str(paths["log"]),
    }
    if answer is not None:
        status.update(
            pid=answer.get("pid"),
            uptime_s=round(time.time() - float(answer.get("started", time.time())), 1),
            children=answer.get("children", []),
            executable=answer.get("executable"),
        )
    else:
        status["stale_removed"] = _clean_stale(ctx.root)
    return status


def start_host(ctx: WorkspaceContext, *, timeout: float = 60.0) -> dict[str, Any]:
    """Start this workspace's warm host (detached) and wait until it answers.

    Starting it when it already runs changes nothing. Returns :func:`host_status`.

    Raises:
        InvalidParameter: The workspace path is too long for a Unix socket path.
        InvalidState: The host did not come up; the message quotes its log.
    """
    paths = _paths(ctx.root)
    if len(os.fsencode(paths["socket"])) > _MAX_SOCKET_PATH:
        raise InvalidParameter(
            f"The warm host's socket path {paths['socket']} is longer than the 107 bytes a "
            "Unix socket allows; use a workspace with a shorter path, or do without the host."
        )
    if _ping(ctx.root) is not None:
        return host_status(ctx)
    _clean_stale(ctx.root)
    paths["log"].parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **ctx.to_env(), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "siklus.serving._host", "--workspace", str(ctx.root)]
    with open(paths["log"], "ab") as log_file:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ctx.root,
            start_new_session=True,
        )
    threading.Thread(target=proc.wait, name="siklus-serving-host", daemon=True).start()
    deadline = time.monotonic() + timeout
    while _ping(ctx.root, timeout=1.0) is None:
        if proc.poll() is not None or time.monotonic() >= deadline:
            from siklus.serving._process import log_tail, stop_server

            stop_server(proc.pid, process_create_time(proc.pid), grace_seconds=2.0)
            raise InvalidState(
                f"The warm host did not start (exit status {proc.returncode}); last lines of "
                f"its log {paths['log']}:\n{log_tail(paths['log'])}"
            )
        time.sleep(0.05)
    return host_status(ctx)


def stop_host(ctx: WorkspaceContext, *, grace_seconds: float = 10.0) -> bool:
    """Stop this workspace's warm host. Endpoints it started keep running.

    Returns:
        True when a live host was stopped, False when none ran.
    """
    paths = _paths(ctx.root)
    pid, started_at = _read_pid_file(paths["pid"])
    stopped = False
    if pid is not None and process_alive(pid, started_at):
        os.kill(pid, signal.SIGTERM)  # the host only: never its group
        deadline = time.monotonic() + grace_seconds
        while process_alive(pid, started_at) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid, started_at):
            os.kill(pid, signal.SIGKILL)
        stopped = True
        while process_alive(pid, started_at) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    _clean_stale(ctx.root)
    return stopped


class HostedServer:
    """A supervisor forked by the warm host: the ``pid``/``poll()`` of ``subprocess.Popen``.

    The host, not this process, is its parent and reaps it, so its exit status is not
    known here: ``poll()`` answers 1 once it is gone (``process_alive`` on its identity).
    """

    def __init__(self, pid: int, started_at: float | None) -> None:
        self.pid = pid
        self.started_at = started_at
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not process_alive(self.pid, self.started_at):
            self.returncode = 1
        return self.returncode


def spawn_via_host(
    name: str, *, port: int | None, env: dict[str, str], log_path: Path, cwd: Path
) -> HostedServer | None:
    """Ask the warm host of workspace ``cwd`` to fork the supervisor of endpoint ``name``.

    Returns None (the caller starts a subprocess instead) when no host answers, or the one
    that answers runs another interpreter or siklus installation than this process.
    """
    answer = _ping(cwd, timeout=1.0)
    if answer is None:
        if _paths(cwd)["socket"].exists():
            _clean_stale(cwd)
        return None
    if answer.get("executable") != sys.executable or answer.get("siklus") != _siklus_path():
        logger.warning("The warm host at %s runs other code; starting a process", cwd)
        return None
    request = {
        "op": "spawn",
        "name": name,
        "port": port,
        "env": dict(env),
        "log_path": str(log_path),
        "cwd": str(cwd),
    }
    try:
        reply = _request(_paths(cwd)["socket"], request, _ANSWER_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        logger.warning("The warm host did not answer (%s); starting a process", exc)
        return None
    if not reply.get("ok"):
        raise OSError(f"the warm host refused to start the server: {reply.get('error')}")
    pid = int(reply["pid"])
    started_at = reply.get("started_at")
    return HostedServer(pid, float(started_at) if started_at is not None else None)


# -- host side --------------------------------------------------------------------------------


class _Host:
    """The host's loop: accept, answer, fork; reap children on SIGCHLD."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.paths = _paths(self.root)
        self.started = time.time()
        self.children: set[int] = set()
        self.stopping = False
        self.lock_fd = -1
        self.server: socket.socket | None = None

    # signal handlers only reap and set flags: the loop does the work
    def _on_sigchld(self, signum: int, frame: Any) -> None:
        self.reap()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            logger.info("Supervisor %d exited (status %d)", pid, os.waitstatus_to_exitcode(status))

    def open(self) -> None:
        base = self.paths["socket"].parent
        base.mkdir(parents=True, exist_ok=True)
        self.lock_fd = os.open(self.paths["lock"], os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidState(f"A warm host already serves {self.root}.") from None
        with contextlib.suppress(FileNotFoundError):
            self.paths["socket"].unlink()  # we hold the lock: any socket here is stale
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            server.bind(str(self.paths["socket"]))
        finally:
            os.umask(old_umask)
        os.chmod(self.paths["socket"], 0o600)
        server.listen(64)
        server.settimeout(1.0)
        self.server = server
        pid = os.getpid()
        tmp = self.paths["pid"].with_suffix(".pid.tmp")
        tmp.write_text(
            json.dumps({"pid": pid, "started_at": process_create_time(pid)}), encoding="utf-8"
        )
        os.replace(tmp, self.paths["pid"])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        pid, _ = _read_pid_file(self.paths["pid"])
        if pid == os.getpid():
            for key in ("socket", "pid"):
                with contextlib.suppress(FileNotFoundError):
                    self.paths[key].unlink()
        if self.lock_fd >= 0:
            os.close(self.lock_fd)

    def serve(self) -> None:
        assert self.server is not None
        logger.info("Warm host for %s listening on %s", self.root, self.paths["socket"])
        while not self.stopping:
            self.reap()
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EINTR, errno.ECONNABORTED):
                    continue
                raise
            with conn:
                self._handle(conn)
        logger.info(
            "Warm host stopping; %d endpoint(s) it started keep running", len(self.children)
        )

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(_ANSWER_TIMEOUT_S)
        try:
            uid = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if int.from_bytes(uid[4:8], sys.byteorder) != os.getuid():
                return  # another user: no answer at all
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > _MAX_REQUEST_BYTES:
                    raise ValueError("request too large")
            request = json.loads(data.decode())
            answer = self._answer(request)
        except Exception as exc:  # a bad request must not stop the host
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(answer).encode() + b"\n")

    def _answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        op = request.get("op")
        if op == "ping":
            return {
                "ok": True,
                "pid": os.getpid(),
                "started": self.started,
                "workspace": str(self.root),
                "executable": sys.executable,
                "siklus": _siklus_path(),
                "children": sorted(self.children),
            }
        if op == "spawn":
            pid = self._spawn(request)
            return {"ok": True, "pid": pid, "started_at": process_create_time(pid)}
        raise ValueError(f"unknown op {op!r}")

    def _spawn(self, request: dict[str, Any]) -> int:
        name = request.get("name")
        port = request.get("port")
        env = request.get("env")
        if not isinstance(name, str) or not name:
            raise ValueError("'name' must be an endpoint name")
        if port is not None and not isinstance(port, int):
            raise ValueError("'port' must be an integer or null")
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError("'env' must map strings to strings")
        log_path = Path(str(request.get("log_path"))).resolve()
        cwd = Path(str(request.get("cwd"))).resolve()
        for label, path in (("log_path", log_path), ("cwd", cwd)):
            if path != self.root and self.root not in path.parents:
                raise ValueError(f"{label} {path} is outside the workspace {self.root}")
        argv = [name] + (["--port", str(port)] if port is not None else [])
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which ends in os._exit
            self._become_supervisor(argv, env, log_path, cwd)
        self.children.add(pid)
        logger.info("Forked supervisor %d for endpoint %s", pid, name)
        return pid

    def _become_supervisor(
        self, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path
    ) -> None:  # pragma: no cover - child process
        code = 1
        try:
            if self.server is not None:
                self.server.close()
            os.close(self.lock_fd)  # the lock belongs to the host, not to endpoints
            os.setsid()
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            devnull = os.open(os.devnull, os.O_RDONLY)
            log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(devnull, 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.close(devnull)
            os.close(log_fd)
            os.environ.clear()
            os.environ.update(env)
            os.chdir(cwd)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
            sys.argv = ["siklus.serving._server", *argv]
            from siklus.serving import _server

            code = _server.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _preimport() -> None:
    """Import what a supervisor and its workers need, so forked children start warm."""
    import sklearn  # noqa: F401
    import skops.io  # noqa: F401

    import siklus.serving._server
    import siklus.serving._worker
    import siklus.training  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Run the warm host for ``--workspace`` until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m siklus.serving._host")
    parser.add_argument("--workspace", required=True, help="The workspace root.")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    started = time.monotonic()
    _preimport()
    logger.info("Imports done in %.2f s", time.monotonic() - started)
    if threading.active_count() != 1:  # forking with threads could copy held locks
        logger.error("Warm host has %d threads after imports; refusing", threading.active_count())
        return 1
    host = _Host(Path(args.workspace))
    signal.signal(signal.SIGCHLD, host._on_sigchld)
    signal.signal(signal.SIGTERM, host._on_stop)
    signal.signal(signal.SIGINT, host._on_stop)
    try:
        host.open()
    except InvalidState as exc:
        logger.error("%s", exc)
        return 1
    try:
        host.serve()
    finally:
        host.close()
    return 0


__all__ = [
    "HostedServer",
    "host_socket_path",
    "host_status",
    "spawn_via_host",
    "start_host",
    "stop_host",
]

if __name__ == "__main__":
    sys.exit(main())
