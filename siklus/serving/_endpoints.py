"""Real-time endpoints: create, describe, list, delete and invoke (what the CLI calls).

An endpoint is a record in the metadata store plus a detached server process
(:mod:`siklus.serving._server`) that owns a socket on ``endpoint_host``. The record is the
source of truth for where the server listens; the process is the truth for whether it
still does. Every read here reconciles the two (the *liveness rule*): a Creating or
InService endpoint whose process is gone is recorded as Failed, so nobody is told to send
requests to a dead port.

Example:
    >>> ctx = WorkspaceContext.open()  # doctest: +SKIP
    >>> create_endpoint(ctx, "bc", "breast-cancer")  # doctest: +SKIP
    >>> invoke_endpoint(ctx, "bc", b'[{"mean radius": 14.1, ...}]')  # doctest: +SKIP
    {'predictions': [1], 'probabilities': [[0.02, 0.98]], 'classes': [0, 1], 'model_id': ...}
    >>> delete_endpoint(ctx, "bc")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.jobs import process_alive, process_create_time
from siklus.serving._errors import EndpointError, error_from_answer
from siklus.serving._process import log_tail, spawn_server, stop_server
from siklus.store import ApprovalStatus, Endpoint, EndpointStatus, WorkspaceContext

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
_LIVE = (EndpointStatus.CREATING, EndpointStatus.IN_SERVICE)
_POLL_S = 0.05


def endpoint_log_path(ctx: WorkspaceContext, name: str) -> Path:
    """``<workspace>/.siklus/endpoints/<name>/server.log``: the server's stdout and stderr."""
    return ctx.state_dir / "endpoints" / name / "server.log"


def create_endpoint(
    ctx: WorkspaceContext,
    name: str,
    group: str,
    version: int | None = None,
    *,
    port: int | None = None,
    force: bool = False,
    wait: bool = True,
) -> Endpoint:
    """Deploy a registered model version behind ``GET /ping`` and ``POST /invocations``.

    Args:
        ctx: The workspace.
        name: Endpoint name (letters, digits, ``_.-``; up to 63 characters).
        group: Model package group.
        version: Package version; the newest when None.
        port: Port on ``endpoint_host`` (default 127.0.0.1); a free one when None.
        force: Deploy even if the package is not Approved.
        wait: Return only once the server answers ``/ping`` (or failed to start).

    Returns:
        The endpoint record: InService with ``url`` set when ``wait``, else Creating.

    Raises:
        InvalidParameter: A bad name or port.
        NotFound: No such package, or its model file is missing.
        InvalidState: The package is not Approved and ``force`` is False.
        AlreadyExists: An endpoint of that name exists (delete it first).
        EndpointError: The server did not start; the message quotes its log.
    """
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Endpoint name {name!r} is not valid: use 1-63 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. breast-cancer)."
        )
    if port is not None and not 1 <= port <= 65535:
        raise InvalidParameter(f"Port {port} is out of range; use 1-65535 or leave it out.")
    package = ctx.store.get_model_package(group, version)
    if package.approval_status != ApprovalStatus.APPROVED and not force:
        raise InvalidState(
            f"Model package {package.ref} is {package.approval_status.value}, not Approved; "
            f"only approved versions are deployed. Approve it with `siklus models approve "
            f"{package.ref} --reason '...'`, or deploy anyway with --force (force=True)."
        )
    model = ctx.store.get_model(package.model_id)
    if not ctx.artifacts.exists(model.sha256):
        raise NotFound(
            f"The model file of {package.ref} (model {model.id}, sha256 {model.sha256}) is "
            f"missing from the artifact store {ctx.artifacts.url}; re-train or restore it."
        )
    log_path = endpoint_log_path(ctx, name)
    ctx.store.create_endpoint(
        name, model_package_id=package.id, tags=ctx.with_tags(), log_path=str(log_path)
    )
    env = {
        **os.environ,
        **ctx.to_env(),
        # The server opens the workspace from its environment alone: pass on the
        # effective values, which may come from siklus.yaml or config_context.
        "SIKLUS_MAX_PAYLOAD_BYTES": str(ctx.setting("max_payload_bytes")),
        "SIKLUS_ENDPOINT_HOST": str(ctx.setting("endpoint_host")),
        "PYTHONUNBUFFERED": "1",
    }
    try:
        proc = spawn_server(name, port=port, env=env, log_path=log_path, cwd=ctx.root)
    except OSError as exc:
        reason = f"could not start the server process: {exc}"
        ctx.store.update_endpoint(name, status=EndpointStatus.FAILED, failure_reason=reason)
        raise EndpointError(f"Endpoint {name!r} {reason}.") from exc
    endpoint = ctx.store.update_endpoint(
        name, pid=proc.pid, pid_started_at=process_create_time(proc.pid)
    )
    if not wait:
        return endpoint
    return _wait_until_ready(ctx, name, proc, float(ctx.setting("endpoint_start_timeout")))


