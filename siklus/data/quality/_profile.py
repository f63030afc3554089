"""Compute a dataset's profile with a handful of DuckDB aggregate queries.

Each kind of statistic is one query over all columns at once (per-column aggregates,
top values, histogram bins, correlations), never a Python loop over rows, so profiling
costs a few scans of the Parquet file whatever its size.

Definitions match pandas on the same data (docs/data-quality.md): missing = NULL or NaN;
``std`` has ``ddof=1``; quantiles interpolate linearly (DuckDB ``quantile_cont`` = pandas
``Series.quantile``); distinct counts are exact and ignore missing values.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from siklus.data.quality._correlation import cramers_v_matrix, pearson_matrix
from siklus.data.quality._duck import (
    column_kind,
    connect,
    fetch_dicts,
    is_integer_type,
    json_value,
    schema,
    value_expr,
)
from siklus.data.quality._findings import find_warnings
from siklus.data.quality._profile_model import QUANTILES, ColumnProfile, Histogram, Profile
from siklus.exceptions import InvalidParameter

Column = tuple[str, str]  # (name, DuckDB type)


def check_profile_options(top_k: int, bins: int) -> None:
    if not isinstance(top_k, int) or not 1 <= top_k <= 1000:
        raise InvalidParameter(f"top_k={top_k!r} is not valid: give an integer from 1 to 1000.")
    if not isinstance(bins, int) or not 1 <= bins <= 500:
        raise InvalidParameter(f"bins={bins!r} is not valid: give an integer from 1 to 500.")


def _has_epoch(duck_type: str) -> bool:
    """Dates and timestamps map to epoch seconds (histograms); a bare TIME does not."""
    return column_kind(duck_type) == "temporal" and not duck_type.upper().startswith("TIME ")


def _aggregates(con: duckdb.DuckDBPyConnection, columns: list[Column]) -> dict[str, Any]:
    """Every per-column statistic in one aggregate query; keys are ``s<i>_<stat>``."""
    items = ["count(*) AS n_rows"]
    levels = ", ".join(str(q) for _, q in QUANTILES)
    for i, (name, duck_type) in enumerate(columns):
        e, kind = value_expr(name, duck_type), column_kind(duck_type)
        items += [f"count({e}) AS s{i}_count", f"count(DISTINCT {e}) AS s{i}_distinct"]
        if kind == "numeric":
            x = f"CAST({e} AS DOUBLE)"
            items += [
                f"min({e}) AS s{i}_min",
                f"max({e}) AS s{i}_max",
                f"avg({x}) AS s{i}_mean",
                f"stddev_samp({x}) AS s{i}_std",
                f"quantile_cont({x}, [{levels}]) AS s{i}_quantiles",
            ]
        elif kind == "temporal":
            items += [f"min({e}) AS s{i}_min", f"max({e}) AS s{i}_max"]
            if _has_epoch(duck_type):
                items += [f"min(epoch({e})) AS s{i}_lo", f"max(epoch({e})) AS s{i}_hi"]
        elif kind == "categorical":
            length = f"length(CAST({e} AS VARCHAR))"
            items += [
                f"min({length}) AS s{i}_len_min",
                f"avg({length}) AS s{i}_len_mean",
                f"max({length}) AS s{i}_len_max",
            ]
    return fetch_dicts(con, f"SELECT {', '.join(items)} FROM data")[0]


def _top_values(
    con: duckdb.DuckDBPyConnection, columns: list[Column], stats: dict[str, Any], top_k: int
) -> dict[int, list[dict[str, Any]]]:
    """The ``top_k`` most frequent values of every column, in one UNION ALL query.

    Values travel as JSON text so columns of different types fit one result; ties in
    count are broken by the value itself, so the order is deterministic. A column whose
    values are all distinct (an id, a float measurement) skips the grouping: its top
    values are its ``top_k`` smallest, once each, which a top-N sort finds cheaply.
    """
    branches = []
    for i, (name, duck_type) in enumerate(columns):
        e = value_expr(name, duck_type)
        if stats[f"s{i}_distinct"] == stats[f"s{i}_count"]:
            counted = (
                f"SELECT {e} AS v, 1 AS n FROM data WHERE v IS NOT NULL ORDER BY v LIMIT {top_k}"
            )
        else:
            counted = f"SELECT {e} AS v, count(*) AS n FROM data WHERE v IS NOT NULL GROUP BY 1"
        branches.append(
            f"SELECT {i} AS col, CAST(to_json(v) AS VARCHAR) AS value, n, "
            f"row_number() OVER (ORDER BY n DESC, v) AS rank "
            f"FROM ({counted}) QUALIFY rank <= {top_k}"
        )
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(columns))}
    if not branches:
        return out
    sql = " UNION ALL ".join(f"({b})" for b in branches) + " ORDER BY col, rank"
    for col, value, n, _rank in con.execute(sql).fetchall():
        out[col].append({"value": json_value(json.loads(value)), "count": int(n)})
    return out


def _bin_plan(duck_type: str, lo: float, hi: float, bins: int) -> tuple[list[float], int] | None:
    """Equal-width bin edges over [lo, hi] (one bin per value for small integer ranges)."""
    if hi == lo:
        return None
    if is_integer_type(duck_type) and hi - lo + 1 <= bins:
        n = int(hi - lo) + 1
        return np.linspace(lo - 0.5, hi + 0.5, n + 1).tolist(), n
    return np.linspace(lo, hi, bins + 1).tolist(), bins


def _histograms(
    con: duckdb.DuckDBPyConnection,
    columns: list[Column],
    stats: dict[str, Any],
    bins: int,
) -> dict[int, Histogram]:
    """Equal-width histograms of numeric and time columns, all bins in one query.

    The bin of ``x`` is ``floor((x - lo) * nbins / (hi - lo))`` then nudged by one where
    floating-point rounding put ``x`` across an edge: numpy.histogram's exact rule, so
    the counts equal ``numpy.histogram(values, bins, range=(min, max))``.
    """
    plans: dict[int, tuple[list[float], int]] = {}
    out: dict[int, Histogram] = {}
    branches, params = [], []
    for i, (name, duck_type) in enumerate(columns):
        kind = column_kind(duck_type)
        if not stats[f"s{i}_count"] or kind not in ("numeric", "temporal"):
            continue
        if kind == "temporal" and not _has_epoch(duck_type):
            continue
        e = value_expr(name, duck_type)
        x = f"CAST({e} AS DOUBLE)" if kind == "numeric" else f"epoch({e})"
        lo_key, hi_key = (
            (f"s{i}_min", f"s{i}_max") if kind == "numeric" else (f"s{i}_lo", f"s{i}_hi")
        )
        lo, hi = float(stats[lo_key]), float(stats[hi_key])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            continue  # an infinite value: no finite bin edges exist
        plan = _bin_plan(duck_type, lo, hi, bins)
        if plan is None:  # one distinct value: a single bin around it, as numpy does
            out[i] = Histogram("bins", [int(stats[f"s{i}_count"])], edges=[lo - 0.5, lo + 0.5])
            continue
        edges, n = plan
        plans[i] = plan
        guess = f"least(CAST(floor((x - ?) * ?) AS BIGINT), {n - 1})"
        branches.append(
            f"SELECT {i} AS col, g - CAST(x < e[g + 1] AS INTEGER) "
            f"+ CAST(x >= e[g + 2] AND g != {n - 1} AS INTEGER) AS bin, count(*) AS n "
            f"FROM (SELECT x, {guess} AS g, ? AS e FROM (SELECT {x} AS x FROM data) "
            f"WHERE x IS NOT NULL) GROUP BY 1, 2"
        )
        params += [edges[0], n / (edges[-1] - edges[0]), edges]
    if branches:
        counts = {i: [0] * n for i, (_, n) in plans.items()}
        for col, b, n in con.execute(" UNION ALL ".join(branches), params).fetchall():
            counts[col][b] += int(n)
        for i, (edges, _) in plans.items():
            out[i] = Histogram("bins", counts[i], edges=edges)
    return out


def _top_histogram(top: list[dict[str, Any]], count: int) -> Histogram:
    labels = [str(item["value"]) for item in top]
    counts = [item["count"] for item in top]
    rest = count - sum(counts)
    if rest > 0:
        labels.append("(other)")
        counts.append(rest)
    return Histogram("top", counts, labels=labels)


def _duplicate_rows(con: duckdb.DuckDBPyConnection, rows: int) -> int | None:
    try:
        distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT * FROM data)").fetchone()
    except duckdb.Error:  # a column type DuckDB cannot compare (e.g. MAP)
        return None
    return rows - int(distinct[0]) if distinct else None


def _float(value: Any) -> float | None:
    """A statistic as a float; None when undefined or infinite (JSON has no infinity)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def _column(
    i: int, name: str, duck_type: str, rows: int, stats: dict[str, Any], top: list[dict[str, Any]]
) -> ColumnProfile:
    kind, count = column_kind(duck_type), int(stats[f"s{i}_count"])
    extra: dict[str, Any] = {}
    if kind in ("numeric", "temporal"):
        extra["min"] = json_value(stats[f"s{i}_min"])
        extra["max"] = json_value(stats[f"s{i}_max"])
    if kind == "numeric":
        extra["mean"] = _float(stats[f"s{i}_mean"])
        extra["std"] = _float(stats[f"s{i}_std"])
        levels = stats[f"s{i}_quantiles"] or [None] * len(QUANTILES)
        extra["quantiles"] = {
            label: _float(v) for (label, _), v in zip(QUANTILES, levels, strict=True)
        }
    if kind == "categorical":
        extra["length"] = {
            "min": _float(stats[f"s{i}_len_min"]),
            "mean": _float(stats[f"s{i}_len_mean"]),
            "max": _float(stats[f"s{i}_len_max"]),
        }
    return ColumnProfile(
        name=name,
        type=duck_type,
        kind=kind,
        count=count,
        missing=rows - count,
        missing_pct=100.0 * (rows - count) / rows if rows else 0.0,
        distinct=int(stats[f"s{i}_distinct"]),
        top_values=top,
        **extra,
    )


