"""Serverless inference: the model loads on the first request and unloads when idle.

A serverless endpoint is a server process that starts without its model. The first
request after an idle period loads it (a *cold start*, timed and reported in the
``X-Siklus-Cold-Start-Ms`` header, the ``siklus/endpoints``/``ColdStartMs`` metric series
and ``describe``); after ``idle_timeout`` seconds without requests the model is dropped
and its memory freed. At most ``max_concurrency`` requests run at once; more get HTTP 429
with ``Retry-After``.

Example:
    >>> from siklus.serving.serverless import create_serverless_endpoint, invoke_serverless
    >>> create_serverless_endpoint(ctx, "bc-sl", "breast-cancer")  # doctest: +SKIP
    >>> invoke_serverless(ctx, "bc-sl", b'[{...}]')["cold_start_ms"]  # doctest: +SKIP
    38.5
"""

from __future__ import annotations

from siklus.serving.serverless._app import (
    COLD_HEADER,
    COLD_MS_HEADER,
    RETRY_AFTER_S,
    OnDemandModel,
)
from siklus.serving.serverless._endpoints import (
    TooManyRequests,
    cold_start_stats,
    create_serverless_endpoint,
    delete_serverless_endpoint,
    describe_serverless_endpoint,
    invoke_serverless,
    list_serverless_endpoints,
    serverless_endpoint_log_path,
)
from siklus.serving.serverless._server import COLD_START_METRIC, METRIC_NAMESPACE

__all__ = [
    "COLD_HEADER",
    "COLD_MS_HEADER",
    "COLD_START_METRIC",
    "METRIC_NAMESPACE",
    "RETRY_AFTER_S",
    "OnDemandModel",
    "TooManyRequests",
    "cold_start_stats",
    "create_serverless_endpoint",
    "delete_serverless_endpoint",
    "describe_serverless_endpoint",
    "invoke_serverless",
    "list_serverless_endpoints",
    "serverless_endpoint_log_path",
]
