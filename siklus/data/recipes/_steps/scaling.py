"""Scalers and outlier clipping: each learns per-column statistics in one aggregate query.

Definitions (chosen to match pandas / scikit-learn, and documented in docs/recipes.md):

- standard deviation: ``stddev_samp`` (pandas ``std()``, ddof=1) by default; ``ddof: 0``
  gives ``stddev_pop`` (scikit-learn ``StandardScaler``);
- quantiles: ``quantile_cont`` (linear interpolation: pandas ``quantile()``, numpy
  ``percentile``, scikit-learn ``RobustScaler``).

A zero spread learns a scale of 1, as scikit-learn does, so a constant column maps to 0
instead of dividing by zero.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from siklus.data.recipes._base import Frame, register
from siklus.data.recipes._sql import ident, json_value, literal, missing
from siklus.data.recipes._steps.numeric import NumericColumns, clip_sql


class PerColumnStatistics(NumericColumns):
    """A numeric step that learns the same statistics for each of its columns."""

    learns = True

    @abc.abstractmethod
    def statistics(self, x: str) -> dict[str, str]:
        """Aggregate SQL per statistic name over the column expression ``x``."""

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        out = {}
        for i, column in enumerate(self.targets):
            source = ident(column)
            present = f"NOT {missing(source, frame.columns[column])}"
            for name, aggregate in self.statistics(f"CAST({source} AS DOUBLE)").items():
                out[f"c{i}_{name}"] = f"{aggregate} FILTER (WHERE {present})"
        return out

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        learned: dict[str, dict[str, Any]] = {}
        for i, column in enumerate(self.targets):
            values = {
                key.split("_", 1)[1]: json_value(value)
                for key, value in row.items()
                if key.startswith(f"c{i}_")
            }
            if values and all(v is None for v in values.values()):
                raise frame.error(
                    f"column {column!r} has no non-missing values to learn from; fill or "
                    "drop it before this step.",
                    column=column,
                )
            learned[column] = values
        return {"columns": learned}


def _scale(spread: float | None) -> float:
    return 1.0 if spread is None or spread == 0 else float(spread)


def _center_and_scale(
    step: PerColumnStatistics, frame: Frame, learned: Mapping[str, tuple[float, float]]
) -> str:
    """Replace each column by ``(x - center) / scale`` with its learned pair."""
    out = {}
    for column, (center, scale) in learned.items():
        x = f"CAST({ident(column)} AS DOUBLE)"
        out[column] = f"(({x} - {literal(float(center))}) / {literal(scale)})"
    return step.rewrite(frame, out)


@register
class ScaleStandard(PerColumnStatistics):
    """Standardise: (x - mean) / standard deviation, both learned."""

    step = "scale_standard"
    family = "scaling"

    ddof: Literal[0, 1] = Field(1, description="1: sample std (pandas); 0: population (sklearn).")
    with_mean: bool = Field(True, description="Subtract the mean.")
    with_std: bool = Field(True, description="Divide by the standard deviation.")

    def statistics(self, x: str) -> dict[str, str]:
        std = "stddev_samp" if self.ddof == 1 else "stddev_pop"
        return {"mean": f"avg({x})", "std": f"{std}({x})"}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return _center_and_scale(
            self,
            frame,
            {
                column: (
                    learned["mean"] if self.with_mean else 0.0,
                    _scale(learned["std"]) if self.with_std else 1.0,
                )
                for column, learned in ((c, state["columns"][c]) for c in self.targets)
            },
        )


@register
class ScaleMinMax(PerColumnStatistics):
    """Rescale to [min, max] (0-1 by default) using the learned minimum and maximum."""

    step = "scale_minmax"
    family = "scaling"

    min: float = Field(0.0, description="Lower end of the output range.")
    max: float = Field(1.0, description="Upper end of the output range.")

    @model_validator(mode="after")
    def _range(self) -> ScaleMinMax:
        if self.min >= self.max:
            raise ValueError(f"`min` ({self.min}) must be below `max` ({self.max})")
        return self

    def statistics(self, x: str) -> dict[str, str]:
        return {"min": f"min({x})", "max": f"max({x})"}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            learned = state["columns"][column]
            low = float(learned["min"])
            scale = _scale(learned["max"] - learned["min"])
            x = f"CAST({ident(column)} AS DOUBLE)"
            width = self.max - self.min
            out[column] = (
                f"(({x} - {literal(low)}) / {literal(scale)} * {literal(width)} "
                f"+ {literal(self.min)})"
            )
        return self.rewrite(frame, out)


@register
class ScaleRobust(PerColumnStatistics):
    """Robust scaling: (x - median) / interquartile range, both learned."""

    step = "scale_robust"
    family = "scaling"

    quantile_range: tuple[float, float] = Field(
        (25.0, 75.0), description="Percentiles whose distance is the scale."
    )
    with_centering: bool = Field(True, description="Subtract the median.")
    with_scaling: bool = Field(True, description="Divide by the quantile range.")

    @model_validator(mode="after")
    def _range(self) -> ScaleRobust:
        low, high = self.quantile_range
        if not 0 <= low < high <= 100:
            raise ValueError(
                f"`quantile_range` {list(self.quantile_range)} needs 0 <= low < high <= 100"
            )
        return self

    def statistics(self, x: str) -> dict[str, str]:
        low, high = self.quantile_range
        return {
            "median": f"quantile_cont({x}, 0.5)",
            "low": f"quantile_cont({x}, {low / 100!r})",
            "high": f"quantile_cont({x}, {high / 100!r})",
        }

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return _center_and_scale(
            self,
            frame,
            {
                column: (
                    learned["median"] if self.with_centering else 0.0,
                    _scale(learned["high"] - learned["low"]) if self.with_scaling else 1.0,
                )
                for column, learned in ((c, state["columns"][c]) for c in self.targets)
            },
        )


@register
class ScaleMaxAbs(PerColumnStatistics):
    """Divide by the learned maximum absolute value (keeps zeros and signs)."""

    step = "scale_maxabs"
    family = "scaling"

    def statistics(self, x: str) -> dict[str, str]:
        return {"maxabs": f"max(abs({x}))"}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            scale = _scale(state["columns"][column]["maxabs"])
            out[column] = f"(CAST({ident(column)} AS DOUBLE) / {literal(scale)})"
        return self.rewrite(frame, out)


@register
class ClipOutliersIQR(PerColumnStatistics):
    """Clip to the learned [Q1 - factor*IQR, Q3 + factor*IQR] (Tukey's fences)."""

    step = "clip_outliers_iqr"
    family = "scaling"

    factor: float = Field(1.5, gt=0, description="How many IQRs beyond the quartiles to keep.")

    def statistics(self, x: str) -> dict[str, str]:
        return {"q1": f"quantile_cont({x}, 0.25)", "q3": f"quantile_cont({x}, 0.75)"}

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        state = super().learn(row, frame)
        for learned in state["columns"].values():
            iqr = learned["q3"] - learned["q1"]
            learned["lower"] = learned["q1"] - self.factor * iqr
            learned["upper"] = learned["q3"] + self.factor * iqr
        return state

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            learned = state["columns"][column]
            out[column] = clip_sql(
                ident(column), frame.columns[column], learned["lower"], learned["upper"]
            )
        return self.rewrite(frame, out)


@register
class ClipOutliersZScore(PerColumnStatistics):
    """Clip to the learned [mean - threshold*std, mean + threshold*std]."""

    step = "clip_outliers_zscore"
    family = "scaling"

    threshold: float = Field(3.0, gt=0, description="How many standard deviations to keep.")
    ddof: Literal[0, 1] = Field(1, description="1: sample std (pandas); 0: population.")

    def statistics(self, x: str) -> dict[str, str]:
        std = "stddev_samp" if self.ddof == 1 else "stddev_pop"
        return {"mean": f"avg({x})", "std": f"{std}({x})"}

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        state = super().learn(row, frame)
        for learned in state["columns"].values():
            spread = self.threshold * (learned["std"] or 0.0)
            learned["lower"] = learned["mean"] - spread
            learned["upper"] = learned["mean"] + spread
        return state

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            learned = state["columns"][column]
            out[column] = clip_sql(
                ident(column), frame.columns[column], learned["lower"], learned["upper"]
            )
        return self.rewrite(frame, out)


__all__ = [
    "ClipOutliersIQR",
    "ClipOutliersZScore",
    "PerColumnStatistics",
    "ScaleMaxAbs",
    "ScaleMinMax",
    "ScaleRobust",
    "ScaleStandard",
]
