"""Candidate configurations and how the results turn into a recommendation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from siklus.exceptions import InvalidParameter

RUNTIMES = ("native", "onnx")
#: Rows per request tried by default: one interactive row, a small and a large batch.
DEFAULT_BATCH_SIZES = (1, 10, 100)
DEFAULT_WORKERS = (1, 2)
MAX_BATCH_SIZE = 100_000


@dataclass(frozen=True)
class Candidate:
    """One configuration to load-test."""

    runtime: str
    batch_size: int
    workers: int

    @property
    def label(self) -> str:
        plural = "s" if self.workers != 1 else ""
        return f"{self.runtime}, batch {self.batch_size}, {self.workers} worker{plural}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive_ints(name: str, values: Iterable[Any], upper: int) -> list[int]:
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
            raise InvalidParameter(f"{name} must be whole numbers in 1..{upper}; got {value!r}.")
        if value not in out:
            out.append(value)
    if not out:
        raise InvalidParameter(f"Give at least one value for {name}.")
    return out


def candidate_grid(
    runtimes: Sequence[str], batch_sizes: Sequence[int], workers: Sequence[int]
) -> list[Candidate]:
    """Every combination, in a stable order (runtime, then workers, then batch size).

    Raises:
        InvalidParameter: An unknown runtime, or a batch size / worker count out of range.
    """
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown or not runtimes:
        raise InvalidParameter(f"Runtimes must be among {list(RUNTIMES)}; got {list(runtimes)}.")
    sizes = _positive_ints("batch sizes", batch_sizes, MAX_BATCH_SIZE)
    counts = _positive_ints("worker counts", workers, 32)  # an endpoint runs at most 32
    return [
        Candidate(runtime, size, count)
        for runtime in dict.fromkeys(runtimes)
        for count in counts
        for size in sizes
    ]


def choose(results: Sequence[dict[str, Any]], p99_ms: float) -> tuple[dict[str, Any] | None, str]:
    """The cheapest result meeting ``p99 <= p99_ms`` without errors, and a sentence why.

    Ties in cost go to the lower p99.
    """
    fitting = [
        r
        for r in results
        if r.get("p99_ms") is not None
        and r["errors"] == 0
        and r["p99_ms"] <= p99_ms
        and math.isfinite(r["cost_per_million"])
    ]
    if fitting:
        best = min(fitting, key=lambda r: (r["cost_per_million"], r["p99_ms"]))
        return best, (
            f"Cheapest configuration meeting p99 <= {p99_ms:g} ms: {best['label']} "
            f"(p99 {best['p99_ms']:.2f} ms, {best['rows_per_second']:.0f} inferences/s, "
            f"{best['cost_per_million']:.4f} {best.get('currency', 'USD')} per million)."
        )
    measured = [r for r in results if r.get("p99_ms") is not None]
    if not measured:
        return None, "No candidate answered successfully; see the notes of each candidate."
    fastest = min(measured, key=lambda r: r["p99_ms"])
    return None, (
        f"No candidate meets p99 <= {p99_ms:g} ms; the lowest p99 was {fastest['p99_ms']:.2f} "
        f"ms ({fastest['label']}). Relax the target, use smaller batches or a faster runtime."
    )
