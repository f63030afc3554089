"""Data quality (SageMaker's six checks) and per-feature data drift against a baseline.

Violations use ``constraint_violations.json``'s shape: ``feature_name``,
``constraint_check_type`` (one of :data:`CHECK_TYPES`) and a ``description`` that says
what was expected and what was observed. Drift of a feature is reported as a
``baseline_drift_check`` violation; its statistics (PSI, KS, chi-square, Jensen-Shannon,
Wasserstein, L-infinity) are returned per feature whether or not they flag.

How a feature is flagged (``drift_method``, per feature via ``monitoringConfigOverrides``):

* ``auto`` (default): when either side has fewer than ``large_sample_size`` values, a
  hypothesis test — KS (numeric) or chi-square (categorical) — with ``p_value_threshold``
  shared by all compared features (Bonferroni), so 30 unchanged features do not raise
  1.5 false alarms per window on average. With more values every p-value goes to zero
  for shifts too small to matter, so the decision switches to effect sizes: PSI,
  Jensen-Shannon distance, or the Wasserstein distance in baseline standard deviations
  above their thresholds.
* ``psi``, ``ks``, ``chi_square``, ``jensen_shannon``, ``wasserstein``: that statistic alone.
* ``sagemaker``: SageMaker's rule — numeric KS distance above ``comparison_threshold``;
  categorical L-infinity distance above ``categorical_comparison_threshold``
  (``categorical_drift_method: LInfinity``) or chi-square p below ``p_value_threshold``
  (``ChiSquared``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siklus.monitoring._constraints import Constraints
from siklus.monitoring._drift import (
    bin_counts,
    chi_square,
    jensen_shannon,
    ks_wasserstein,
    l_infinity,
    psi,
)
from siklus.monitoring._profile import (
    FRACTIONAL,
    INTEGRAL,
    NUMERIC_TYPES,
    OTHER,
    STRING,
    UNKNOWN,
    ColumnProfile,
)

CHECK_TYPES = (
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
)


def violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def _pct(share: float) -> str:
    return f"{share * 100:.2f}%"


# -- data quality ----------------------------------------------------------------------------
def column_set_violations(
    constraints: Constraints, columns: Iterable[str], *, ignore: Iterable[str] = ()
) -> list[dict[str, str]]:
    """``missing_column_check`` and ``extra_column_check`` of the current column set."""
    if constraints.monitoring_config.evaluate_constraints != "Enabled":
        return []
    present = set(columns)
    expected = {f.name for f in constraints.features}
    found = [
        violation(
            name,
            "extra_column_check",
            f"Column {name!r} is not in the baseline ({len(expected)} columns); add it to "
            "constraints.json or stop sending it.",
        )
        for name in sorted(present - expected - set(ignore))
    ]
    found += [
        violation(
            f.name,
            "missing_column_check",
            f"Column {f.name!r} of the baseline is missing from the current data.",
        )
        for f in constraints.features
        if f.name not in present
    ]
    return found


def column_violations(constraints: Constraints, profile: ColumnProfile) -> list[dict[str, str]]:
    """``data_type_check``, ``completeness_check`` and ``categorical_values_check`` of one
    column (none for a column the baseline does not know)."""
    feature = constraints.feature(profile.name)
    if feature is None or constraints.monitoring_config.evaluate_constraints != "Enabled":
        return []
    settings = constraints.drift_settings(feature.name)
    found = _type_check(feature.inferred_type, profile, settings, feature)
    if (
        feature.completeness is not None
        and profile.rows
        and profile.completeness < feature.completeness - 1e-12
    ):
        found.append(
            violation(
                feature.name,
                "completeness_check",
                "Data completeness requirement is not met. Expected: "
                f"{_pct(feature.completeness)}. Observed: only "
                f"{_pct(profile.completeness)} of {profile.rows} values are not null.",
            )
        )
    domains = feature.string_constraints.domains if feature.string_constraints else None
    if domains and profile.categories:
        allowed = set(domains)
        total = sum(profile.categories.values())
        unknown = {v: c for v, c in profile.categories.items() if v not in allowed}
        share = sum(unknown.values()) / total
        if share > settings["domain_content_threshold"]:
            shown = ", ".join(repr(v) for v in sorted(unknown, key=unknown.__getitem__)[-5:])
            found.append(
                violation(
                    feature.name,
                    "categorical_values_check",
                    f"{_pct(share)} of values are outside the baseline domain (allowed "
                    f"{_pct(settings['domain_content_threshold'])}); unknown values "
                    f"include {shown}.",
                )
            )
    return found


def _type_check(
    expected: str, profile: ColumnProfile, settings: Mapping[str, Any], feature: Any
) -> list[dict[str, str]]:
    present = sum(profile.type_counts.values())
    if expected == UNKNOWN or not present:
        return []
    counts = profile.type_counts
    if expected == INTEGRAL:
        matching = counts.get(INTEGRAL, 0)
    elif expected == FRACTIONAL:
        matching = counts.get(INTEGRAL, 0) + counts.get(FRACTIONAL, 0)
    else:
        matching = counts.get(STRING, 0)
    share = matching / present
    found = []
    if 1 - share > settings["datatype_check_threshold"]:
        found.append(
            violation(
                profile.name,
                "data_type_check",
                f"Data type match requirement is not met. Expected data type: {expected}, "
                f"expected match: {_pct(1 - settings['datatype_check_threshold'])}. Observed: "
                f"only {_pct(share)} of data is {expected} (types seen: {dict(counts)}).",
            )
        )
    non_negative = feature.num_constraints and feature.num_constraints.is_non_negative
    if non_negative and len(profile.values) and profile.values[0] < 0:
        negatives = int(np.searchsorted(profile.values, 0.0, side="left"))
        found.append(
            violation(
                profile.name,
                "data_type_check",
                f"num_constraints.is_non_negative is not met: {negatives} negative value(s), "
                f"minimum {profile.values[0]:g}.",
            )
        )
    return found


# -- drift -----------------------------------------------------------------------------------
@dataclass
class FeatureDrift:
    """Drift statistics of one feature and whether they flag it."""

    feature: str
    kind: str  # "numeric" | "categorical"
    n_baseline: int
    n_current: int
    method: str
    statistics: dict[str, float | None] = field(default_factory=dict)
    drifted: bool = False
    reason: str = ""
    #: Shared bins for the report: labels, baseline counts, current counts.
    bins: tuple[list[str], list[int], list[int]] = field(default_factory=lambda: ([], [], []))

    def to_dict(self) -> dict[str, Any]:
        labels, base, cur = self.bins
        return {
            "feature": self.feature,
            "kind": self.kind,
            "n_baseline": self.n_baseline,
            "n_current": self.n_current,
            "method": self.method,
            "statistics": self.statistics,
            "drifted": self.drifted,
            "reason": self.reason,
            "bins": {"labels": labels, "baseline": base, "current": cur},
        }


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _numeric_drift(name: str, stats: Mapping[str, Any], profile: ColumnProfile) -> FeatureDrift:
    numeric = stats["numerical_statistics"]
    extra = stats.get("siklus", {})
    n_base = int(numeric["common"]["num_present"])
    current = profile.values
    drift = FeatureDrift(name, "numeric", n_base, len(current), "")
    if not n_base or not len(current) or "distribution" not in numeric:
        return drift
    values = np.asarray(numeric["distribution"]["kll"]["sketch"]["data"][0], dtype=np.float64)
    result = ks_wasserstein(values, None, current, n_baseline=n_base)
    std = float(numeric.get("std_dev") or 0.0)
    bins = extra.get("drift_bins") or {"edges": [], "counts": [n_base]}
    edges = list(bins["edges"])
    base_counts = np.asarray(bins["counts"], dtype=np.int64)
    cur_counts = bin_counts(current, edges)
    drift.statistics = {
        "psi": _clean(psi(base_counts, cur_counts)),
        "ks": _clean(result.ks),
        "ks_p_value": _clean(result.ks_p_value),
        "jensen_shannon": _clean(jensen_shannon(base_counts, cur_counts)),
        "wasserstein": _clean(result.wasserstein),
        "wasserstein_normalized": _clean(
            result.wasserstein / std if std > 0 else result.wasserstein
        ),
        "baseline_mean": numeric.get("mean"),
        "current_mean": _clean(float(current.mean())),
    }
    labels = [f"< {edges[0]:.4g}"] if edges else ["all"]
    labels += [f"[{a:.4g}, {b:.4g})" for a, b in itertools.pairwise(edges)]
    if edges:
        labels.append(f">= {edges[-1]:.4g}")
    drift.bins = (labels, base_counts.tolist(), cur_counts.tolist())
    return drift


def _categorical_drift(name: str, stats: Mapping[str, Any], profile: ColumnProfile) -> FeatureDrift:
    string = stats["string_statistics"]
    baseline = {
        b["value"]: int(b["count"]) for b in string["distribution"]["categorical"]["buckets"]
    }
    other = int(stats.get("siklus", {}).get("other_count", 0))
    if other:
        baseline[OTHER] = baseline.get(OTHER, 0) + other
    current = dict(profile.categories)
    keys = sorted(set(baseline) | set(current), key=lambda k: (-baseline.get(k, 0), k))
    base_counts = np.asarray([baseline.get(k, 0) for k in keys], dtype=np.int64)
    cur_counts = np.asarray([current.get(k, 0) for k in keys], dtype=np.int64)
    drift = FeatureDrift(name, "categorical", int(base_counts.sum()), int(cur_counts.sum()), "")
    if not drift.n_baseline or not drift.n_current:
        return drift
    statistic, p_value = chi_square(base_counts, cur_counts)
    drift.statistics = {
        "psi": _clean(psi(base_counts, cur_counts)),
        "chi_square": _clean(statistic),
        "chi_square_p_value": _clean(p_value),
        "jensen_shannon": _clean(jensen_shannon(base_counts, cur_counts)),
        "l_infinity": _clean(l_infinity(base_counts, cur_counts)),
    }
    drift.bins = (list(keys), base_counts.tolist(), cur_counts.tolist())
    return drift


def _over(stats: Mapping[str, float | None], key: str, threshold: float) -> str | None:
    value = stats.get(key)
    if value is not None and value > threshold:
        return f"{key} {value:.4g} > {threshold:g}"
    return None


def _under(stats: Mapping[str, float | None], key: str, threshold: float) -> str | None:
    value = stats.get(key)
    if value is not None and value < threshold:
        return f"{key} {value:.3g} < {threshold:.3g}"
    return None


def _decide(drift: FeatureDrift, settings: Mapping[str, Any], tests: int) -> None:
    stats = drift.statistics
    if not stats:
        drift.method = "none"
        drift.reason = "no values to compare"
        return
    method = settings["drift_method"]
    alpha = settings["p_value_threshold"] / max(tests, 1)
    numeric = drift.kind == "numeric"
    p_key = "ks_p_value" if numeric else "chi_square_p_value"
    if method == "auto":
        small = min(drift.n_baseline, drift.n_current) < settings["large_sample_size"]
        method = ("ks" if numeric else "chi_square") if small else "effect_size"
    reasons: list[str | None]
    if method in ("ks", "chi_square"):
        if method == "ks" and not numeric:
            p_key = "chi_square_p_value"
        reasons = [_under(stats, p_key, alpha)]
    elif method == "effect_size":
        reasons = [
            _over(stats, "psi", settings["psi_threshold"]),
            _over(stats, "jensen_shannon", settings["jensen_shannon_threshold"]),
            _over(stats, "wasserstein_normalized", settings["wasserstein_threshold"]),
        ]
    elif method == "psi":
        reasons = [_over(stats, "psi", settings["psi_threshold"])]
    elif method == "jensen_shannon":
        reasons = [_over(stats, "jensen_shannon", settings["jensen_shannon_threshold"])]
    elif method == "wasserstein":
        reasons = [_over(stats, "wasserstein_normalized", settings["wasserstein_threshold"])]
    elif numeric:  # sagemaker
        reasons = [_over(stats, "ks", settings["comparison_threshold"])]
    elif settings["categorical_drift_method"] == "ChiSquared":
        reasons = [_under(stats, "chi_square_p_value", settings["p_value_threshold"])]
    else:
        reasons = [_over(stats, "l_infinity", settings["categorical_comparison_threshold"])]
    drift.method = method
    hits = [r for r in reasons if r]
    drift.drifted = bool(hits)
    drift.reason = "; ".join(hits)


def feature_drift(
    constraints: Constraints, stats: Mapping[str, Any] | None, profile: ColumnProfile
) -> FeatureDrift | None:
    """Drift statistics of one column against its baseline entry (not yet judged)."""
    feature = constraints.feature(profile.name)
    if feature is None or stats is None:
        return None
    if not constraints.drift_settings(feature.name)["perform_comparison"]:
        return None
    if feature.inferred_type in NUMERIC_TYPES and "numerical_statistics" in stats:
        return _numeric_drift(feature.name, stats, profile)
    if feature.inferred_type == STRING and "string_statistics" in stats:
        return _categorical_drift(feature.name, stats, profile)
    return None


def judge_drift(constraints: Constraints, drifts: Iterable[FeatureDrift]) -> list[dict[str, str]]:
    """Decide which features drifted (p-value thresholds shared by all tested features)."""
    drifts = list(drifts)
    tested = sum(1 for d in drifts if d.statistics)
    found = []
    for drift in drifts:
        _decide(drift, constraints.drift_settings(drift.feature), tested)
        if drift.drifted:
            found.append(
                violation(
                    drift.feature,
                    "baseline_drift_check",
                    f"Baseline drift distance exceeds the threshold ({drift.method}): "
                    f"{drift.reason} ({drift.n_current} current vs {drift.n_baseline} "
                    "baseline values).",
                )
            )
    return found


__all__ = [
    "CHECK_TYPES",
    "FeatureDrift",
    "column_set_violations",
    "column_violations",
    "feature_drift",
    "judge_drift",
    "violation",
]
