"""What asynchronous and serverless endpoints share: their record and their server process.

Both keep their state as a *resource* in the metadata store (``kind`` is
``async-endpoint`` or ``serverless-endpoint``) and run a detached server process that owns
a socket on ``endpoint_host``. As for real-time endpoints, the record says where the
server listens and the process is the truth for whether it still does: every read
reconciles the two (a Creating or InService record whose process is gone becomes Failed).

Records are updated by read-modify-write with the revision checked, so the server process
and the CLI never overwrite each other's changes.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from siklus import exceptions
from siklus.exceptions import (
    AlreadyExists,
    InvalidInput,
    InvalidParameter,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    SiklusError,
)
from siklus.jobs import process_alive, process_create_time
from siklus.serving import EndpointError, UnsupportedMediaType
from siklus.serving._process import log_tail, stop_server
from siklus.store import EndpointStatus, Model, ModelPackage, Resource, WorkspaceContext

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
LIVE = (EndpointStatus.CREATING.value, EndpointStatus.IN_SERVICE.value)
_POLL_S = 0.05
_RETRIES = 20


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def check_name(name: str, what: str) -> None:
    """Raises InvalidParameter unless ``name`` is 1-63 letters, digits, ``_.-``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"{what} name {name!r} is not valid: use 1-63 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. breast-cancer)."
        )


def read(ctx: WorkspaceContext, kind: str, name: str, hint: str) -> Resource:
    """The record, or NotFound saying how to list what exists (``hint``)."""
    try:
        return ctx.store.get_resource(kind, name)
    except NotFound:
        raise NotFound(f"No {kind} named {name!r}; {hint}.") from None


def new_record(
    ctx: WorkspaceContext,
    name: str,
    package: ModelPackage,
    model: Model,
    log_path: Path,
    **fields: Any,
) -> dict[str, Any]:
    """The body of a new endpoint record: Creating, with what every hosted endpoint keeps
    (package and model, log, process identity still unknown, tags, times) plus ``fields``.
    """
    now = now_iso()
    return {
        "name": name,
        "status": "Creating",
        "model_package": package.ref,
        "model_package_id": package.id,
        "model_id": model.id,
        **fields,
        "log_path": str(log_path),
        "url": None,
        "pid": None,
        "pid_started_at": None,
        "failure_reason": None,
        "tags": ctx.with_tags(),
        "created_at": now,
        "updated_at": now,
    }


def create_record(ctx: WorkspaceContext, kind: str, name: str, body: Mapping[str, Any]) -> None:
    """Create the record; a Deleted one of the same name is replaced.

    Raises:
        AlreadyExists: A record of that name exists and is not Deleted.
    """
    try:
        existing = ctx.store.get_resource(kind, name)
    except NotFound:
        ctx.store.put_resource(kind, name, dict(body), expected_revision=0)
        return
    if existing.body.get("status") != EndpointStatus.DELETED.value:
        raise AlreadyExists(
            f"The {kind} {name!r} already exists ({existing.body.get('status')}); delete it "
            "first or choose another name."
        )
    ctx.store.put_resource(kind, name, dict(body), expected_revision=existing.revision)


