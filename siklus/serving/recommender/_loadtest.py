"""A closed-loop HTTP load generator for one endpoint.

``concurrency`` client threads each keep one request in flight (a new one as soon as the
previous answers) for ``duration_s`` seconds, after a warm-up that is not measured. This
is how a busy endpoint behaves: latency is measured under the throughput it reports.
The clients run on the same machine as the endpoint and take CPU from it; the numbers
are therefore conservative, and the same for every candidate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np

from siklus.exceptions import InvalidParameter


@dataclass
class LoadResult:
    """What one load test measured."""

    requests: int
    errors: int
    rows_per_request: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    first_error: str | None = None

    @property
    def ok(self) -> int:
        return self.requests - self.errors

    @property
    def requests_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.requests_per_second * self.rows_per_request

    def percentile_ms(self, q: float) -> float | None:
        """Latency percentile ``q`` (0-100) of successful requests, None when there were none."""
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.asarray(self.latencies_ms), q))


def load_test(
    url: str,
    body: bytes,
    *,
    rows_per_request: int,
    concurrency: int = 1,
    duration_s: float = 5.0,
    warmup_s: float = 0.5,
    content_type: str = "application/json",
    timeout_s: float = 30.0,
    should_stop: Callable[[], bool] | None = None,
) -> LoadResult:
    """Send ``body`` to ``url`` from ``concurrency`` threads for ``duration_s`` seconds.

    Raises:
        InvalidParameter: Non-positive concurrency or duration.
    """
    if concurrency < 1 or duration_s <= 0 or warmup_s < 0:
        raise InvalidParameter(
            f"Load test needs concurrency >= 1 and duration > 0 s (got concurrency="
            f"{concurrency}, duration={duration_s}, warm-up={warmup_s})."
        )
    headers = {"Content-Type": content_type}
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    errors: list[str] = []
    window: dict[str, float] = {}

    def open_window() -> None:  # runs once, when every client has warmed up
        window["began"] = time.monotonic()
        window["end"] = window["began"] + duration_s

    start_barrier = threading.Barrier(concurrency + 1, action=open_window)

    def client() -> None:
        mine: list[float] = []
        requests = failed = 0
        with httpx.Client(timeout=timeout_s) as http:
            warm_until = time.monotonic() + warmup_s
            while time.monotonic() < warm_until:
                try:
                    http.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    break
            start_barrier.wait()
            while time.monotonic() < window["end"]:
                if should_stop is not None and should_stop():
                    break
                began = time.perf_counter()
                try:
                    response = http.post(url, content=body, headers=headers)
                    good = response.status_code == 200
                    problem = (
                        None if good else f"HTTP {response.status_code}: {response.text[:300]}"
                    )
                except httpx.HTTPError as exc:
                    good, problem = False, f"{type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - began) * 1000.0
                requests += 1
                if good:
                    mine.append(elapsed)
                else:
                    failed += 1
                    if problem and not errors:
                        with lock:
                            errors.append(problem)
        with lock:
            latencies.extend(mine)
            counts["requests"] += requests
            counts["errors"] += failed

    threads = [
        threading.Thread(target=client, name=f"siklus-load-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    start_barrier.wait()  # everyone warmed up: the measured window starts now
    for thread in threads:
        thread.join()
    return LoadResult(
        requests=counts["requests"],
        errors=counts["errors"],
        rows_per_request=rows_per_request,
        seconds=time.monotonic() - window["began"],
        latencies_ms=latencies,
        first_error=errors[0] if errors else None,
    )
