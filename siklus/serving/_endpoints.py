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

import contextlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.jobs import process_alive, process_create_time
from siklus.serving._config import (
    CONFIG_KIND,
    EVENT_KIND,
    STATE_KIND,
    EndpointConfig,
    resolve_config,
)
from siklus.serving._errors import EndpointError, error_from_answer
from siklus.serving._process import ServerProcess, log_tail, spawn_server, stop_server
from siklus.store import Endpoint, EndpointStatus, WorkspaceContext

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
_LIVE = (EndpointStatus.CREATING, EndpointStatus.IN_SERVICE)
_POLL_S = 0.05


def endpoint_log_path(ctx: WorkspaceContext, name: str) -> Path:
    """``<workspace>/.siklus/endpoints/<name>/server.log``: the server's stdout and stderr."""
    return ctx.state_dir / "endpoints" / name / "server.log"


def _as_config(
    group: str | None,
    version: int | None,
    config: EndpointConfig | dict[str, Any] | None,
) -> EndpointConfig:
    if config is not None and group is not None:
        raise InvalidParameter(
            "Give either a model package (group, version) or a config, not both."
        )
    if config is None:
        if group is None:
            raise InvalidParameter(
                "Say what to deploy: a model package group (and version), or a config with "
                'variants, e.g. {"variants": [{"model": "bc:1"}]}.'
            )
        model = f"{group}:{version}" if version is not None else group
        return EndpointConfig.from_dict({"variants": [{"model": model}]})
    if isinstance(config, EndpointConfig):
        return EndpointConfig.from_dict(config.to_dict())
    return EndpointConfig.from_dict(dict(config))