def update(ctx: WorkspaceContext, kind: str, name: str, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into the record's body (revision-checked, retried) and return it."""
    for _ in range(_RETRIES):
        current = ctx.store.get_resource(kind, name)
        body = {**current.body, **changes, "updated_at": now_iso()}
        try:
            ctx.store.put_resource(kind, name, body, expected_revision=current.revision)
        except InvalidState:
            time.sleep(0.01)
            continue
        return body
    raise InvalidState(f"The {kind} {name!r} changed {_RETRIES} times while being updated.")


def reconcile(ctx: WorkspaceContext, kind: str, resource: Resource) -> dict[str, Any]:
    """Apply the liveness rule: a live status with a dead (or replaced) process → Failed."""
    body = dict(resource.body)
    if body.get("status") not in LIVE or body.get("pid") is None:
        return body
    if process_alive(body["pid"], body.get("pid_started_at")):
        return body
    return update(
        ctx,
        kind,
        resource.name,
        status=EndpointStatus.FAILED.value,
        failure_reason=f"server process died (pid {body['pid']}); see its log {body['log_path']}",
    )


def child_env(ctx: WorkspaceContext) -> dict[str, str]:
    """The environment of a server process: this workspace and its effective settings."""
    return {
        **os.environ,
        **ctx.to_env(),
        "SIKLUS_MAX_PAYLOAD_BYTES": str(ctx.setting("max_payload_bytes")),
        "SIKLUS_ENDPOINT_HOST": str(ctx.setting("endpoint_host")),
        "PYTHONUNBUFFERED": "1",
    }


def spawn(
    module: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path,
    new_session: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``python -m module *args`` logging to ``log_path``; reaped by a daemon thread.

    With ``new_session`` the process leads its own group (a Ctrl-C in the terminal that
    started it does not stop it, and stopping its group stops what it spawned).

    Raises:
        OSError: The interpreter could not be started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=new_session,
        )
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc


def launch(
    ctx: WorkspaceContext,
    kind: str,
    name: str,
    *,
    module: str,
    package_id: str,
    log_path: str | os.PathLike[str],
    port: int | None,
    wait: bool,
    label: str,
    role: str,
) -> dict[str, Any]:
    """Start the process of a recorded endpoint (``python -m module NAME [--port N]``).

    Records the deployment in the lineage, the process identity in the record, and (with
    ``wait``) blocks until the endpoint answers or is recorded Failed. A process that
    cannot start marks the record Failed and raises :class:`EndpointError`.
    """
    ctx.store.add_lineage(("model_package", package_id), (kind, name), "deployed")
    args = [name] + (["--port", str(port)] if port is not None else [])
    try:
        proc = spawn(module, args, env=child_env(ctx), log_path=log_path, cwd=ctx.root)
    except OSError as exc:
        reason = f"could not start the {role} process: {exc}"
        update(ctx, kind, name, status="Failed", failure_reason=reason)
        raise EndpointError(f"{label} {name!r} {reason}.") from exc
    body = update(ctx, kind, name, pid=proc.pid, pid_started_at=process_create_time(proc.pid))
    if not wait:
        return body
    return wait_ready(ctx, kind, name, proc, float(ctx.setting("endpoint_start_timeout")))


#: Stopping and log tails work as for real-time endpoints (same process model).
stop = stop_server


def begin_process(
    kind: str, label: str, prog: str, argv: list[str] | None
) -> tuple[argparse.Namespace, WorkspaceContext, dict[str, Any]] | None:
    """The start of an endpoint process's ``main``: parse ``NAME [--port N]``, set up
    logging, open the workspace from the environment and read the record.

    Returns None (after logging why) when the record is not ``Creating``: the process was
    started twice, or its endpoint was deleted meanwhile.
    """
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("name")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("siklus").setLevel(logging.INFO)
    ctx = WorkspaceContext.open()
    record = dict(ctx.store.get_resource(kind, args.name).body)
    if record.get("status") != "Creating":
        logging.getLogger("siklus.serving").error(
            "%s %s is %s, not Creating; exiting", label, args.name, record.get("status")
        )
        return None
    return args, ctx, record


async def read_limited(
    request: Any, limit: int, too_large: Callable[[str, int], PayloadTooLarge]
) -> bytes:
    """A Starlette request's body, refused (``too_large(size, limit)``, a 413) as soon as it
    is known to exceed ``limit``: from Content-Length, else while streaming."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(f"{declared} bytes", limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``(host, port)``; port 0 lets the OS pick a free one.

    Raises:
        InvalidParameter: The address cannot be bound (port taken, unknown interface).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        raise InvalidParameter(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "or leave it out to use a free one."
        ) from None
    return sock


def record_serving(ctx: WorkspaceContext, kind: str, name: str, sock: socket.socket) -> bool:
    """Mark the record InService at the socket's address; False if it is no longer Creating."""
    if ctx.store.get_resource(kind, name).body.get("status") != EndpointStatus.CREATING.value:
        return False
    host, port = sock.getsockname()[:2]
    pid = os.getpid()
    update(
        ctx,
        kind,
        name,
        status=EndpointStatus.IN_SERVICE.value,
        host=host,
        port=port,
        url=f"http://{host}:{port}",
        pid=pid,
        pid_started_at=process_create_time(pid),
        failure_reason=None,
    )
    return True


def wait_ready(
    ctx: WorkspaceContext, kind: str, name: str, proc: subprocess.Popen[bytes], timeout: float
) -> dict[str, Any]:
    """Wait until the server is InService and answers ``GET /ping``.

    Raises:
        EndpointError: It failed, exited or did not answer in time; quotes its log.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            body = ctx.store.get_resource(kind, name).body
            status = body.get("status")
            if status == EndpointStatus.FAILED.value:
                raise _start_failed(name, body, body.get("failure_reason") or "unknown reason")
            if status == EndpointStatus.DELETED.value:
                raise InvalidState(f"The {kind} {name!r} was deleted while it was starting.")
            if status == EndpointStatus.IN_SERVICE.value and body.get("url"):
                try:
                    if client.get(f"{body['url']}/ping").status_code == 200:
                        return body
                except httpx.TransportError:
                    pass  # listening but not accepting yet, or died: checked below
            if proc.returncode is not None:
                body = ctx.store.get_resource(kind, name).body
                reason = body.get("failure_reason") or (
                    f"the server process exited with code {proc.returncode} before answering"
                )
                body = update(ctx, kind, name, status="Failed", failure_reason=reason)
                raise _start_failed(name, body, reason)
            if time.monotonic() >= deadline:
                stop(proc.pid, process_create_time(proc.pid), grace_seconds=2.0)
                reason = (
                    f"the server did not answer /ping within {timeout:g} s "
                    "(raise SIKLUS_ENDPOINT_START_TIMEOUT on a slow machine)"
                )
                body = update(ctx, kind, name, status="Failed", failure_reason=reason)
                raise _start_failed(name, body, reason)
            time.sleep(_POLL_S)


def _start_failed(name: str, body: Mapping[str, Any], reason: str) -> EndpointError:
    return EndpointError(
        f"Endpoint {name!r} failed to start: {reason}. Last lines of its log "
        f"{body.get('log_path')}:\n{log_tail(body.get('log_path'))}"
    )


#: Error classes a server may name in its answer, by class name.
_KNOWN: dict[str, type[SiklusError]] = {
    n: c
    for n in exceptions.__all__
    if isinstance(c := getattr(exceptions, n), type) and issubclass(c, SiklusError)
}
_KNOWN["EndpointError"] = EndpointError
_KNOWN["UnsupportedMediaType"] = UnsupportedMediaType


def error_from_answer(
    status: int,
    answer: Any,
    fallback: str,
    known: Mapping[str, type[SiklusError]] | None = None,
) -> SiklusError:
    """Rebuild the exception a server answered with (by class name, else by status).

    ``known`` adds classes (by name) beyond those of :mod:`siklus.exceptions`.
    """
    error = answer.get("error") if isinstance(answer, dict) else None
    name = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = fallback
    classes = {**_KNOWN, **(known or {})}
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None or cls is SiklusError:
        if status == 415:
            cls = UnsupportedMediaType
        else:
            cls = InvalidInput if 400 <= status < 500 else EndpointError
    return cls(message)


def error_body(exc: BaseException) -> dict[str, Any]:
    """The JSON document a server answers an error with."""
    message = exc.message if isinstance(exc, SiklusError) else f"{type(exc).__name__}: {exc}"
    return {"error": {"type": type(exc).__name__, "message": message}}


def require_in_service(body: Mapping[str, Any], name: str, cli: str) -> str:
    """The server's URL, or InvalidState saying what to do (``cli``: ``async``/``serverless``)."""
    if body.get("status") != EndpointStatus.IN_SERVICE.value or not body.get("url"):
        why = f" ({body['failure_reason']})" if body.get("failure_reason") else ""
        hint = (
            "it is still starting; retry in a moment"
            if body.get("status") == EndpointStatus.CREATING.value
            else f"recreate it with `siklus {cli} delete {name}` then `siklus {cli} create {name}`"
        )
        raise InvalidState(f"Endpoint {name!r} is {body.get('status')}{why}; {hint}.")
    return str(body["url"])


def request(
    method: str,
    url: str,
    name: str,
    *,
    timeout: float,
    known: Mapping[str, type[SiklusError]] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One HTTP request to an endpoint's server; 4xx/5xx raise the error it names
    (a class of :mod:`siklus.exceptions` or of ``known``).

    Raises:
        EndpointError: It could not be reached or did not answer within ``timeout``.
    """
    try:
        response = httpx.request(method, url, timeout=timeout, **kwargs)
    except httpx.TimeoutException:
        raise EndpointError(
            f"Endpoint {name!r} did not answer within {timeout:g} s; retry with a longer timeout."
        ) from None
    except httpx.TransportError as exc:
        raise EndpointError(
            f"Could not reach endpoint {name!r} at {url} ({type(exc).__name__}: {exc}); "
            "check that it is InService (describe it) and read its log."
        ) from None
    if response.status_code >= 400:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        raise error_from_answer(
            response.status_code,
            answer,
            f"Endpoint {name!r} answered HTTP {response.status_code}: {response.text[:500]}",
            known,
        )
    return response
