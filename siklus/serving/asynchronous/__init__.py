"""Asynchronous inference: queued requests, payloads by reference, results by id.

An async endpoint accepts a request at once (HTTP 202 with an inference id), queues it
durably and lets worker processes predict it; the caller fetches the result by id (or gets
a webhook). Payloads are inline (up to ``max_payload_bytes``) or a reference
(``{"input_location": "big.csv"}``) to a file of any size. Workers start when the queue
holds work and exit when it has been empty for a while: an idle endpoint runs none.

The queue is SQLite by default (a file under ``.siklus/async/``) or Redis
(``queue_url="redis://…"``); both implement :class:`InferenceQueue`.

Example:
    >>> from siklus.serving.asynchronous import create_async_endpoint, invoke_async
    >>> create_async_endpoint(ctx, "bc-async", "breast-cancer")  # doctest: +SKIP
    >>> ticket = invoke_async(ctx, "bc-async", input_location="data/big.csv")  # doctest: +SKIP
    >>> get_async_result(ctx, "bc-async", ticket["inference_id"], wait=60)  # doctest: +SKIP
"""

from __future__ import annotations

from siklus.serving.asynchronous._endpoints import (
    async_endpoint_log_path,
    create_async_endpoint,
    delete_async_endpoint,
    describe_async_endpoint,
    get_async_result,
    invoke_async,
    list_async_endpoints,
)
from siklus.serving.asynchronous._queue import (
    DEFAULT_MAX_ATTEMPTS,
    InferenceMessage,
    InferenceQueue,
    InferenceStatus,
    open_queue,
)
from siklus.serving.asynchronous._redis_queue import RedisQueue
from siklus.serving.asynchronous._sqlite_queue import SqliteQueue
from siklus.serving.asynchronous._webhook import notify

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "InferenceMessage",
    "InferenceQueue",
    "InferenceStatus",
    "RedisQueue",
    "SqliteQueue",
    "async_endpoint_log_path",
    "create_async_endpoint",
    "delete_async_endpoint",
    "describe_async_endpoint",
    "get_async_result",
    "invoke_async",
    "list_async_endpoints",
    "notify",
    "open_queue",
]
