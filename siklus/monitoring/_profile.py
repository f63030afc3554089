"""Per-column summaries of a table or of captured rows, and their ``statistics.json`` form.

A :class:`ColumnProfile` is what every check needs from one column: how many rows, how
many missing, how many present values of each SageMaker type (``Integral``,
``Fractional``, ``String``), the sorted numeric values and the category counts. It is
built straight from an Arrow column (one typed column, vectorised: a dataset version)
or from the Python values of captured JSON rows (where one column can hold mixed types,
which is what ``data_type_check`` looks for).

:func:`feature_statistics` writes the SageMaker Model Monitor ``statistics.json`` entry of
a profile (``numerical_statistics`` with a KLL-shaped distribution, or
``string_statistics`` with categorical buckets) plus a ``siklus`` block with what drift
needs and the open format has no field for: the weight of each sketch value and the
counts of the baseline in its drift bins.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siklus.monitoring._drift import bin_counts

INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"
TYPES = (INTEGRAL, FRACTIONAL, STRING, UNKNOWN)
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

#: Values kept in a numeric column's quantile sketch (all of them when there are fewer).
SKETCH_SIZE = 1024
#: Buckets of the equal-width histogram in ``statistics.json`` (SageMaker's fixed 10).
HISTOGRAM_BUCKETS = 10
#: Quantile bins of the baseline on which PSI and Jensen-Shannon compare numeric columns.
DRIFT_BINS = 10
#: Most frequent categories listed per string column; the rest are counted together.
MAX_CATEGORIES = 1000
#: Name of the bucket holding the categories beyond :data:`MAX_CATEGORIES`.
OTHER = "__other__"


@dataclass
class ColumnProfile:
    """One column: counts per type, sorted numbers, category counts."""

    name: str
    rows: int
    missing: int
    type_counts: dict[str, int] = field(default_factory=dict)
    #: Present numeric values, sorted ascending (empty when there are none).
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: Present string values and their counts.
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def completeness(self) -> float:
        return self.present / self.rows if self.rows else 1.0

    @property
    def inferred_type(self) -> str:
        """The type of most present values (Integral + Fractional counts as Fractional)."""
        counts = self.type_counts
        numeric = counts.get(INTEGRAL, 0) + counts.get(FRACTIONAL, 0)
        if not numeric and not counts.get(STRING, 0):
            return UNKNOWN
        if counts.get(STRING, 0) > numeric:
            return STRING
        return FRACTIONAL if counts.get(FRACTIONAL, 0) else INTEGRAL


def profile_arrow(name: str, column: pa.ChunkedArray | pa.Array) -> ColumnProfile:
    """Profile one typed Arrow column (nulls and float NaN count as missing)."""
    rows = len(column)
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        present = pc.drop_null(column)
        values = np.asarray(present.to_numpy(zero_copy_only=False), dtype=np.float64)
        if not pa.types.is_integer(kind):
            values = values[~np.isnan(values)]
        values.sort()
        type_name = INTEGRAL if pa.types.is_integer(kind) else FRACTIONAL
        return ColumnProfile(name, rows, rows - len(values), {type_name: len(values)}, values)
    if pa.types.is_boolean(kind):
        column = pc.if_else(column, "true", "false")
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = pc.cast(column, pa.string())
    present = pc.drop_null(column)
    counts = pc.value_counts(present)
    categories = {
        str(v): int(c)
        for v, c in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
    }
    return ColumnProfile(
        name, rows, rows - len(present), {STRING: len(present)}, categories=categories
    )


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return STRING
    if isinstance(value, int):
        return INTEGRAL
    if isinstance(value, float):
        return None if math.isnan(value) else FRACTIONAL
    return STRING


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def profile_values(name: str, values: Sequence[Any]) -> ColumnProfile:
    """Profile one column of captured JSON values, which may mix types."""
    numbers: list[float] = []
    texts: list[str] = []
    counts: Counter[str] = Counter()
    missing = 0
    for value in values:
        kind = _kind(value)
        if kind is None:
            missing += 1
            continue
        counts[kind] += 1
        if kind == STRING:
            texts.append(_as_text(value))
        else:
            numbers.append(float(value))
    array = np.sort(np.asarray(numbers, dtype=np.float64))
    return ColumnProfile(name, len(values), missing, dict(counts), array, dict(Counter(texts)))


def sketch(values: np.ndarray, size: int = SKETCH_SIZE) -> tuple[np.ndarray, float]:
    """Quantile sketch of sorted values: all of them (weight 1) when at most ``size``,
    else ``size`` order statistics at evenly spaced ranks, each standing for n/size rows."""
    n = len(values)
    if n <= size:
        return values, 1.0
    ranks = ((np.arange(size) + 0.5) * n / size).astype(np.int64)
    return values[ranks], n / size


def drift_edges(values: np.ndarray, bins: int = DRIFT_BINS) -> list[float]:
    """Inner edges of the baseline's quantile bins (ties merged, so possibly fewer)."""
    if not len(values):
        return []
    inner = np.quantile(values, np.arange(1, bins) / bins)
    edges = np.unique(inner)
    # A bin [e, next) must hold values: drop an edge equal to the minimum.
    return [float(e) for e in edges if e > values[0]]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _histogram(values: np.ndarray) -> list[dict[str, float]]:
    lo, hi = float(values[0]), float(values[-1])
    if lo == hi:
        return [{"lower_bound": lo, "upper_bound": hi, "count": float(len(values))}]
    edges = np.linspace(lo, hi, HISTOGRAM_BUCKETS + 1)
    counts = bin_counts(values, edges[1:-1])
    return [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(c)}
        for i, c in enumerate(counts)
    ]


