"""The ASGI app of a serverless endpoint: the model is loaded on demand and dropped when idle.

:class:`OnDemandModel` holds the model only between the first request after an idle
period and ``idle_timeout`` seconds after the last one; then it drops every reference
and runs the garbage collector, so the fitted arrays are freed. The libraries
(scikit-learn, pandas) stay imported: re-importing them would cost seconds per cold start
for a few megabytes of code, while the model's own memory is what scales with its size.

Concurrency is capped at ``max_concurrency`` requests in flight (reading, parsing,
predicting); one more gets HTTP 429 with ``Retry-After``, as a serverless platform
throttles instead of queueing without bound.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from siklus.exceptions import PayloadTooLarge, SiklusError
from siklus.serving import parse_payload
from siklus.serving.asynchronous import _hosting as hosting

if TYPE_CHECKING:
    from siklus.training import LoadedModel

logger = logging.getLogger("siklus.serving.serverless")

COLD_HEADER = "X-Siklus-Cold-Start"
COLD_MS_HEADER = "X-Siklus-Cold-Start-Ms"
#: Seconds a throttled client is told to wait.
RETRY_AFTER_S = 1


class OnDemandModel:
    """A model loaded on first use and unloaded after ``idle_timeout`` seconds unused.

    Args:
        load: Loads the model (called with no lock contention: one load at a time).
        idle_timeout: Seconds without a request in flight after which it is dropped.
        on_load: Called with the load time in milliseconds after each (cold) load.
        on_unload: Called after each unload.
    """

    def __init__(
        self,
        load: Callable[[], LoadedModel],
        *,
        idle_timeout: float,
        on_load: Callable[[float], None] = lambda ms: None,
        on_unload: Callable[[], None] = lambda: None,
    ) -> None:
        self._load = load
        self.idle_timeout = idle_timeout
        self._on_load = on_load
        self._on_unload = on_unload
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._loads = 0
        self._last_ms = 0.0
        self._active = 0
        self._last_used = time.monotonic()
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, daemon=True, name="unloader")
        self._reaper.start()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def acquire(self) -> tuple[LoadedModel, float | None]:
        """The model (loading it if needed) and the cold-start milliseconds this call paid
        (its own load, or one it waited for), else None. Pair with :meth:`release`."""
        loads_before = self._loads
        with self._lock:
            if self._model is None:
                started = time.perf_counter()
                self._model = self._load()
                self._last_ms = (time.perf_counter() - started) * 1000
                self._loads += 1
                self._on_load(self._last_ms)
            self._active += 1
            cold = self._last_ms if self._loads != loads_before else None
            return self._model, cold

    def release(self) -> None:
        with self._lock:
            self._active -= 1
            self._last_used = time.monotonic()

    def unload_if_idle(self) -> bool:
        """Drop the model when nothing uses it and it was idle long enough; True if it did."""
        with self._lock:
            idle = time.monotonic() - self._last_used
            if self._model is None or self._active or idle < self.idle_timeout:
                return False
            self._model = None
        gc.collect()
        self._on_unload()
        return True

    def _reap(self) -> None:
        while not self._stop.wait(min(1.0, self.idle_timeout / 4)):
            try:
                self.unload_if_idle()
            except Exception:
                logger.exception("Unloading the idle model failed")

    def close(self) -> None:
        self._stop.set()


def create_app(
    holder: OnDemandModel,
    signature: list[dict[str, Any]],
    *,
    max_concurrency: int,
    max_payload_bytes: int,
    endpoint_name: str,
) -> Starlette:
    """``GET /ping`` (never loads the model) and ``POST /invocations`` (loads it if needed)."""
    in_flight = 0  # only touched on the event loop thread: no lock needed

    def predict(body: bytes, content_type: str | None) -> tuple[dict[str, Any], float | None]:
        # Parse before loading: a bad payload never pays (or causes) a cold start.
        frame = parse_payload(body, content_type, signature)
        model, cold_ms = holder.acquire()
        try:
            answer = model.predict(frame)
            answer["model_id"] = model.model_id
        finally:
            holder.release()
        return answer, cold_ms

    async def ping(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "healthy",
                "endpoint": endpoint_name,
                "model_loaded": holder.loaded,
                "in_flight": in_flight,
                "max_concurrency": max_concurrency,
            }
        )

    async def invocations(request: Request) -> Response:
        nonlocal in_flight
        if in_flight >= max_concurrency:
            message = (
                f"Serverless endpoint {endpoint_name!r} is at its max_concurrency of "
                f"{max_concurrency} request(s) in flight; retry after {RETRY_AFTER_S} s, or "
                "recreate it with a higher --max-concurrency."
            )
            return JSONResponse(
                {"error": {"type": "TooManyRequests", "message": message}},
                status_code=429,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        in_flight += 1
        try:
            body = await hosting.read_limited(request, max_payload_bytes, _too_large)
            answer, cold_ms = await run_in_threadpool(
                predict, body, request.headers.get("content-type")
            )
            headers = {COLD_HEADER: "0" if cold_ms is None else "1"}
            if cold_ms is not None:
                headers[COLD_MS_HEADER] = f"{cold_ms:.1f}"
            return JSONResponse(answer, headers=headers)
        except SiklusError as exc:
            return JSONResponse(
                {"error": {"type": type(exc).__name__, "message": exc.message}},
                status_code=exc.http_status,
            )
        except Exception as exc:  # the server outlives any one bad request
            logger.exception("Serverless endpoint %s: unexpected error", endpoint_name)
            message = f"Unexpected error while predicting: {type(exc).__name__}: {exc}."
            return JSONResponse(
                {"error": {"type": type(exc).__name__, "message": message}}, status_code=500
            )
        finally:
            in_flight -= 1

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = (
            f"{request.method} {request.url.path}: {exc.detail}. This endpoint serves "
            "GET /ping and POST /invocations."
        )
        return JSONResponse(
            {"error": {"type": "HTTPException", "message": message}},
            status_code=exc.status_code,
        )

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


def _too_large(size: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body ({size}) exceeds this endpoint's limit of {limit} bytes; send "
        "fewer rows per request, or use an async endpoint or batch transform for large files."
    )


__all__ = ["COLD_HEADER", "COLD_MS_HEADER", "RETRY_AFTER_S", "OnDemandModel", "create_app"]
