"""``constraints.json``: suggested from a baseline, edited by hand, validated when loaded.

The file keeps SageMaker Model Monitor's open format (``version``, ``features`` with
``inferred_type``/``completeness``/``num_constraints``/``string_constraints``/
``monitoringConfigOverrides``, and ``monitoring_config``), so files move both ways. siklus
adds, inside the same objects, the settings of its drift statistics
(:data:`DRIFT_DEFAULTS`: method, p-value and effect-size thresholds) and, for model
quality, SageMaker's ``binary_classification_constraints`` /
``multiclass_classification_constraints`` / ``regression_constraints`` blocks
(``{"recall": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}}``).

:func:`parse_constraints` validates with pydantic and reports each bad field by its JSON
path (``$.features[2].completeness``), so a hand edit that breaks the file fails with a
message saying where, not deep inside a monitoring run.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from siklus.exceptions import InvalidParameter
from siklus.monitoring._profile import INTEGRAL, NUMERIC_TYPES, STRING, TYPES, ColumnProfile

#: Drift methods: ``auto`` tests p-values on small samples and effect sizes on large ones.
DRIFT_METHODS = ("auto", "psi", "ks", "chi_square", "jensen_shannon", "wasserstein", "sagemaker")

#: siklus' drift settings inside ``monitoring_config.distribution_constraints`` (and
#: accepted per feature in ``monitoringConfigOverrides``).
DRIFT_DEFAULTS: dict[str, Any] = {
    "drift_method": "auto",
    # Below this many values on either side, ``auto`` uses p-values; above, effect sizes.
    "large_sample_size": 1000,
    "p_value_threshold": 0.05,
    "psi_threshold": 0.2,
    "jensen_shannon_threshold": 0.1,
    # Wasserstein-1 distance divided by the baseline's standard deviation.
    "wasserstein_threshold": 0.1,
}

#: ``monitoring_config`` of a suggested file: SageMaker's keys and defaults + siklus' drift.
MONITORING_CONFIG_DEFAULTS: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Simple",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
        **DRIFT_DEFAULTS,
    },
}

#: Model-quality blocks by task, as SageMaker names them.
MODEL_QUALITY_KEYS = {
    "binary_classification": "binary_classification_constraints",
    "multiclass_classification": "multiclass_classification_constraints",
    "regression": "regression_constraints",
}
#: Metrics where lower is better (their constraint is ``GreaterThanThreshold``).
LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae", "false_positive_rate"})
#: Metrics suggested as model-quality constraints, by task.
CONSTRAINED_METRICS = {
    "binary_classification": ("accuracy", "precision", "recall", "f1", "roc_auc"),
    "multiclass_classification": ("accuracy", "precision", "recall", "f1"),
    "regression": ("mae", "rmse", "r2"),
}
#: Largest number of distinct values for which a string column gets a suggested domain.
MAX_DOMAIN = 50

Switch = Literal["Enabled", "Disabled"]
Fraction = float


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"must be a number between 0 and 1, got {value!r}")
    return value


class DriftSettings(_Model):
    """siklus' drift settings; every field optional so overrides can set just one."""

    drift_method: Literal[DRIFT_METHODS] | None = None  # type: ignore[valid-type]
    large_sample_size: int | None = Field(default=None, ge=0)
    p_value_threshold: float | None = Field(default=None, gt=0, lt=1)
    psi_threshold: float | None = Field(default=None, ge=0)
    jensen_shannon_threshold: float | None = Field(default=None, ge=0, le=1)
    wasserstein_threshold: float | None = Field(default=None, ge=0)
    comparison_threshold: float | None = Field(default=None, ge=0, le=1)
    categorical_comparison_threshold: float | None = Field(default=None, ge=0, le=1)
    datatype_check_threshold: float | None = Field(default=None, ge=0, le=1)
    domain_content_threshold: float | None = Field(default=None, ge=0, le=1)


class DistributionConstraints(DriftSettings):
    perform_comparison: Switch = "Enabled"
    comparison_method: Literal["Simple", "Robust"] = "Simple"
    categorical_drift_method: Literal["LInfinity", "ChiSquared"] = "LInfinity"


class MonitoringConfig(_Model):
    evaluate_constraints: Switch = "Enabled"
    emit_metrics: Switch = "Enabled"
    datatype_check_threshold: float = Field(default=0.1, ge=0, le=1)
    domain_content_threshold: float = Field(default=0.1, ge=0, le=1)
    distribution_constraints: DistributionConstraints = Field(
        default_factory=DistributionConstraints
    )


class NumConstraints(_Model):
    is_non_negative: bool | None = None


class StringConstraints(_Model):
    domains: list[str] | None = None


class FeatureConstraint(_Model):
    name: str = Field(min_length=1)
    inferred_type: Literal[TYPES]  # type: ignore[valid-type]
    completeness: float | None = None
    num_constraints: NumConstraints | None = None
    string_constraints: StringConstraints | None = None
    monitoringConfigOverrides: DriftSettings | None = None  # SageMaker spells it so

    @field_validator("completeness")
    @classmethod
    def _completeness(cls, value: float | None) -> float | None:
        return None if value is None else _fraction(value)


class MetricConstraint(_Model):
    threshold: float
    comparison_operator: Literal[
        "LessThanThreshold", "GreaterThanThreshold", "LessThanOrEqualToThreshold",
        "GreaterThanOrEqualToThreshold",
    ]  # fmt: skip


