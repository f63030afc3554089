"""The ASGI application of a real-time endpoint: ``GET /ping`` and ``POST /invocations``.

The paths and answers follow SageMaker's hosting contract, so clients written for it
work unchanged. The app is a plain ASGI callable rather than a framework router: the
per-request overhead is what an endpoint adds on top of ``model.predict`` and is
benchmarked against it (``benchmarks/serving.py``), and two routes need no router.

Every :class:`~siklus.exceptions.SiklusError` is answered with its ``http_status`` and
``{"error": {"type", "message"}}``; any other exception with 500 and the same shape (and a
log entry), and the server keeps serving.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from siklus.exceptions import InvalidInput, PayloadTooLarge, SiklusError
from siklus.serving._errors import error_body
from siklus.serving._invoker import Invoker, Variant

if TYPE_CHECKING:
    from siklus.training import LoadedModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_CLOSE = (b"connection", b"close")
_ROUTES = "This endpoint serves GET /ping and POST /invocations."


def create_app(loaded: LoadedModel, *, max_payload_bytes: int, endpoint_name: str) -> ASGIApp:
    """Build the endpoint application around one loaded model (one variant, no shadow).

    Args:
        loaded: The model to serve; rows are validated against its signature.
        max_payload_bytes: Largest request body accepted; larger ones get HTTP 413 before
            they are read into memory.
        endpoint_name: Shown by ``/ping`` so a caller can tell which endpoint answered.

    Example:
        >>> app = create_app(loaded, max_payload_bytes=2**20, endpoint_name="bc")  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8080)  # doctest: +SKIP
    """
    variant = Variant(name="primary", model=loaded, ref="", model_id=loaded.model_id or "")
    invoker = Invoker(endpoint_name, [(variant, 1.0)], max_payload_bytes=max_payload_bytes)
    return build_app(invoker)


def build_app(invoker: Invoker) -> ASGIApp:
    """The ASGI app answering with ``invoker`` (what endpoint workers serve)."""
    limit = invoker.max_payload_bytes

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        extra = [_CLOSE] if invoker.draining else []
        if path == "/invocations" and method == "POST":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            try:
                body = await read_body(headers, receive, limit)
            except SiklusError as exc:
                invoker.refused(exc.http_status)
                # The rest of the body is not read: close rather than resynchronise.
                await _respond(
                    send, exc.http_status, json.dumps(error_body(exc)).encode(), [_CLOSE]
                )
                return
            status, payload, out_headers = await invoker.invoke(
                body, headers.get("content-type"), headers
            )
            await _respond(send, status, payload, out_headers + extra)
        elif path == "/ping" and method in ("GET", "HEAD"):
            await _respond(send, 200, invoker.ping_body, extra)
        else:
            known = path in ("/ping", "/invocations")
            status, detail = (405, "Method Not Allowed") if known else (404, "Not Found")
            message = f"{method} {path}: {detail}. {_ROUTES}"
            body = json.dumps({"error": {"type": "HTTPException", "message": message}}).encode()
            await _respond(send, status, body, extra)

    app.invoker = invoker  # type: ignore[attr-defined]
    return app


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
    """Read the request body, refusing it as soon as it is known to exceed ``limit``.

    ``Content-Length`` is checked before reading anything; a chunked body (no length) is
    counted while it streams, so an oversized request never sits whole in memory.

    Raises:
        PayloadTooLarge: The body is larger than ``limit`` bytes (HTTP 413).
        InvalidInput: ``Content-Length`` is not a number.
    """
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidInput(f"Content-Length {declared!r} is not a number of bytes.") from None
        if size > limit:
            raise _too_large(f"{size} bytes", limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise _too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body ({size}) exceeds this endpoint's limit of {limit} bytes. "
        "Split the rows over several requests, use batch transform for large files, or "
        "raise SIKLUS_MAX_PAYLOAD_BYTES and recreate the endpoint."
    )


__all__ = ["ASGIApp", "build_app", "create_app", "read_body"]
