"""Async endpoints: create, invoke, fetch results, describe, list, delete (what the CLI calls).

An async endpoint is a resource ``("async-endpoint", name)`` in the metadata store plus a
detached front process (:mod:`siklus.serving.asynchronous._front`) that spawns workers on
demand. Reads apply the liveness rule of real-time endpoints: a Creating or InService
endpoint whose front process is gone is recorded as Failed.

Example:
    >>> ep = create_async_endpoint(ctx, "bc-async", "breast-cancer")  # doctest: +SKIP
    >>> ticket = invoke_async(ctx, "bc-async", input_location="big.csv")  # doctest: +SKIP
    >>> get_async_result(ctx, "bc-async", ticket["inference_id"], wait=60)  # doctest: +SKIP
    {'status': 'Completed', 'rows': 569, 'result': {'predictions': [...], ...}, ...}
    >>> delete_async_endpoint(ctx, "bc-async")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter, SiklusError
from siklus.serving import EndpointError
from siklus.serving._config import deployable_package
from siklus.serving.asynchronous import _hosting as hosting
from siklus.serving.asynchronous._io import endpoint_dir
from siklus.store import WorkspaceContext

KIND = "async-endpoint"
_HINT = "list them with `siklus async list`"
_FINAL = ("Completed", "Failed")


def async_endpoint_log_path(ctx: WorkspaceContext, name: str) -> Path:
    """``<workspace>/.siklus/async/<name>/front.log``: the front process's output."""
    return ctx.state_dir / "async" / name / "front.log"


def _check_positive(**values: float) -> None:
    for key, value in values.items():
        if not value > 0:
            raise InvalidParameter(f"{key} must be greater than 0, got {value!r}.")


def create_async_endpoint(
    ctx: WorkspaceContext,
    name: str,
    group: str,
    version: int | None = None,
    *,
    max_workers: int = 2,
    worker_idle_timeout: float = 30.0,
    visibility_timeout: float = 300.0,
    max_attempts: int = 3,
    queue_url: str | None = None,
    success_webhook: str | None = None,
    failure_webhook: str | None = None,
    port: int | None = None,
    force: bool = False,
    wait: bool = True,
) -> dict[str, Any]:
    """Deploy a registered model version for queued (asynchronous) inference.

    Args:
        ctx: The workspace.
        name: Endpoint name (letters, digits, ``_.-``; up to 63 characters).
        group: Model package group.
        version: Package version; the newest when None.
        max_workers: Most worker processes at once.
        worker_idle_timeout: Seconds a worker waits on an empty queue before exiting.
        visibility_timeout: Seconds a claimed request may go without a heartbeat before it
            is handed to another worker (its worker died).
        max_attempts: Claims after which a request whose worker keeps dying is Failed.
        queue_url: ``redis://host:port/db`` for a Redis queue; default a SQLite file under
            ``.siklus/async/<name>/``.
        success_webhook: URL POSTed ``{"inference_id", "status", ...}`` on success.
        failure_webhook: The same on failure.
        port: Port of the front on ``endpoint_host``; a free one when None.
        force: Deploy even if the package is not Approved.
        wait: Return once the front answers ``/ping``.

    Returns:
        The endpoint's record (``status``, ``url``, settings, paths).

    Raises:
        InvalidParameter: A bad name, port or setting.
        NotFound: No such package or model file.
        InvalidState: The package is not Approved and ``force`` is False.
        AlreadyExists: An endpoint of that name exists (delete it first).
        EndpointError: The front did not start; the message quotes its log.
    """
    hosting.check_name(name, "Async endpoint")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidParameter(f"Port {port} is out of range; use 1-65535 or leave it out.")
    if not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidParameter(f"max_workers must be an integer of at least 1, got {max_workers}.")
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidParameter(f"max_attempts must be at least 1, got {max_attempts}.")
    _check_positive(worker_idle_timeout=worker_idle_timeout, visibility_timeout=visibility_timeout)
    for hook in (success_webhook, failure_webhook):
        if hook is not None and not hook.startswith(("http://", "https://")):
            raise InvalidParameter(f"Webhook {hook!r} must be an http:// or https:// URL.")
    package, model = deployable_package(ctx, group, version, force=force)
    uid = uuid.uuid4().hex[:12]
    folder = endpoint_dir(ctx, name, uid)
    if queue_url is None:
        queue_url = f"sqlite:///{folder / 'queue.db'}"
    elif queue_url.startswith(("redis://", "rediss://", "unix://")) and "#" not in queue_url:
        queue_url = f"{queue_url}#siklus-async:{name}:{uid}"
    _check_queue(queue_url, max_attempts)
    log_path = async_endpoint_log_path(ctx, name)
    record = hosting.new_record(
        ctx,
        name,
        package,
        model,
        log_path,
        uid=uid,
        queue_url=queue_url,
        max_workers=max_workers,
        worker_idle_timeout=worker_idle_timeout,
        visibility_timeout=visibility_timeout,
        max_attempts=max_attempts,
        success_webhook=success_webhook,
        failure_webhook=failure_webhook,
        inputs_dir=str(folder / "inputs"),
        results_dir=str(folder / "results"),
        worker_log_path=str(folder.parent / "workers.log"),
    )
    hosting.create_record(ctx, KIND, name, record)
    return hosting.launch(
        ctx,
        KIND,
        name,
        module="siklus.serving.asynchronous._front",
        package_id=package.id,
        log_path=log_path,
        port=port,
        wait=wait,
        label="Async endpoint",
        role="front",
    )


