"""Errors specific to serving, and their round trip over HTTP.

An endpoint answers every :class:`~siklus.exceptions.SiklusError` with its
``http_status`` and ``{"error": {"type": ClassName, "message": ...}}``. The client side
(:func:`siklus.serving.invoke_endpoint`) turns that answer back into the same exception
class, so a caller of the Python API, the CLI and an HTTP client all see one message.
"""

from __future__ import annotations

from typing import Any

from siklus import exceptions
from siklus.exceptions import InvalidInput, SiklusError


class UnsupportedMediaType(InvalidInput):
    """The request's ``Content-Type`` is not one an endpoint can parse."""

    http_status = 415


class EndpointError(SiklusError):
    """An endpoint failed to start, could not be reached, or failed on a request.

    The status is 502 (Bad Gateway) because the fault lies with the model server behind
    the caller, not with what the caller sent.
    """

    http_status = 502


#: Error classes an endpoint may name in its answer, by class name.
_KNOWN: dict[str, type[SiklusError]] = {
    name: cls
    for name in exceptions.__all__
    if isinstance(cls := getattr(exceptions, name), type) and issubclass(cls, SiklusError)
}
_KNOWN[UnsupportedMediaType.__name__] = UnsupportedMediaType
_KNOWN[EndpointError.__name__] = EndpointError

#: Fallback by status when the answer does not name a known class (a proxy, a crash).
_BY_STATUS: dict[int, type[SiklusError]] = {
    400: InvalidInput,
    404: exceptions.NotFound,
    409: exceptions.InvalidState,
    413: exceptions.PayloadTooLarge,
    415: UnsupportedMediaType,
}


def error_body(exc: SiklusError) -> dict[str, Any]:
    """The JSON document an endpoint answers ``exc`` with."""
    return {"error": {"type": type(exc).__name__, "message": exc.message}}


def error_from_answer(status: int, body: Any, fallback_message: str) -> SiklusError:
    """Rebuild the exception an endpoint answered with.

    Args:
        status: The HTTP status of the answer (400 or more).
        body: The decoded JSON answer, or None when it was not JSON.
        fallback_message: Used when the answer carries no message (e.g. a proxy's page).

    Returns:
        An instance of the class the endpoint named when siklus knows it, else one chosen
        by status: 4xx map to the matching client error, anything else to
        :class:`EndpointError`.
    """
    error = body.get("error") if isinstance(body, dict) else None
    name = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = fallback_message
    cls = _KNOWN.get(name) if isinstance(name, str) else None
    if cls is None or cls is SiklusError:
        cls = _BY_STATUS.get(status, InvalidInput if 400 <= status < 500 else EndpointError)
    return cls(message)


__all__ = ["EndpointError", "UnsupportedMediaType", "error_body", "error_from_answer"]
