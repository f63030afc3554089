"""Per-worker request counters in shared memory, read by the endpoint supervisor.

Every worker process of an endpoint owns one *slot* of an anonymous shared mapping made
by the supervisor before it forks the worker. The worker writes only its own slot (from
its event-loop thread, so without locks); the supervisor only reads slots, except that it
clears a slot before handing it to a new worker and sets the ``drain`` flag. This keeps
the request path free of any cross-process call: counting a request is a few integer
additions, and the supervisor derives autoscaling decisions and the per-variant metrics
(``Invocations``, ``Errors4xx``, ``Errors5xx``, latency percentiles) from the counters.

Latencies are counted in a log-scale histogram (buckets ``GROWTH`` apart from 10 µs to
about 100 s), so percentiles over any set of workers and any interval are exact to one
bucket (about 7 %), and merging workers is a sum.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Sequence

import numpy as np

MAX_SLOTS = 64
MAX_VARIANTS = 8
BUCKETS = 240
GROWTH = 1.07
FIRST_US = 10.0

# Slot header fields.
PID, GENERATION, READY, DRAIN, IN_FLIGHT = range(5)
HEADER = 8
# Per-variant fields, then the histogram (from HISTOGRAM on). PREDICT_CALLS and
# PREDICT_ROWS count the micro-batched predict calls and the rows they held.
INVOCATIONS, ERRORS_4XX, ERRORS_5XX, PREDICT_CALLS, PREDICT_ROWS = range(5)
HISTOGRAM = 5
VARIANT_FIELDS = HISTOGRAM + BUCKETS
WIDTH = HEADER + MAX_VARIANTS * VARIANT_FIELDS

_LOG_GROWTH = math.log(GROWTH)


def bucket_of(seconds: float) -> int:
    """Histogram bucket of a latency in seconds."""
    us = seconds * 1e6
    if us <= FIRST_US:
        return 0
    return min(BUCKETS - 1, int(math.log(us / FIRST_US) / _LOG_GROWTH) + 1)


def bucket_upper_ms(index: int) -> float:
    """Upper edge of a bucket in milliseconds (what a percentile in it is reported as)."""
    return FIRST_US * GROWTH**index / 1000.0


def percentiles(histogram: np.ndarray, qs: Sequence[float]) -> list[float | None]:
    """Percentiles (0-100) in milliseconds of a bucket-count histogram; None when empty."""
    total = int(histogram.sum())
    if total == 0:
        return [None for _ in qs]
    cumulative = np.cumsum(histogram)
    out: list[float | None] = []
    for q in qs:
        rank = max(1, math.ceil(q / 100.0 * total))
        out.append(round(bucket_upper_ms(int(np.searchsorted(cumulative, rank))), 4))
    return out


class SharedStats:
    """The shared counter table: ``MAX_SLOTS`` rows of ``WIDTH`` int64 counters.

    Create it in the supervisor before forking; a forked worker uses the same object.
    """

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, MAX_SLOTS * WIDTH * 8)
        self.table = np.ndarray((MAX_SLOTS, WIDTH), dtype=np.int64, buffer=self._map)
        self.table[:] = 0

    def free_slot(self, used: set[int]) -> int:
        for slot in range(MAX_SLOTS):
            if slot not in used:
                return slot
        raise RuntimeError(f"An endpoint runs at most {MAX_SLOTS} worker processes.")

    def reset(self, slot: int) -> None:
        self.table[slot, :] = 0

    def snapshot(self, slot: int) -> np.ndarray:
        return self.table[slot].copy()


def variant_block(row: np.ndarray, index: int) -> np.ndarray:
    """The counters of variant ``index`` within one slot row (a view)."""
    start = HEADER + index * VARIANT_FIELDS
    return row[start : start + VARIANT_FIELDS]


class SlotWriter:
    """What a worker uses to count its requests in its own slot (event-loop thread only)."""

    def __init__(self, stats: SharedStats, slot: int) -> None:
        self.row = stats.table[slot]

    def begin(self) -> None:
        self.row[IN_FLIGHT] += 1

    def end(self, variant: int, status: int, seconds: float) -> None:
        self.row[IN_FLIGHT] -= 1
        self.record(variant, status, seconds)

    def record(self, variant: int, status: int, seconds: float) -> None:
        """Count one answered request of variant ``variant`` (no in-flight change)."""
        row = self.row
        base = HEADER + variant * VARIANT_FIELDS
        row[base + INVOCATIONS] += 1
        if status >= 500:
            row[base + ERRORS_5XX] += 1
        elif status >= 400:
            row[base + ERRORS_4XX] += 1
        row[base + HISTOGRAM + bucket_of(seconds)] += 1

    def batch(self, rows: int, variant: int) -> None:
        """Count one predict call of variant ``variant`` over ``rows`` rows."""
        base = HEADER + variant * VARIANT_FIELDS
        self.row[base + PREDICT_CALLS] += 1
        self.row[base + PREDICT_ROWS] += rows

    @property
    def draining(self) -> bool:
        return bool(self.row[DRAIN])

    def set_ready(self) -> None:
        self.row[READY] = 1

    def set_not_accepting(self) -> None:
        """A draining worker has closed its listening socket: new connections go elsewhere."""
        self.row[READY] = 0


__all__ = [
    "DRAIN",
    "ERRORS_4XX",
    "ERRORS_5XX",
    "GENERATION",
    "HISTOGRAM",
    "INVOCATIONS",
    "IN_FLIGHT",
    "MAX_SLOTS",
    "MAX_VARIANTS",
    "PID",
    "PREDICT_CALLS",
    "PREDICT_ROWS",
    "READY",
    "SharedStats",
    "SlotWriter",
    "bucket_of",
    "percentiles",
    "variant_block",
]
