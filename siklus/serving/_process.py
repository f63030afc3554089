"""Starting and stopping endpoint server processes, and reading their logs.

An endpoint server is a detached process (its own session, so a Ctrl-C in the terminal
that created it does not stop it) identified by ``(pid, create_time)``: a pid alone may
belong to an unrelated process after the server died, and siklus must never signal that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from siklus.jobs import process_alive, signal_group

#: How much of the end of a server log an error message quotes.
_TAIL_BYTES = 8192


class ServerProcess(Protocol):
    """What a caller needs of a started server: its ``pid`` and ``poll()`` (None while it
    runs), as ``subprocess.Popen`` and :class:`~siklus.serving._host.HostedServer` give."""

    pid: int

    def poll(self) -> int | None: ...


def spawn_server(
    name: str, *, port: int | None, env: Mapping[str, str], log_path: Path, cwd: Path
) -> ServerProcess:
    """Start the endpoint supervisor detached, logging to ``log_path``.

    When the workspace ``cwd`` has a warm host running (``siklus endpoints host start``,
    see :mod:`siklus.serving._host`), the host forks it with everything already imported;
    otherwise ``python -m siklus.serving._server NAME`` starts as a new process.

    The subprocess is reaped by a daemon thread as soon as it exits, so no zombie outlives it
    while this process lives and ``Popen`` never warns about a child still running.

    Raises:
        OSError: The interpreter could not be started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Imported here: ``python -m siklus.serving._host`` must not find itself imported already.
    from siklus.serving._host import spawn_via_host

    hosted = spawn_via_host(name, port=port, env=dict(env), log_path=log_path, cwd=cwd)
    if hosted is not None:
        return hosted
    command = [sys.executable, "-m", "siklus.serving._server", name]
    if port is not None:
        command += ["--port", str(port)]
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    threading.Thread(target=proc.wait, name=f"siklus-endpoint-{name}", daemon=True).start()
    return proc


def stop_server(pid: int | None, started_at: float | None, *, grace_seconds: float) -> bool:
    """Stop a server: SIGTERM, wait up to ``grace_seconds``, then SIGKILL.

    Only the process recorded as ``(pid, started_at)`` is signalled; a pid now used by
    another process is left alone.

    Returns:
        True when a live server was stopped, False when it was already gone.
    """
    if pid is None or not process_alive(pid, started_at):
        return False
    signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, started_at, grace_seconds):
        signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, started_at, 5.0)
    return True


def _wait_gone(pid: int, started_at: float | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid, started_at):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def log_tail(path: str | os.PathLike[str] | None, lines: int = 15) -> str:
    """The last ``lines`` lines of a server log, or a note when there is none."""
    if path is None:
        return "(no log recorded)"
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc.strerror or exc})"
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


__all__ = ["ServerProcess", "log_tail", "spawn_server", "stop_server"]