def _wait_until_ready(
    ctx: WorkspaceContext, name: str, proc: subprocess.Popen[bytes], timeout: float
) -> Endpoint:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            endpoint = ctx.store.get_endpoint(name)
            if endpoint.status == EndpointStatus.FAILED:
                raise _start_failed(endpoint, endpoint.failure_reason or "unknown reason")
            if endpoint.status == EndpointStatus.DELETED:
                raise InvalidState(f"Endpoint {name!r} was deleted while it was starting.")
            if endpoint.status == EndpointStatus.IN_SERVICE and endpoint.url is not None:
                try:
                    if client.get(f"{endpoint.url}/ping").status_code == 200:
                        return endpoint
                except httpx.TransportError:
                    pass  # listening but not accepting yet, or died: checked below
            if proc.returncode is not None:
                # It may have recorded why just before exiting; prefer its own reason.
                endpoint = ctx.store.get_endpoint(name)
                reason = endpoint.failure_reason or (
                    f"the server process exited with code {proc.returncode} before answering /ping"
                )
                raise _start_failed(_mark_failed(ctx, name, reason), reason)
            if time.monotonic() >= deadline:
                stop_server(endpoint.pid, endpoint.pid_started_at, grace_seconds=2.0)
                reason = (
                    f"the server did not answer /ping within {timeout:g} s "
                    "(raise SIKLUS_ENDPOINT_START_TIMEOUT for a slow-loading model)"
                )
                raise _start_failed(_mark_failed(ctx, name, reason), reason)
            time.sleep(_POLL_S)


def _mark_failed(ctx: WorkspaceContext, name: str, reason: str) -> Endpoint:
    return ctx.store.update_endpoint(name, status=EndpointStatus.FAILED, failure_reason=reason)


def _start_failed(endpoint: Endpoint, reason: str) -> EndpointError:
    return EndpointError(
        f"Endpoint {endpoint.name!r} failed to start: {reason}. Last lines of its log "
        f"{endpoint.log_path}:\n{log_tail(endpoint.log_path)}"
    )


def _reconcile(ctx: WorkspaceContext, endpoint: Endpoint) -> Endpoint:
    """Apply the liveness rule: a live status with a dead (or replaced) process → Failed."""
    if endpoint.status not in _LIVE or endpoint.pid is None:
        return endpoint
    if process_alive(endpoint.pid, endpoint.pid_started_at):
        return endpoint
    return _mark_failed(
        ctx,
        endpoint.name,
        f"server process died (pid {endpoint.pid}); see its log {endpoint.log_path}",
    )


def describe_endpoint(ctx: WorkspaceContext, name: str) -> Endpoint:
    """The endpoint's record, with a dead server process recorded as Failed.

    Raises:
        NotFound: No endpoint of that name.
    """
    return _reconcile(ctx, ctx.store.get_endpoint(name))


def list_endpoints(ctx: WorkspaceContext) -> list[Endpoint]:
    """Every endpoint not Deleted, by name, with the liveness rule applied."""
    return [_reconcile(ctx, endpoint) for endpoint in ctx.store.list_endpoints()]


def delete_endpoint(ctx: WorkspaceContext, name: str, *, grace_seconds: float = 10.0) -> Endpoint:
    """Stop the server (SIGTERM, then SIGKILL after ``grace_seconds``) and mark it Deleted.

    Deleting an endpoint whose server already died works; deleting a Deleted one returns
    its record unchanged.

    Raises:
        NotFound: No endpoint of that name.
    """
    endpoint = ctx.store.get_endpoint(name)
    if endpoint.status == EndpointStatus.DELETED:
        return endpoint
    stop_server(endpoint.pid, endpoint.pid_started_at, grace_seconds=grace_seconds)
    return ctx.store.update_endpoint(name, status=EndpointStatus.DELETED)


def invoke_endpoint(
    ctx: WorkspaceContext,
    name: str,
    body: bytes,
    content_type: str = "application/json",
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Send ``body`` to the endpoint's ``POST /invocations`` and return its JSON answer.

    Returns:
        ``{"predictions": [...], "model_id": ...}`` plus ``probabilities`` and ``classes``
        for classifiers.

    Raises:
        NotFound: No endpoint of that name.
        InvalidState: The endpoint is not InService.
        InvalidInput: The endpoint refused the payload (HTTP 400; 413 and 415 raise its
            subclasses ``PayloadTooLarge`` and ``UnsupportedMediaType``).
        EndpointError: The server failed, could not be reached or did not answer in time.
    """
    endpoint = describe_endpoint(ctx, name)
    if endpoint.status != EndpointStatus.IN_SERVICE or endpoint.url is None:
        hint = (
            "it is still starting; retry in a moment"
            if endpoint.status == EndpointStatus.CREATING
            else f"recreate it with `siklus endpoints delete {name}` then "
            f"`siklus endpoints create {name} --model GROUP:VERSION`"
        )
        why = f" ({endpoint.failure_reason})" if endpoint.failure_reason else ""
        raise InvalidState(f"Endpoint {name!r} is {endpoint.status.value}{why}; {hint}.")
    url = f"{endpoint.url}/invocations"
    try:
        response = httpx.post(
            url, content=body, headers={"Content-Type": content_type}, timeout=timeout
        )
    except httpx.TimeoutException:
        raise EndpointError(
            f"Endpoint {name!r} did not answer within {timeout:g} s; send fewer rows per "
            "request or pass a longer timeout."
        ) from None
    except httpx.TransportError as exc:
        raise EndpointError(
            f"Could not reach endpoint {name!r} at {url} ({type(exc).__name__}: {exc}); "
            f"check `siklus endpoints describe {name}` and its log {endpoint.log_path}."
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code >= 400:
        raise error_from_answer(
            response.status_code,
            answer,
            f"Endpoint {name!r} answered HTTP {response.status_code}: {response.text[:500]}",
        )
    if not isinstance(answer, dict):
        raise EndpointError(f"Endpoint {name!r} answered with something other than a JSON object.")
    return answer


__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "describe_endpoint",
    "endpoint_log_path",
    "invoke_endpoint",
    "list_endpoints",
]
