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

from siklus._lazy import lazy_exports

# Every name loads on first use: an endpoint process (``python -m siklus.serving._server``)
# imports this package first and must pay only for what its runtime needs: no
# scikit-learn for an ONNX variant, no onnxruntime, queue or batch code for a native one.
_EXPORTS: dict[str, str] = {
    "Autoscaling": "siklus.serving._config",
    "EndpointConfig": "siklus.serving._config",
    "EndpointError": "siklus.serving._errors",
    "Invoker": "siklus.serving._invoker",
    "MicroBatcher": "siklus.serving._invoker",
    "OnnxModel": "siklus.serving._onnx",
    "PARQUET_TYPES": "siklus.serving._payload",
    "TooManyRequests": "siklus.serving.serverless",
    "UnsupportedMediaType": "siklus.serving._errors",
    "Variant": "siklus.serving._invoker",
    "VariantSpec": "siklus.serving._config",
    "build_app": "siklus.serving._app",
    "create_app": "siklus.serving._app",
    "create_async_endpoint": "siklus.serving.asynchronous",
    "create_endpoint": "siklus.serving._endpoints",
    "create_serverless_endpoint": "siklus.serving.serverless",
    "delete_async_endpoint": "siklus.serving.asynchronous",
    "delete_endpoint": "siklus.serving._endpoints",
    "delete_serverless_endpoint": "siklus.serving.serverless",
    "describe_async_endpoint": "siklus.serving.asynchronous",
    "describe_endpoint": "siklus.serving._endpoints",
    "describe_serverless_endpoint": "siklus.serving.serverless",
    "describe_transform": "siklus.serving.batch",
    "endpoint_config": "siklus.serving._endpoints",
    "endpoint_events": "siklus.serving._endpoints",
    "endpoint_log_path": "siklus.serving._endpoints",
    "endpoint_metrics": "siklus.serving._metrics",
    "endpoint_state": "siklus.serving._endpoints",
    "get_async_result": "siklus.serving.asynchronous",
    "host_status": "siklus.serving._host",
    "invoke_async": "siklus.serving.asynchronous",
    "invoke_endpoint": "siklus.serving._endpoints",
    "invoke_serverless": "siklus.serving.serverless",
    "list_async_endpoints": "siklus.serving.asynchronous",
    "list_endpoints": "siklus.serving._endpoints",
    "list_serverless_endpoints": "siklus.serving.serverless",
    "list_transforms": "siklus.serving.batch",
    "load_onnx_model": "siklus.serving._onnx",
    "parse_payload": "siklus.serving._payload",
    "parse_variant_option": "siklus.serving._config",
    "recommend": "siklus.serving.recommender",
    "resume_transform": "siklus.serving.batch",
    "start_host": "siklus.serving._host",
    "stop_host": "siklus.serving._host",
    "transform": "siklus.serving.batch",
    "update_endpoint": "siklus.serving._endpoints",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