def create_endpoint(
    ctx: WorkspaceContext,
    name: str,
    group: str | None = None,
    version: int | None = None,
    *,
    config: EndpointConfig | dict[str, Any] | None = None,
    port: int | None = None,
    force: bool = False,
    wait: bool = True,
) -> Endpoint:
    """Deploy registered model versions behind ``GET /ping`` and ``POST /invocations``.

    Either name one package (``group``, ``version``: one variant with one worker) or pass
    a ``config`` with production variants, an optional shadow, data capture and
    autoscaling (:class:`~siklus.serving.EndpointConfig` or its dict form).

    Args:
        ctx: The workspace.
        name: Endpoint name (letters, digits, ``_.-``; up to 63 characters).
        group: Model package group (when no ``config``).
        version: Package version; the newest when None.
        config: The endpoint config (instead of ``group``/``version``).
        port: Port on ``endpoint_host`` (default 127.0.0.1); a free one when None.
        force: Deploy even if a package is not Approved.
        wait: Return only once the server answers ``/ping`` (or failed to start).

    Returns:
        The endpoint record: InService with ``url`` set when ``wait``, else Creating.

    Raises:
        InvalidParameter: A bad name, port or config.
        NotFound: No such package, or its model file is missing.
        InvalidState: A package is not Approved and ``force`` is False.
        AlreadyExists: An endpoint of that name exists (delete it first).
        EndpointError: The server did not start; the message quotes its log.

    Example:
        >>> create_endpoint(ctx, "bc", config={  # doctest: +SKIP
        ...     "variants": [{"model": "bc:1", "weight": 0.9}, {"model": "bc:2", "weight": 0.1}],
        ...     "capture_percent": 20})
    """
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Endpoint name {name!r} is not valid: use 1-63 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. breast-cancer)."
        )
    if port is not None and not 1 <= port <= 65535:
        raise InvalidParameter(f"Port {port} is out of range; use 1-65535 or leave it out.")
    resolved = resolve_config(ctx, _as_config(group, version, config), force=force)
    log_path = endpoint_log_path(ctx, name)
    ctx.store.create_endpoint(
        name,
        model_package_id=resolved.variants[0].package_id,
        tags=ctx.with_tags(),
        log_path=str(log_path),
    )
    ctx.store.put_resource(CONFIG_KIND, name, resolved.to_dict())
    _record_deployment(ctx, name, resolved)
    env = {
        **os.environ,
        **ctx.to_env(),
        # The server opens the workspace from its environment alone: pass on the
        # effective values, which may come from siklus.yaml or config_context.
        "SIKLUS_MAX_PAYLOAD_BYTES": str(ctx.setting("max_payload_bytes")),
        "SIKLUS_ENDPOINT_HOST": str(ctx.setting("endpoint_host")),
        "SIKLUS_ENDPOINT_START_TIMEOUT": str(ctx.setting("endpoint_start_timeout")),
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


def update_endpoint(
    ctx: WorkspaceContext,
    name: str,
    config: EndpointConfig | dict[str, Any],
    *,
    force: bool = False,
    wait: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Roll an endpoint over to a new config without dropping a request (blue/green).

    The new config's workers start on the endpoint's socket; once each serves, the old
    workers stop taking connections, finish what they hold and exit. A config that fails
    to come up leaves the old one serving, and the stored config goes back to it.

    Args:
        ctx: The workspace.
        name: An InService endpoint.
        config: The new config (same form as for :func:`create_endpoint`).
        force: Deploy packages that are not Approved.
        wait: Return once the new config serves (else right after asking for it).
        timeout: Seconds to wait; default ``endpoint_start_timeout`` plus 10.

    Returns:
        The endpoint's state: ``{"revision", "workers", ...}`` (see :func:`endpoint_state`).

    Raises:
        InvalidState: The endpoint is not InService.
        InvalidParameter, NotFound: A bad config (nothing changes).
        EndpointError: The new config did not come up (the old one keeps serving).
    """
    endpoint = describe_endpoint(ctx, name)
    if endpoint.status != EndpointStatus.IN_SERVICE:
        raise InvalidState(
            f"Endpoint {name!r} is {endpoint.status.value}; only an InService endpoint can be "
            "updated. Delete it and create it again with the new config."
        )
    resolved = resolve_config(ctx, _as_config(None, None, config), force=force)
    current = ctx.store.get_resource(CONFIG_KIND, name)
    written = ctx.store.put_resource(
        CONFIG_KIND, name, resolved.to_dict(), expected_revision=current.revision
    )
    if endpoint.pid is not None and process_alive(endpoint.pid, endpoint.pid_started_at):
        os.kill(endpoint.pid, signal.SIGHUP)  # the supervisor also polls; this is faster
    if not wait:
        return endpoint_state(ctx, name)
    limit = timeout if timeout is not None else float(ctx.setting("endpoint_start_timeout")) + 10
    deadline = time.monotonic() + limit
    while True:
        state = endpoint_state(ctx, name)
        if (state.get("revision") or 0) >= written.revision:
            ctx.store.update_endpoint(name, model_package_id=resolved.variants[0].package_id)
            _record_deployment(ctx, name, resolved)
            return state
        if state.get("failed_revision") == written.revision:
            ctx.store.put_resource(CONFIG_KIND, name, current.body)
            raise EndpointError(
                f"Endpoint {name!r} could not switch to the new config: {state.get('error')}. "
                f"It keeps serving the previous config; see its log {endpoint.log_path}:\n"
                f"{log_tail(endpoint.log_path)}"
            )
        if not process_alive(endpoint.pid, endpoint.pid_started_at):
            raise EndpointError(
                f"Endpoint {name!r} stopped during the update; see its log {endpoint.log_path}."
            )
        if time.monotonic() >= deadline:
            raise EndpointError(
                f"Endpoint {name!r} did not switch to config revision {written.revision} within "
                f"{limit:g} s; check `siklus endpoints describe {name}` and its log."
            )
        time.sleep(_POLL_S)


def _record_deployment(ctx: WorkspaceContext, name: str, resolved: EndpointConfig) -> None:
    """Lineage: every package a config serves (shadow included) -> this endpoint."""
    for variant in resolved.all_variants:
        ctx.store.add_lineage(("model_package", variant.package_id), ("endpoint", name), "deployed")


def endpoint_config(ctx: WorkspaceContext, name: str) -> EndpointConfig:
    """The endpoint's current config (variants pinned to package versions).

    Raises:
        NotFound: No endpoint (config) of that name.
    """
    return EndpointConfig.from_dict(ctx.store.get_resource(CONFIG_KIND, name).body)


def endpoint_state(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """What the endpoint's supervisor last recorded: the live config revision, the number
    of workers serving and draining, their pids, the last failed update and its error."""
    try:
        return dict(ctx.store.get_resource(STATE_KIND, name).body)
    except NotFound:
        return {}


def endpoint_events(ctx: WorkspaceContext, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The endpoint's recent history (rollouts, scaling, worker deaths), oldest first."""
    events = ctx.store.list_events(EVENT_KIND, name)
    return [dict(e.body) for e in events[-limit:]]


def _wait_until_ready(
    ctx: WorkspaceContext, name: str, proc: ServerProcess, timeout: float
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
            if (code := proc.poll()) is not None:
                # It may have recorded why just before exiting; prefer its own reason.
                endpoint = ctx.store.get_endpoint(name)
                reason = endpoint.failure_reason or (
                    f"the server process exited with code {code} before answering /ping"
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
    deleted = ctx.store.update_endpoint(name, status=EndpointStatus.DELETED)
    for kind in (CONFIG_KIND, STATE_KIND):  # the events stay, as history
        with contextlib.suppress(NotFound):
            ctx.store.delete_resource(kind, name)
    ctx.store.append_event(EVENT_KIND, name, {"event": "deleted", "time": time.time()})
    return deleted


def invoke_endpoint(
    ctx: WorkspaceContext,
    name: str,
    body: bytes,
    content_type: str = "application/json",
    timeout: float = 30.0,
    *,
    target_variant: str | None = None,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """Send ``body`` to the endpoint's ``POST /invocations`` and return its JSON answer.

    Args:
        target_variant: Send to this production variant instead of drawing one by weight.
        inference_id: Your own id for the request (else the endpoint makes one); data
            capture and ground-truth labels use it.

    Returns:
        ``{"predictions": [...], "model_id", "variant", "inference_id"}`` plus
        ``probabilities`` and ``classes`` for classifiers.

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
    headers = {"Content-Type": content_type}
    if target_variant:
        headers["X-Siklus-Target-Variant"] = target_variant
    if inference_id:
        headers["X-Siklus-Inference-Id"] = inference_id
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
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
    "endpoint_config",
    "endpoint_events",
    "endpoint_log_path",
    "endpoint_state",
    "invoke_endpoint",
    "list_endpoints",
    "update_endpoint",
]
