"""The ASGI application of a real-time endpoint: ``GET /ping`` and ``POST /invocations``.

The paths and answers follow SageMaker's hosting contract, so clients written for it
work unchanged. Everything that does not depend on the request (the signature, the ping
answer) is computed once in :func:`create_app`, because per-request overhead is what an
endpoint adds on top of ``model.predict`` and is benchmarked against it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from siklus.exceptions import InvalidInput, PayloadTooLarge, SiklusError
from siklus.serving._errors import error_body
from siklus.serving._payload import parse_payload
from siklus.training import LoadedModel

logger = logging.getLogger("siklus.serving")

_JSON = "application/json"


def create_app(loaded: LoadedModel, *, max_payload_bytes: int, endpoint_name: str) -> Starlette:
    """Build the endpoint application around a loaded model.

    Args:
        loaded: The model to serve; its ``predict`` validates rows against the signature.
        max_payload_bytes: Largest request body accepted; larger ones get HTTP 413 before
            they are read into memory.
        endpoint_name: Shown by ``/ping`` so a caller can tell which endpoint answered.

    Returns:
        A Starlette app. Every :class:`~siklus.exceptions.SiklusError` is answered with its
        ``http_status`` and ``{"error": {"type", "message"}}``; any other exception with
        500 and the same shape (and a log entry), and the server keeps serving.

    Example:
        >>> app = create_app(loaded, max_payload_bytes=2**20, endpoint_name="bc")  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8080)  # doctest: +SKIP
    """
    signature = loaded.signature
    model_id = loaded.model_id
    ping_body = json.dumps(
        {"status": "healthy", "endpoint": endpoint_name, "model_id": model_id}
    ).encode()

    def predict(body: bytes, content_type: str | None) -> dict[str, Any]:
        frame = parse_payload(body, content_type, signature)
        answer = loaded.predict(frame)
        answer["model_id"] = model_id
        return answer

    async def ping(request: Request) -> Response:
        return Response(ping_body, media_type=_JSON)

    async def invocations(request: Request) -> Response:
        try:
            body = await read_limited(request, max_payload_bytes)
            answer = await run_in_threadpool(predict, body, request.headers.get("content-type"))
            return JSONResponse(answer)
        except SiklusError as exc:
            return JSONResponse(error_body(exc), status_code=exc.http_status)
        except Exception as exc:  # the server must outlive any one bad request
            logger.exception("Endpoint %s: unexpected error on /invocations", endpoint_name)
            message = (
                f"Unexpected error while predicting: {type(exc).__name__}: {exc}. "
                f"See the server log of endpoint {endpoint_name!r}."
            )
            return JSONResponse(
                {"error": {"type": type(exc).__name__, "message": message}}, status_code=500
            )

    async def http_error(request: Request, exc: Exception) -> Response:
        # Routing errors (unknown path, wrong method) get the same JSON shape as the rest.
        assert isinstance(exc, HTTPException)
        message = (
            f"{request.method} {request.url.path}: {exc.detail}. "
            "This endpoint serves GET /ping and POST /invocations."
        )
        return JSONResponse(
            {"error": {"type": "HTTPException", "message": message}},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the request body, refusing it as soon as it is known to exceed ``limit``.

    ``Content-Length`` is checked before reading anything; a chunked body (no length) is
    counted while it streams, so an oversized request never sits whole in memory.

    Raises:
        PayloadTooLarge: The body is larger than ``limit`` bytes (HTTP 413).
        InvalidInput: ``Content-Length`` is not a number.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidInput(f"Content-Length {declared!r} is not a number of bytes.") from None
        if size > limit:
            raise _too_large(f"{size} bytes", limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body ({size}) exceeds this endpoint's limit of {limit} bytes. "
        "Split the rows over several requests, use batch transform for large files, or "
        "raise SIKLUS_MAX_PAYLOAD_BYTES and recreate the endpoint."
    )


__all__ = ["create_app", "read_limited"]
