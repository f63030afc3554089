"""Polling shared by the endpoint tests: servers change state in their own processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 40.0, interval: float = 0.1) -> T:
    """``check()``'s first truthy result, polled every ``interval`` seconds.

    Raises:
        AssertionError: Still falsy after ``timeout`` seconds (with the last value).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {check}; last {result!r}")
        time.sleep(interval)
