"""Binning numbers into intervals: equal width, quantiles (both learned), or fixed edges.

Intervals are closed on the right and the first one includes its lower edge, exactly as
``pandas.cut(..., include_lowest=True)`` and ``pandas.qcut``; the output is the 0-based
bin index (or a label). Learned bins clip values outside the fitted range into the first
or last bin, as scikit-learn's ``KBinsDiscretizer`` does; fixed edges give NULL outside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from siklus.data.recipes._base import Frame, register
from siklus.data.recipes._sql import ident, literal
from siklus.data.recipes._steps.numeric import NumericColumns
from siklus.data.recipes._steps.scaling import PerColumnStatistics


def bin_sql(
    expr: str, edges: Sequence[float], *, clip: bool, labels: Sequence[str] | None = None
) -> str:
    """CASE expression mapping ``expr`` to its bin among ``edges`` (right-closed)."""
    x = f"CAST({expr} AS DOUBLE)"
    count = len(edges) - 1
    names = [literal(label) for label in labels] if labels else [str(i) for i in range(count)]
    arms = [f"WHEN {x} IS NULL OR isnan({x}) THEN NULL"]
    if not clip:
        arms.append(f"WHEN {x} < {literal(edges[0])} OR {x} > {literal(edges[-1])} THEN NULL")
    for i in range(count - 1):
        arms.append(f"WHEN {x} <= {literal(edges[i + 1])} THEN {names[i]}")
    return f"(CASE {' '.join(arms)} ELSE {names[count - 1]} END)"


@register
class BinEqualWidth(PerColumnStatistics):
    """Cut into `bins` equal-width intervals between the learned minimum and maximum."""

    step = "bin_equal_width"
    family = "binning"

    bins: int = Field(5, ge=1, le=1000, description="Number of intervals.")

    def statistics(self, x: str) -> dict[str, str]:
        return {"min": f"min({x})", "max": f"max({x})"}

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        state = super().learn(row, frame)
        for learned in state["columns"].values():
            # numpy's linspace, as pandas.cut uses, so edges agree to the last bit.
            learned["edges"] = np.linspace(learned["min"], learned["max"], self.bins + 1).tolist()
        return state

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(
            frame,
            {c: bin_sql(ident(c), state["columns"][c]["edges"], clip=True) for c in self.targets},
        )


@register
class BinQuantile(PerColumnStatistics):
    """Cut at the learned quantiles into `bins` intervals of (about) equal counts."""

    step = "bin_quantile"
    family = "binning"

    bins: int = Field(4, ge=1, le=1000, description="Number of intervals (4 = quartiles).")

    def statistics(self, x: str) -> dict[str, str]:
        points = np.linspace(0.0, 1.0, self.bins + 1).tolist()
        return {"edges": f"quantile_cont({x}, {points!r})"}

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        state = super().learn(row, frame)
        for learned in state["columns"].values():
            # Repeated values can make quantiles coincide; like qcut(duplicates="drop"),
            # the empty intervals go.
            learned["edges"] = sorted(set(learned["edges"]))
        return state

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            edges = state["columns"][column]["edges"]
            out[column] = (
                "CAST(0 AS BIGINT)" if len(edges) < 2 else bin_sql(ident(column), edges, clip=True)
            )
        return self.rewrite(frame, out)


@register
class BinCustom(NumericColumns):
    """Cut at fixed `edges`, optionally naming the intervals with `labels`."""

    step = "bin_custom"
    family = "binning"

    edges: list[float] = Field(..., min_length=2, description="Increasing interval edges.")
    labels: list[str] | None = Field(None, description="One name per interval.")

    @model_validator(mode="after")
    def _edges(self) -> BinCustom:
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError(f"`edges` must be strictly increasing, got {self.edges}")
        if self.labels is not None and len(self.labels) != len(self.edges) - 1:
            raise ValueError(
                f"{len(self.edges)} edges make {len(self.edges) - 1} intervals, but "
                f"{len(self.labels)} labels were given"
            )
        return self

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(
            frame,
            {
                c: bin_sql(ident(c), self.edges, clip=False, labels=self.labels)
                for c in self.targets
            },
        )


__all__ = ["BinCustom", "BinEqualWidth", "BinQuantile", "bin_sql"]
