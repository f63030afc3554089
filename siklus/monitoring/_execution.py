"""One monitoring execution: current data against a baseline, results stored and emitted.

The current data is an endpoint's captured requests in a time window (read through
:mod:`siklus.store.capture`, never through ``siklus.serving``) or a dataset version. A
dataset is read one column at a time from its Parquet file on a thread pool (numpy's
sort, the one O(n log n) step, releases the GIL), so memory stays near one column per
thread, not the whole table.

Each execution writes ``statistics.json`` (of the window), ``constraint_violations.json``
and ``report.html`` under ``<workspace>/.siklus/monitoring/executions/<id>/`` (written to a
temporary folder and renamed, so a reader never sees half a report), stores the same
files as artifacts, records a ``monitoring-execution`` resource, appends an event to the
schedule (or to the baseline for on-demand runs) and emits every statistic as a metric
series in namespace :data:`NAMESPACE`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from siklus.exceptions import InvalidParameter
from siklus.monitoring._baseline import BASELINE_KIND, Baseline, dataset_ref, load_baseline
from siklus.monitoring._checks import (
    FeatureDrift,
    column_set_violations,
    column_violations,
    feature_drift,
    judge_drift,
)
from siklus.monitoring._emit import emit_metrics
from siklus.monitoring._model_quality import (
    compute_metrics,
    ground_truth,
    quality_violations,
    usable_labels,
)
from siklus.monitoring._profile import (
    NUMERIC_TYPES,
    ColumnProfile,
    feature_statistics,
    profile_arrow,
    profile_values,
    statistics_document,
)
from siklus.monitoring._report import render_report
from siklus.store import WorkspaceContext
from siklus.store.capture import capture_root, read_capture

KINDS = ("data_quality", "data_drift", "model_quality")
EXECUTION_KIND = "monitoring-execution"
SCHEDULE_KIND = "monitoring-schedule"


@dataclass
class MonitoringResult:
    """What one execution found; :meth:`to_dict` is what the report and the resource hold."""

    execution_id: str
    baseline: str
    kinds: list[str]
    started_at: float
    schedule: str | None = None
    endpoint: str | None = None
    dataset: str | None = None
    window: tuple[float | None, float | None] = (None, None)
    item_count: int = 0
    violations: list[dict[str, str]] = field(default_factory=list)
    drift: list[FeatureDrift] = field(default_factory=list)
    model_quality: dict[str, Any] | None = None
    corrupt_records: list[dict[str, Any]] = field(default_factory=list)
    finished_at: float | None = None
    paths: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[str]:
        return [d.feature for d in self.drift if d.drifted]

    def violations_of(self, check: str) -> list[dict[str, str]]:
        return [v for v in self.violations if v["constraint_check_type"] == check]

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "baseline": self.baseline,
            "schedule": self.schedule,
            "endpoint": self.endpoint,
            "dataset": self.dataset,
            "window": list(self.window),
            "kinds": list(self.kinds),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "item_count": self.item_count,
            "violations": self.violations,
            "drift": [d.to_dict() for d in self.drift],
            "model_quality": self.model_quality,
            "corrupt_records": self.corrupt_records,
            "paths": self.paths,
            "artifacts": self.artifacts,
        }


def _check_kinds(kinds: Iterable[str]) -> list[str]:
    kinds = list(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise InvalidParameter(
            f"Monitoring kinds {bad or kinds} are not valid: choose from {list(KINDS)}."
        )
    return kinds


@dataclass
class _Column:
    statistics: dict[str, Any]
    drift: FeatureDrift | None
    violations: list[dict[str, str]]


def _evaluate_column(baseline: Baseline, profile: ColumnProfile, kinds: list[str]) -> _Column:
    """Everything about one column, so that its values can be dropped right after."""
    stats = baseline.features.get(profile.name)
    as_type = stats["inferred_type"] if stats else None
    edges = None
    if stats and as_type in NUMERIC_TYPES:
        edges = (stats.get("siklus") or {}).get("drift_bins", {}).get("edges")
    current = feature_statistics(profile, as_type=as_type, edges=edges)
    current["completeness"] = profile.completeness
    drift = feature_drift(baseline.constraints, stats, profile) if "data_drift" in kinds else None
    found = column_violations(baseline.constraints, profile) if "data_quality" in kinds else []
    return _Column(current, drift, found)


def _captured(
    ctx: WorkspaceContext, endpoint: str, window: tuple[float | None, float | None]
) -> tuple[dict[str, ColumnProfile], list[Any], list[dict[str, Any]], int]:
    scan = read_capture(ctx.root, endpoint, start=window[0], end=window[1])
    corrupt = [{"file": f, "line": n, "reason": r} for f, n, r in scan.errors]
    columns: dict[str, list[Any]] = {}
    total = 0
    for record in scan.records:
        for name in record.columns:
            columns.setdefault(name, [None] * total)
        index = {name: i for i, name in enumerate(record.columns)}
        for name, values in columns.items():
            i = index.get(name)
            values.extend([None] * len(record.rows) if i is None else (r[i] for r in record.rows))
        total += len(record.rows)
    profiles = {name: profile_values(name, values) for name, values in columns.items()}
    return profiles, scan.records, corrupt, total


def _window_quality(
    ctx: WorkspaceContext, baseline: Baseline, endpoint: str, records: Sequence[Any]
) -> dict[str, Any]:
    quality = baseline.model_quality or {}
    truth = ground_truth(ctx, endpoint)
    y_true, y_pred = [], []
    for record in records:
        for row_id, prediction in zip(record.row_ids, record.predictions, strict=False):
            if row_id in truth and prediction is not None:
                y_true.append(truth[row_id])
                y_pred.append(prediction)
    return _quality(baseline, quality, y_true, y_pred)


def _dataset_quality(ctx: WorkspaceContext, baseline: Baseline, path: Path) -> dict[str, Any]:
    quality = baseline.model_quality or {}
    label = baseline.body.get("label")
    names = pq.read_schema(path).names
    if not label or label not in names:
        return {"task": quality.get("task"), "matched": 0, "note": f"no label column {label!r}"}
    frame = pq.read_table(path).to_pandas()
    y_true = frame[label].tolist()
    if "prediction" in frame.columns:
        y_pred = frame["prediction"].tolist()
    else:
        from siklus.training import load_model

        loaded = load_model(ctx, ctx.store.get_model(quality["model_id"]))
        x = loaded.conform(frame.drop(columns=[label]), allow_extra=True)
        y_pred = loaded.estimator.predict(x).tolist()
    return _quality(baseline, quality, y_true, y_pred)


def _quality(
    baseline: Baseline, quality: dict[str, Any], y_true: list[Any], y_pred: list[Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "task": quality.get("task"),
        "matched": len(y_true),
        "baseline_metrics": {
            k: v for k, v in (quality.get("metrics") or {}).items() if isinstance(v, (int, float))
        },
    }
    if not y_true:
        out["note"] = "no ground truth matched the captured rows of this window"
        return out
    labels = quality.get("labels")
    y_true, y_pred, bad = usable_labels(y_true, y_pred, labels, quality.get("task"))
    if bad:
        out["unusable_labels"] = len(bad)
        out["note"] = (
            f"{len(bad)} label(s) are not of the model's class type and were left out, "
            f"e.g. {bad[:3]!r}; upload corrected ground truth for those rows"
        )
    out["matched"] = len(y_true)
    if not y_true:
        return out
    metrics = compute_metrics(
        quality["task"],
        y_true,
        y_pred,
        labels=labels,
        positive_label=quality.get("positive_label"),
    )
    out["metrics"] = {
        k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return out


def run_monitoring(
    ctx: WorkspaceContext,
    *,
    baseline: str,
    endpoint: str | None = None,
    dataset: str | None = None,
    window: tuple[float | None, float | None] = (None, None),
    kinds: Iterable[str] = KINDS,
    schedule: str | None = None,
    threads: int | None = None,
    emit: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> MonitoringResult:
    """Check an endpoint's captured window or a dataset version against a baseline.

    Example:
        >>> result = run_monitoring(ctx, baseline="bc", endpoint="bc",
        ...                         window=(time.time() - 3600, None))  # doctest: +SKIP
        >>> result.violations, result.drifted_features  # doctest: +SKIP

    Args:
        ctx: The workspace.
        baseline: Name of a stored baseline.
        endpoint: Endpoint whose captured requests are checked (or ``dataset``).
        dataset: ``name``, ``name:version`` or ``name@version`` to check instead.
        window: ``(start, end)`` epoch seconds of captured requests, ``start <= t < end``;
            None leaves that side open.
        kinds: Any of ``data_quality``, ``data_drift``, ``model_quality``.
        schedule: The schedule this execution belongs to (names its metric dimension and
            receives the event).
        threads: Columns processed in parallel (default: CPUs).
        emit: Emit metric series (also switched off by ``emit_metrics: Disabled``).
        on_progress: Called with a short message per step (progress display).

    Returns:
        The result; its ``paths`` point at the stored report files.

    Raises:
        InvalidParameter: neither or both of endpoint and dataset, unknown kinds, or a
            window whose start is not before its end.
        NotFound: no such baseline or dataset; an endpoint that neither exists nor has
            captured data.
    """
    kinds = _check_kinds(kinds)
    if (endpoint is None) == (dataset is None):
        raise InvalidParameter("Give exactly one of endpoint (captured data) or dataset.")
    start, end = window
    if start is not None and end is not None and start >= end:
        raise InvalidParameter(
            f"The window is empty: its start ({start}) is not before its end ({end}); "
            "give an earlier start (e.g. --since 2h --until 1h)."
        )
    say = on_progress or (lambda _message: None)
    started = time.time()
    base = load_baseline(ctx, baseline)
    if endpoint is not None and not capture_root(ctx.root, endpoint).exists():
        # No captured data ever: a misspelt name must not pass as "0 rows, no violations".
        # A known endpoint that has captured nothing yet is an empty window, not an error.
        ctx.store.get_endpoint(endpoint)  # NotFound names the known endpoints
    result = MonitoringResult(
        execution_id=f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))}-"
        f"{uuid.uuid4().hex[:8]}",
        baseline=baseline,
        kinds=kinds,
        started_at=started,
        schedule=schedule,
        endpoint=endpoint,
        window=window,
    )
    ignore = {base.body.get("label"), *base.body.get("exclude", []), "prediction"}
    if endpoint is not None:
        say(f"reading captured data of endpoint {endpoint}")
        profiles, records, corrupt, rows = _captured(ctx, endpoint, window)
        result.corrupt_records, result.item_count = corrupt, rows
        columns = list(profiles)
        say(f"checking {len(columns)} columns of {rows} captured rows")
        with ThreadPoolExecutor(max_workers=threads) as pool:
            evaluated = list(
                pool.map(lambda p: _evaluate_column(base, p, kinds), profiles.values())
            )
    else:
        from siklus.data import resolve

        version = resolve(ctx, dataset_ref(dataset or ""))
        result.dataset = version.ref
        path = ctx.artifacts.local_path(version.sha256)
        columns = pq.read_schema(path).names
        result.item_count = version.row_count
        say(f"checking {len(columns)} columns of {version.row_count:,} rows of {version.ref}")

        def one(column: str) -> _Column:
            profile = profile_arrow(column, pq.read_table(path, columns=[column])[column])
            return _evaluate_column(base, profile, kinds)

        checked = [c for c in columns if c not in ignore]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            evaluated = list(pool.map(one, checked))
        records = []
    if "data_quality" in kinds:
        result.violations += column_set_violations(
            base.constraints, columns, ignore={c for c in ignore if c}
        )
    for column in evaluated:
        result.violations += column.violations
    drifts = [c.drift for c in evaluated if c.drift is not None]
    if "data_drift" in kinds:
        result.violations += judge_drift(base.constraints, drifts)
        result.drift = drifts
    if "model_quality" in kinds:
        say("computing model quality")
        if not base.model_quality:
            result.model_quality = {
                "matched": 0,
                "note": f"baseline {baseline!r} has no model-quality baseline (give it a model "
                "and a label)",
            }
        else:
            if endpoint is not None:
                quality = _window_quality(ctx, base, endpoint, records)
            else:
                quality = _dataset_quality(ctx, base, path)
            result.model_quality = quality
            result.violations += quality_violations(base.constraints, quality.get("metrics", {}))
    statistics = statistics_document([c.statistics for c in evaluated], result.item_count)
    result.finished_at = time.time()
    _store(ctx, result, statistics)
    if emit and base.constraints.monitoring_config.emit_metrics == "Enabled":
        say("emitting metrics")
        emit_metrics(ctx, result, statistics)
    return result


def _store(ctx: WorkspaceContext, result: MonitoringResult, statistics: dict[str, Any]) -> None:
    """Write the three files (atomically, by folder rename), artifacts, resource, event."""
    summary = result.to_dict()
    files = {
        "statistics": ("statistics.json", json.dumps(statistics, indent=1, allow_nan=False)),
        "violations": (
            "constraint_violations.json",
            json.dumps({"violations": result.violations}, indent=1),
        ),
        "report": ("report.html", render_report(summary)),
    }
    parent = ctx.state_dir / "monitoring" / "executions"
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / result.execution_id
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
    try:
        for key, (filename, text) in files.items():
            data = text.encode("utf-8")
            (tmp / filename).write_bytes(data)
            result.artifacts[key] = ctx.artifacts.put_bytes(data)
            result.paths[key] = str(final / filename)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    body = {k: v for k, v in result.to_dict().items() if k != "drift"}
    body["drifted_features"] = result.drifted_features
    body["violations_count"] = len(result.violations)
    ctx.store.put_resource(EXECUTION_KIND, result.execution_id, body, expected_revision=0)
    event = {
        "execution_id": result.execution_id,
        "baseline": result.baseline,
        "window": list(result.window),
        "item_count": result.item_count,
        "violations_count": len(result.violations),
        "drifted_features": result.drifted_features,
        "corrupt_records": len(result.corrupt_records),
        "paths": result.paths,
        "artifacts": result.artifacts,
    }
    if result.schedule:
        ctx.store.append_event(SCHEDULE_KIND, result.schedule, event)
    else:
        ctx.store.append_event(BASELINE_KIND, result.baseline, event)
    for sha in result.artifacts.values():
        ctx.store.add_lineage(
            (EXECUTION_KIND, result.execution_id), ("artifact", sha), "monitoring-report"
        )


__all__ = ["EXECUTION_KIND", "KINDS", "SCHEDULE_KIND", "MonitoringResult", "run_monitoring"]