def feature_statistics(
    profile: ColumnProfile,
    *,
    as_type: str | None = None,
    sketch_size: int = SKETCH_SIZE,
    bins: int = DRIFT_BINS,
    edges: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The ``statistics.json`` entry of one column.

    Args:
        profile: The column.
        as_type: Describe it as this type (the baseline's) instead of its own.
        sketch_size: Values kept in the quantile sketch.
        bins: Quantile bins for drift (baseline only, when ``edges`` is None).
        edges: Inner drift-bin edges to count on (a current window uses the baseline's).
    """
    kind = as_type or profile.inferred_type
    common = {"num_present": profile.present, "num_missing": profile.missing}
    entry: dict[str, Any] = {"name": profile.name, "inferred_type": kind}
    if kind in NUMERIC_TYPES:
        values = profile.values
        numeric: dict[str, Any] = {"common": {**common, "num_present": len(values)}}
        if len(values):
            kept, weight = sketch(values, sketch_size)
            numeric.update(
                mean=_finite(values.mean()),
                sum=_finite(values.sum()),
                std_dev=_finite(values.std()),
                min=float(values[0]),
                max=float(values[-1]),
                distribution={
                    "kll": {
                        "buckets": _histogram(values),
                        "sketch": {
                            "parameters": {"c": 1.0, "k": sketch_size},
                            "data": [kept.tolist()],
                        },
                    }
                },
            )
            inner = drift_edges(values, bins) if edges is None else list(edges)
            entry["siklus"] = {
                "sketch_weight": weight,
                "drift_bins": {"edges": inner, "counts": bin_counts(values, inner).tolist()},
            }
        entry["numerical_statistics"] = numeric
        return entry
    categories = profile.categories
    ranked = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
    kept_items = ranked[:MAX_CATEGORIES]
    other = sum(c for _, c in ranked[MAX_CATEGORIES:])
    entry["string_statistics"] = {
        "common": {**common, "num_present": sum(categories.values())},
        "distinct_count": len(categories),
        "distribution": {
            "categorical": {"buckets": [{"value": v, "count": c} for v, c in kept_items]}
        },
    }
    if other:
        entry["siklus"] = {"other_count": other}
    return entry


def statistics_document(features: list[dict[str, Any]], item_count: int) -> dict[str, Any]:
    """The whole ``statistics.json``."""
    return {"version": 0, "dataset": {"item_count": item_count}, "features": features}


__all__ = [
    "DRIFT_BINS",
    "FRACTIONAL",
    "HISTOGRAM_BUCKETS",
    "INTEGRAL",
    "MAX_CATEGORIES",
    "NUMERIC_TYPES",
    "OTHER",
    "SKETCH_SIZE",
    "STRING",
    "TYPES",
    "UNKNOWN",
    "ColumnProfile",
    "drift_edges",
    "feature_statistics",
    "profile_arrow",
    "profile_values",
    "sketch",
    "statistics_document",
]
