"""Serving: real-time HTTP endpoints for registered models.

An endpoint is a supervisor process that owns a socket on ``endpoint_host`` (127.0.0.1
unless configured otherwise) and forks worker processes (uvicorn) that answer
``GET /ping`` and ``POST /invocations`` (JSON, CSV or Parquet). Its config has one or
more production variants with traffic weights, an optional shadow variant, data capture
and autoscaling; :func:`update_endpoint` rolls a new config out blue/green without
dropping a request. Concurrent single-row requests are micro-batched into one predict
call. Only this package knows HTTP. See ``docs/serving.md``.

Example:
    >>> from siklus.serving import create_endpoint, invoke_endpoint, delete_endpoint
    >>> create_endpoint(ctx, "bc", "breast-cancer", 1)  # doctest: +SKIP
    >>> invoke_endpoint(ctx, "bc", b'{"mean radius": 14.1, ...}')  # doctest: +SKIP
    >>> delete_endpoint(ctx, "bc")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from siklus.serving._app import build_app, create_app
from siklus.serving._config import (
    Autoscaling,
    EndpointConfig,
    VariantSpec,
    parse_variant_option,
)
from siklus.serving._endpoints import (
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    endpoint_config,
    endpoint_events,
    endpoint_log_path,
    endpoint_state,
    invoke_endpoint,
    list_endpoints,
    update_endpoint,
)
from siklus.serving._errors import EndpointError, UnsupportedMediaType
from siklus.serving._invoker import Invoker, MicroBatcher, Variant
from siklus.serving._metrics import endpoint_metrics
from siklus.serving._payload import parse_payload

# The other inference types load on first use: an endpoint process imports this package
# and must not pay for onnxruntime, the queue or the batch code.
_LAZY: dict[str, str] = {
    "OnnxModel": "siklus.serving._onnx",
    "TooManyRequests": "siklus.serving.serverless",
    "create_async_endpoint": "siklus.serving.asynchronous",
    "create_serverless_endpoint": "siklus.serving.serverless",
    "delete_async_endpoint": "siklus.serving.asynchronous",
    "delete_serverless_endpoint": "siklus.serving.serverless",
    "describe_async_endpoint": "siklus.serving.asynchronous",
    "describe_serverless_endpoint": "siklus.serving.serverless",
    "describe_transform": "siklus.serving.batch",
    "get_async_result": "siklus.serving.asynchronous",
    "host_status": "siklus.serving._host",
    "invoke_async": "siklus.serving.asynchronous",
    "invoke_serverless": "siklus.serving.serverless",
    "list_async_endpoints": "siklus.serving.asynchronous",
    "list_serverless_endpoints": "siklus.serving.serverless",
    "list_transforms": "siklus.serving.batch",
    "load_onnx_model": "siklus.serving._onnx",
    "recommend": "siklus.serving.recommender",
    "resume_transform": "siklus.serving.batch",
    "start_host": "siklus.serving._host",
    "stop_host": "siklus.serving._host",
    "transform": "siklus.serving.batch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'siklus.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    *_LAZY,
    "Autoscaling",
    "EndpointConfig",
    "EndpointError",
    "Invoker",
    "MicroBatcher",
    "UnsupportedMediaType",
    "Variant",
    "VariantSpec",
    "build_app",
    "create_app",
    "create_endpoint",
    "delete_endpoint",
    "describe_endpoint",
    "endpoint_config",
    "endpoint_events",
    "endpoint_log_path",
    "endpoint_metrics",
    "endpoint_state",
    "invoke_endpoint",
    "list_endpoints",
    "parse_payload",
    "parse_variant_option",
    "update_endpoint",
]