class Constraints(_Model):
    """A validated ``constraints.json``."""

    version: float = 0
    features: list[FeatureConstraint] = Field(default_factory=list)
    monitoring_config: MonitoringConfig = Field(default_factory=MonitoringConfig)
    binary_classification_constraints: dict[str, MetricConstraint] | None = None
    multiclass_classification_constraints: dict[str, MetricConstraint] | None = None
    regression_constraints: dict[str, MetricConstraint] | None = None

    @field_validator("features")
    @classmethod
    def _unique(cls, features: list[FeatureConstraint]) -> list[FeatureConstraint]:
        seen: set[str] = set()
        for feature in features:
            if feature.name in seen:
                raise ValueError(f"feature {feature.name!r} is listed twice")
            seen.add(feature.name)
        return features

    def feature(self, name: str) -> FeatureConstraint | None:
        return next((f for f in self.features if f.name == name), None)

    def model_quality(self) -> dict[str, MetricConstraint]:
        for key in MODEL_QUALITY_KEYS.values():
            block = getattr(self, key)
            if block:
                return dict(block)
        return {}

    def drift_settings(self, name: str) -> dict[str, Any]:
        """Effective drift settings of feature ``name``: defaults, file-wide, override."""
        config = self.monitoring_config
        merged: dict[str, Any] = dict(DRIFT_DEFAULTS)
        merged.update(
            comparison_threshold=0.1,
            categorical_comparison_threshold=0.1,
            datatype_check_threshold=config.datatype_check_threshold,
            domain_content_threshold=config.domain_content_threshold,
        )
        layers = [config.distribution_constraints]
        feature = self.feature(name)
        if feature is not None and feature.monitoringConfigOverrides is not None:
            layers.append(feature.monitoringConfigOverrides)
        for layer in layers:
            for key in DriftSettings.model_fields:
                value = getattr(layer, key)
                if value is not None:
                    merged[key] = value
        dist = config.distribution_constraints
        merged["categorical_drift_method"] = dist.categorical_drift_method
        merged["perform_comparison"] = dist.perform_comparison == "Enabled"
        return merged


def _json_path(loc: tuple[Any, ...]) -> str:
    path = "$"
    for step in loc:
        path += f"[{step}]" if isinstance(step, int) else f".{step}"
    return path


def parse_constraints(data: Any, *, source: str = "constraints.json") -> Constraints:
    """Validate a ``constraints.json`` document.

    Raises:
        InvalidParameter: naming each bad field by its JSON path, e.g.
            ``$.features[2].completeness: must be a number between 0 and 1, got 1.5``.
    """
    if not isinstance(data, dict):
        raise InvalidParameter(f"{source}: expected a JSON object at $, got {type(data).__name__}.")
    try:
        return Constraints.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(s for s in error["loc"] if not (isinstance(s, str) and "[" in s))
            message = error["msg"].removeprefix("Value error, ")
            quiet = error["type"] in ("missing", "value_error")
            shown = "" if quiet else f" (got {error.get('input')!r:.60})"
            problems.append(f"{_json_path(loc)}: {message}{shown}")
        raise InvalidParameter(
            f"{source} is not valid: " + "; ".join(problems) + ". Fix the field(s) by hand or "
            "rebuild the suggestion with `siklus monitor baseline`."
        ) from None


def suggest_feature(profile: ColumnProfile) -> dict[str, Any]:
    """The suggested constraint of one baseline column."""
    kind = profile.inferred_type
    completeness = profile.completeness
    if completeness < 1.0 and profile.rows:
        # Leave room for sampling noise: five standard errors below the baseline's share
        # (about 3.5 standard deviations of the difference of two such samples).
        spread = 5 * math.sqrt(completeness * (1 - completeness) / profile.rows)
        completeness = math.floor(max(0.0, completeness - spread) * 1e4) / 1e4
    entry: dict[str, Any] = {
        "name": profile.name,
        "inferred_type": kind,
        "completeness": completeness,
    }
    if kind in NUMERIC_TYPES and len(profile.values):
        # SageMaker suggests is_non_negative whenever the baseline minimum is >= 0, which
        # flags a Fractional feature such as N(5, 1) the first time a window dips below 0.
        # Suggest it only where zero looks like a bound: counts, and values that reach 0.
        low = float(profile.values[0])
        bounded = low == 0 or (kind == INTEGRAL and low >= 0)
        entry["num_constraints"] = {"is_non_negative": bounded}
    if kind == STRING and 0 < len(profile.categories) <= MAX_DOMAIN:
        entry["string_constraints"] = {"domains": sorted(profile.categories)}
    return entry


def suggest_model_quality(task: str, metrics: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """Model-quality constraints: each metric may get ``tolerance`` worse than the baseline."""
    block: dict[str, Any] = {}
    for name in CONSTRAINED_METRICS.get(task, ()):
        value = metrics.get(name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if name in LOWER_IS_BETTER:
            block[name] = {
                "threshold": round(value * (1 + tolerance) + 1e-12, 6),
                "comparison_operator": "GreaterThanThreshold",
            }
        else:
            block[name] = {
                "threshold": round(value - tolerance, 6),
                "comparison_operator": "LessThanThreshold",
            }
    return {MODEL_QUALITY_KEYS[task]: block} if block else {}


def constraints_document(
    features: list[dict[str, Any]], model_quality: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A whole suggested ``constraints.json``."""
    import copy

    return {
        "version": 0,
        "features": features,
        "monitoring_config": copy.deepcopy(MONITORING_CONFIG_DEFAULTS),
        **(model_quality or {}),
    }


__all__ = [
    "CONSTRAINED_METRICS",
    "DRIFT_DEFAULTS",
    "DRIFT_METHODS",
    "LOWER_IS_BETTER",
    "MODEL_QUALITY_KEYS",
    "MONITORING_CONFIG_DEFAULTS",
    "Constraints",
    "FeatureConstraint",
    "MetricConstraint",
    "constraints_document",
    "parse_constraints",
    "suggest_feature",
    "suggest_model_quality",
]
