"""Serverless endpoints: create, invoke, describe, list, delete (what the CLI calls).

A serverless endpoint is a resource ``("serverless-endpoint", name)`` plus a detached
server process (:mod:`siklus.serving.serverless._server`) that loads the model on the
first request and drops it when idle. Reads apply the liveness rule of real-time
endpoints: a Creating or InService endpoint whose process is gone is recorded as Failed.

Example:
    >>> create_serverless_endpoint(ctx, "bc-sl", "bc", idle_timeout=300)  # doctest: +SKIP
    >>> answer = invoke_serverless(ctx, "bc-sl", b'[{"mean radius": 14.1}]')  # doctest: +SKIP
    >>> answer["cold_start_ms"]  # the load time it paid; None when warm  # doctest: +SKIP
    >>> describe_serverless_endpoint(ctx, "bc-sl")["cold_start"]  # doctest: +SKIP
    {'count': 1, 'last_ms': 41.2, 'p50_ms': 41.2, 'max_ms': 41.2}
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter, SiklusError
from siklus.serving import EndpointError
from siklus.serving._config import deployable_package, pin_runtime
from siklus.serving.asynchronous import _hosting as hosting
from siklus.serving.serverless._app import COLD_HEADER, COLD_MS_HEADER
from siklus.serving.serverless._server import COLD_START_METRIC, KIND, METRIC_NAMESPACE
from siklus.store import WorkspaceContext

_HINT = "list them with `siklus serverless list`"


class TooManyRequests(SiklusError):
    """The endpoint is at its ``max_concurrency``; retry after ``retry_after`` seconds."""

    http_status = 429

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def serverless_endpoint_log_path(ctx: WorkspaceContext, name: str) -> Path:
    """``<workspace>/.siklus/serverless/<name>/server.log``."""
    return ctx.state_dir / "serverless" / name / "server.log"


def create_serverless_endpoint(
    ctx: WorkspaceContext,
    name: str,
    group: str,
    version: int | None = None,
    *,
    idle_timeout: float = 300.0,
    max_concurrency: int = 8,
    port: int | None = None,
    force: bool = False,
    wait: bool = True,
    runtime: str = "auto",
) -> dict[str, Any]:
    """Serve a registered model version that loads on demand and unloads when idle.

    Args:
        ctx: The workspace.
        name: Endpoint name (letters, digits, ``_.-``; up to 63 characters).
        group: Model package group.
        version: Package version; the newest when None.
        idle_timeout: Seconds without requests after which the model is unloaded.
        max_concurrency: Requests in flight at once; one more gets HTTP 429.
        port: Port on ``endpoint_host``; a free one when None.
        force: Deploy even if the package is not Approved.
        wait: Return once the server answers ``/ping`` (the model is not loaded yet).
        runtime: "auto" (the package's verified ONNX export when it has one, else
            scikit-learn), "native" or "onnx"; the record keeps the one chosen. ONNX
            starts without importing scikit-learn, so the first answer comes sooner.

    Returns:
        The endpoint's record (``status``, ``url``, settings, ``model_state``).

    Raises:
        InvalidParameter: A bad name, port or setting; runtime "onnx" for a package
            whose pipeline does not convert (the recorded reason is quoted).
        NotFound: No such package or model file.
        InvalidState: The package is not Approved and ``force`` is False.
        AlreadyExists: An endpoint of that name exists (delete it first).
        EndpointError: The server did not start; the message quotes its log.
    """
    hosting.check_name(name, "Serverless endpoint")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidParameter(f"Port {port} is out of range; use 1-65535 or leave it out.")
    if not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise InvalidParameter(
            f"max_concurrency must be an integer of at least 1, got {max_concurrency!r}."
        )
    if not idle_timeout > 0:
        raise InvalidParameter(f"idle_timeout must be greater than 0 seconds, got {idle_timeout}.")
    package, model = deployable_package(ctx, group, version, force=force)
    # "onnx" for a package that does not convert is refused now, not at every cold start.
    runtime = pin_runtime(ctx, package, runtime, who=f"Serverless endpoint {name!r}")
    log_path = serverless_endpoint_log_path(ctx, name)
    record = hosting.new_record(
        ctx,
        name,
        package,
        model,
        log_path,
        runtime=runtime,
        idle_timeout=idle_timeout,
        max_concurrency=max_concurrency,
        model_state="Unloaded",
        cold_starts=0,
        last_cold_start_ms=None,
    )
    hosting.create_record(ctx, KIND, name, record)
    return hosting.launch(
        ctx,
        KIND,
        name,
        module="siklus.serving.serverless._server",
        package_id=package.id,
        log_path=log_path,
        port=port,
        wait=wait,
        label="Serverless endpoint",
        role="server",
    )


def cold_start_stats(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """Cold starts of the endpoint from its metric series: count, last, p50 and max (ms)."""
    points = ctx.store.get_metric_data(
        METRIC_NAMESPACE, COLD_START_METRIC, dimensions={"endpoint": name}
    )
    values = [point.value for point in points]
    if not values:
        return {"count": 0, "last_ms": None, "p50_ms": None, "max_ms": None}
    return {
        "count": len(values),
        "last_ms": round(values[-1], 1),
        "p50_ms": round(statistics.median(values), 1),
        "max_ms": round(max(values), 1),
    }


def describe_serverless_endpoint(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """The record (liveness applied) with ``cold_start`` statistics and, when InService,
    whether the model is loaded right now (``model_loaded``).

    Raises:
        NotFound: No serverless endpoint of that name.
    """
    body = hosting.reconcile(ctx, KIND, hosting.read(ctx, KIND, name, _HINT))
    body["cold_start"] = cold_start_stats(ctx, name)
    if body.get("status") == "InService" and body.get("url"):
        try:
            live = hosting.request("GET", f"{body['url']}/ping", name, timeout=5.0).json()
            body["model_loaded"] = live.get("model_loaded")
        except EndpointError:
            pass
    return body


def list_serverless_endpoints(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    """Every serverless endpoint not Deleted, by name, with the liveness rule applied."""
    bodies = [hosting.reconcile(ctx, KIND, r) for r in ctx.store.list_resources(KIND)]
    return [body for body in bodies if body.get("status") != "Deleted"]


def delete_serverless_endpoint(
    ctx: WorkspaceContext, name: str, *, grace_seconds: float = 10.0
) -> dict[str, Any]:
    """Stop the server (SIGTERM, SIGKILL after ``grace_seconds``) and mark it Deleted.

    Raises:
        NotFound: No serverless endpoint of that name.
    """
    body = hosting.read(ctx, KIND, name, _HINT).body
    if body.get("status") == "Deleted":
        return body
    hosting.stop(body.get("pid"), body.get("pid_started_at"), grace_seconds=grace_seconds)
    return hosting.update(ctx, KIND, name, status="Deleted")


def invoke_serverless(
    ctx: WorkspaceContext,
    name: str,
    body: bytes,
    content_type: str = "application/json",
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Send ``body`` to the endpoint's ``POST /invocations``.

    Returns:
        The model's answer (``predictions``, …) plus ``cold_start_ms``: the load time this
        request paid, or None when the model was already loaded.

    Raises:
        TooManyRequests: The endpoint is at its max_concurrency (HTTP 429).
        InvalidInput: The payload was refused (HTTP 4xx; 413 and 415 as their subclasses).
        InvalidState: The endpoint is not InService.
        EndpointError: The server failed, could not be reached or did not answer in time.
    """
    record = hosting.read(ctx, KIND, name, _HINT)
    url = hosting.require_in_service(hosting.reconcile(ctx, KIND, record), name, "serverless")
    response = hosting.request(
        "POST",
        f"{url}/invocations",
        name,
        timeout=timeout,
        known={TooManyRequests.__name__: TooManyRequests},
        content=body,
        headers={"Content-Type": content_type},
    )
    answer = dict(response.json())
    cold = response.headers.get(COLD_HEADER) == "1"
    answer["cold_start_ms"] = float(response.headers[COLD_MS_HEADER]) if cold else None
    return answer


__all__ = [
    "TooManyRequests",
    "cold_start_stats",
    "create_serverless_endpoint",
    "delete_serverless_endpoint",
    "describe_serverless_endpoint",
    "invoke_serverless",
    "list_serverless_endpoints",
    "serverless_endpoint_log_path",
]
