"""Checks ``create_async_endpoint`` makes before starting anything (no process started)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.serving.asynchronous import create_async_endpoint, describe_async_endpoint


def _refused_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_redis_queue_fails_create(model: Any) -> None:
    """Regression: the endpoint was reported InService and each request then failed with a
    bare ``ConnectionError``."""
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{_refused_port()}/0"
    with pytest.raises(InvalidParameter, match="cannot be reached"):
        create_async_endpoint(model.ctx, "bc-redis-down", model.group, queue_url=url)
    with pytest.raises(NotFound):
        describe_async_endpoint(model.ctx, "bc-redis-down")


def test_a_relative_sqlite_queue_path_is_refused(model: Any) -> None:
    """Regression: ``sqlite:///queue.db`` was accepted and the file landed in the folder the
    front happened to run in."""
    with pytest.raises(InvalidParameter, match="relative path"):
        create_async_endpoint(model.ctx, "bc-rel", model.group, queue_url="sqlite:///queue.db")
    with pytest.raises(NotFound):
        describe_async_endpoint(model.ctx, "bc-rel")
