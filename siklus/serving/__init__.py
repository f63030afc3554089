"""Serving: real-time HTTP endpoints for registered models.

An endpoint is a detached server process (Starlette on uvicorn) that loads one model
package version and answers ``GET /ping`` and ``POST /invocations`` (JSON or CSV) on
``endpoint_host`` (127.0.0.1 unless configured otherwise). Only this package knows HTTP.

Example:
    >>> from siklus.serving import create_endpoint, invoke_endpoint, delete_endpoint
    >>> create_endpoint(ctx, "bc", "breast-cancer", 1)  # doctest: +SKIP
    >>> invoke_endpoint(ctx, "bc", b'{"mean radius": 14.1, ...}')  # doctest: +SKIP
    >>> delete_endpoint(ctx, "bc")  # doctest: +SKIP
"""

from __future__ import annotations

from siklus.serving._app import create_app
from siklus.serving._endpoints import (
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    endpoint_log_path,
    invoke_endpoint,
    list_endpoints,
)
from siklus.serving._errors import EndpointError, UnsupportedMediaType
from siklus.serving._payload import parse_payload

__all__ = [
    "EndpointError",
    "UnsupportedMediaType",
    "create_app",
    "create_endpoint",
    "delete_endpoint",
    "describe_endpoint",
    "endpoint_log_path",
    "invoke_endpoint",
    "list_endpoints",
    "parse_payload",
]
