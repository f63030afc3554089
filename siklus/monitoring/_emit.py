"""Every statistic of an execution as a metric series (CloudWatch-style), for alarms.

Namespace :data:`NAMESPACE`; the first dimension names what was monitored: ``schedule``
for a scheduled execution, else ``endpoint`` or ``dataset``. Per-feature series add a
``feature`` dimension. One point per execution, stamped with the window's end (the
execution time when the window is open-ended), so re-running a window overwrites
nothing and alarms see the data time, not the run time.

Names (see ``docs/monitoring.md``): dataset level :data:`DATASET_METRICS`; per feature
:data:`FEATURE_METRICS`; model quality: every numeric metric of ``siklus.evaluation``
by its own name (``accuracy``, ``recall``, ``f1``, ``roc_auc``, ``rmse``, …) plus
``ground_truth_matched``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from siklus.store import WorkspaceContext

if TYPE_CHECKING:
    from siklus.monitoring._execution import MonitoringResult

NAMESPACE = "siklus/monitoring"

DATASET_METRICS = (
    "violations_count",
    "data_quality_violations",
    "drift_violations",
    "model_quality_violations",
    "drifted_features",
    "item_count",
    "corrupt_records",
)
#: ``feature_<statistic>`` for each drift statistic, plus completeness and the flag.
FEATURE_METRICS = (
    "feature_drift_psi",
    "feature_drift_ks",
    "feature_drift_ks_p_value",
    "feature_drift_chi_square",
    "feature_drift_chi_square_p_value",
    "feature_drift_jensen_shannon",
    "feature_drift_wasserstein",
    "feature_drift_wasserstein_normalized",
    "feature_drift_l_infinity",
    "feature_drifted",
    "feature_completeness",
    "feature_mean",
)

_DRIFT_KEYS = {
    "psi": "feature_drift_psi",
    "ks": "feature_drift_ks",
    "ks_p_value": "feature_drift_ks_p_value",
    "chi_square": "feature_drift_chi_square",
    "chi_square_p_value": "feature_drift_chi_square_p_value",
    "jensen_shannon": "feature_drift_jensen_shannon",
    "wasserstein": "feature_drift_wasserstein",
    "wasserstein_normalized": "feature_drift_wasserstein_normalized",
    "l_infinity": "feature_drift_l_infinity",
}


def dimensions_of(result: MonitoringResult) -> dict[str, str]:
    if result.schedule:
        return {"schedule": result.schedule}
    if result.endpoint:
        return {"endpoint": result.endpoint}
    return {"dataset": str(result.dataset)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def emit_metrics(
    ctx: WorkspaceContext, result: MonitoringResult, statistics: dict[str, Any]
) -> int:
    """Write the execution's metric points; returns how many."""
    when = result.window[1] if result.window[1] is not None else result.started_at
    base = dimensions_of(result)
    series: list[tuple[str, float, dict[str, str]]] = []
    checks = [v["constraint_check_type"] for v in result.violations]
    drift = checks.count("baseline_drift_check")
    quality = sum(1 for v in result.violations if "metric_name" in v)
    series += [
        ("violations_count", len(checks), base),
        ("data_quality_violations", len(checks) - drift - quality, base),
        ("drift_violations", drift, base),
        ("model_quality_violations", quality, base),
        ("drifted_features", len(result.drifted_features), base),
        ("item_count", result.item_count, base),
        ("corrupt_records", len(result.corrupt_records), base),
    ]
    for d in result.drift:
        dims = {**base, "feature": d.feature}
        for key, metric in _DRIFT_KEYS.items():
            value = _number(d.statistics.get(key))
            if value is not None:
                series.append((metric, value, dims))
        series.append(("feature_drifted", float(d.drifted), dims))
    for feature in statistics["features"]:
        dims = {**base, "feature": feature["name"]}
        completeness = _number(feature.get("completeness"))
        if completeness is not None:
            series.append(("feature_completeness", completeness, dims))
        mean = _number((feature.get("numerical_statistics") or {}).get("mean"))
        if mean is not None:
            series.append(("feature_mean", mean, dims))
    quality_block = result.model_quality or {}
    if quality_block.get("task"):
        series.append(("ground_truth_matched", float(quality_block.get("matched", 0)), base))
    for name, value in (quality_block.get("metrics") or {}).items():
        number = _number(value)
        if number is not None:
            series.append((name, number, base))
    for metric, value, dims in series:
        ctx.store.put_metric_data(NAMESPACE, metric, [(when, float(value))], dimensions=dims)
    return len(series)


__all__ = ["DATASET_METRICS", "FEATURE_METRICS", "NAMESPACE", "dimensions_of", "emit_metrics"]