def compute_profile(
    path: str | os.PathLike[str],
    *,
    dataset: str = "",
    dataset_id: str = "",
    sha256: str = "",
    top_k: int = 10,
    bins: int = 20,
    cramers_v: bool = True,
) -> Profile:
    """Profile the Parquet file at ``path`` (what the profile job runs).

    Example:
        >>> profile = compute_profile("data.parquet")  # doctest: +SKIP
        >>> profile.column("age").quantiles["p50"]  # doctest: +SKIP

    Args:
        path: A local Parquet file.
        dataset, dataset_id, sha256: Recorded in the profile to say what was profiled.
        top_k: How many most-frequent values to keep per column.
        bins: Histogram bins for numeric and time columns.
        cramers_v: Also compute Cramér's V between categorical columns.

    Raises:
        InvalidParameter: ``top_k`` or ``bins`` out of range.
    """
    check_profile_options(top_k, bins)
    con = connect(path)
    try:
        columns = schema(con)
        stats = _aggregates(con, columns)
        rows = int(stats["n_rows"])
        tops = _top_values(con, columns, stats, top_k)
        histograms = _histograms(con, columns, stats, bins)
        profiles = []
        for i, (name, duck_type) in enumerate(columns):
            column = _column(i, name, duck_type, rows, stats, tops[i])
            histogram = histograms.get(i)
            if histogram is None and column.kind not in ("numeric", "temporal") and column.count:
                histogram = _top_histogram(tops[i], column.count)
            profiles.append(ColumnProfile(**{**column.__dict__, "histogram": histogram}))
        pearson = pearson_matrix(con, [(c.name, c.type) for c in profiles if _varies(c, "numeric")])
        cramers = (
            cramers_v_matrix(con, [(c.name, c.type) for c in profiles if _categories(c)])
            if cramers_v
            else None
        )
        duplicates = _duplicate_rows(con, rows)
    finally:
        con.close()
    return Profile(
        dataset=dataset,
        dataset_id=dataset_id,
        sha256=sha256,
        rows=rows,
        missing_cells=sum(c.missing for c in profiles),
        duplicate_rows=duplicates,
        columns=profiles,
        pearson=pearson,
        cramers_v=cramers,
        warnings=find_warnings(rows, profiles, duplicates, pearson, cramers),
        created_at=datetime.now(UTC).isoformat(),
    )


#: Columns with more categories than this are left out of Cramér's V (a contingency
#: table per pair grows with the product of the two category counts).
MAX_CATEGORIES = 50


def _varies(column: ColumnProfile, kind: str) -> bool:
    return column.kind == kind and column.distinct >= 2


def _categories(column: ColumnProfile) -> bool:
    return column.kind in ("categorical", "boolean") and 2 <= column.distinct <= MAX_CATEGORIES


__all__ = ["MAX_CATEGORIES", "check_profile_options", "compute_profile"]