def describe_async_endpoint(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """The endpoint's record (liveness applied), with live ``workers`` and ``queue`` counts
    when it is InService.

    Raises:
        NotFound: No async endpoint of that name.
    """
    body = hosting.reconcile(ctx, KIND, hosting.read(ctx, KIND, name, _HINT))
    if body.get("status") == "InService" and body.get("url"):
        try:
            live = hosting.request("GET", f"{body['url']}/ping", name, timeout=5.0).json()
            body |= {"workers": live.get("workers"), "queue": live.get("queue")}
        except EndpointError:
            pass  # between the liveness check and now it went away; the record says so
    return body


def _check_queue(queue_url: str, max_attempts: int) -> None:
    """Open the queue and count its messages once, so a bad URL fails ``create`` now.

    Without the count an unreachable Redis server went unnoticed: the endpoint was
    reported InService and every request failed with a bare ``ConnectionError``.

    Raises:
        InvalidParameter: A relative SQLite path (it would land in whatever folder the
            front runs in), an unsupported scheme, or a queue that cannot be reached.
    """
    from siklus.serving.asynchronous._queue import open_queue

    if (
        queue_url.startswith("sqlite:///")
        and not Path(queue_url.removeprefix("sqlite:///")).is_absolute()
    ):
        raise InvalidParameter(
            f"Queue URL {queue_url!r} has a relative path; use sqlite:////ABSOLUTE/PATH.db "
            "(four slashes), or leave --queue-url out for a SQLite file in the workspace."
        )
    queue = open_queue(queue_url, max_attempts=max_attempts)
    try:
        queue.counts()
    except SiklusError:
        raise
    except Exception as exc:  # redis ConnectionError, TimeoutError, AuthenticationError...
        raise InvalidParameter(
            f"Queue {queue_url.partition('#')[0]!r} cannot be reached: "
            f"{type(exc).__name__}: {exc}. Start the server or fix --queue-url."
        ) from None
    finally:
        queue.close()


def list_async_endpoints(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    """Every async endpoint not Deleted, by name, with the liveness rule applied."""
    bodies = [hosting.reconcile(ctx, KIND, r) for r in ctx.store.list_resources(KIND)]
    return [body for body in bodies if body.get("status") != "Deleted"]


def delete_async_endpoint(
    ctx: WorkspaceContext, name: str, *, grace_seconds: float = 10.0
) -> dict[str, Any]:
    """Stop the front and its workers (SIGTERM, SIGKILL after ``grace_seconds``); mark it
    Deleted. Queued requests and stored results stay on disk under ``.siklus/async/``.

    Raises:
        NotFound: No async endpoint of that name.
    """
    body = hosting.read(ctx, KIND, name, _HINT).body
    if body.get("status") == "Deleted":
        return body
    hosting.stop(body.get("pid"), body.get("pid_started_at"), grace_seconds=grace_seconds)
    return hosting.update(ctx, KIND, name, status="Deleted")


def invoke_async(
    ctx: WorkspaceContext,
    name: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    *,
    input_location: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Queue one request: an inline ``body`` or a payload by reference (``input_location``).

    Args:
        ctx: The workspace.
        name: The async endpoint.
        body: JSON or CSV rows, up to ``max_payload_bytes``.
        content_type: Of ``body``; for ``input_location``, overrides the suffix rule
            (``.csv`` → CSV, ``.json`` → JSON) when not the default.
        input_location: A file path (absolute or relative to the workspace folder) or an
            fsspec URL, for payloads of any size.
        timeout: Seconds to wait for the 202 answer.

    Returns:
        ``{"inference_id", "status": "Queued", "output_location"}``.

    Raises:
        InvalidParameter: Neither or both of ``body`` and ``input_location``.
        InvalidInput: The payload was refused (malformed, wrong columns, missing file).
        InvalidState: The endpoint is not InService.
        EndpointError: The front could not be reached.
    """
    if (body is None) == (input_location is None):
        raise InvalidParameter("Give exactly one of body (inline rows) or input_location.")
    record = describe_async_endpoint(ctx, name)
    url = hosting.require_in_service(record, name, "async")
    if input_location is not None:
        reference: dict[str, Any] = {"input_location": input_location}
        if content_type != "application/json":
            reference["content_type"] = content_type
        body, content_type = json.dumps(reference).encode(), "application/json"
    response = hosting.request(
        "POST",
        f"{url}/invocations",
        name,
        timeout=timeout,
        content=body,
        headers={"Content-Type": content_type},
    )
    return dict(response.json())


def get_async_result(
    ctx: WorkspaceContext,
    name: str,
    inference_id: str,
    *,
    wait: float = 0.0,
    poll_interval: float = 0.1,
) -> dict[str, Any]:
    """The status of one inference (and its result once Completed).

    Args:
        wait: Seconds to keep polling until it is Completed or Failed (0: ask once).

    Returns:
        ``{"inference_id", "status", "failure_reason", "output_location", "rows"?,
        "result"?: {"predictions": [...], ...}}``.

    Raises:
        NotFound: No such endpoint or inference id.
        InvalidState: The endpoint is not InService.
    """
    deadline = time.monotonic() + wait
    record = describe_async_endpoint(ctx, name)
    url = hosting.require_in_service(record, name, "async")
    while True:
        answer = dict(
            hosting.request("GET", f"{url}/results/{inference_id}", name, timeout=30.0).json()
        )
        if answer.get("status") in _FINAL or time.monotonic() >= deadline:
            return answer
        time.sleep(poll_interval)


__all__ = [
    "async_endpoint_log_path",
    "create_async_endpoint",
    "delete_async_endpoint",
    "describe_async_endpoint",
    "get_async_result",
    "invoke_async",
    "list_async_endpoints",
]
