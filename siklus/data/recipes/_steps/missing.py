"""Filling missing values: constants, learned statistics, or neighbouring rows.

Statistics follow pandas: ``mean`` is ``avg``, ``median`` is ``quantile_cont(x, 0.5)``
(linear interpolation, pandas' default), ``mode`` is the most frequent value with ties
broken by the smallest value (``Series.mode()[0]``). Missing means NULL, or NaN in float
columns, on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from siklus.data.recipes._base import ColumnWise, Frame, register
from siklus.data.recipes._sql import ROW_ID, ident, is_numeric, json_value, literal, missing

LEARNED = ("mean", "median", "mode")
NEIGHBOURS = ("forward_fill", "backward_fill")


@register
class FillMissing(ColumnWise):
    """Fill missing values with a constant, a learned mean/median/mode, or a neighbour."""

    step = "fill_missing"
    family = "missing"
    learns = True

    strategy: Literal["constant", "mean", "median", "mode", "forward_fill", "backward_fill"] = (
        Field("mean", description="How to choose the fill value.")
    )
    value: Any = Field(None, description="The fill value for strategy `constant`.")
    order_by: list[str] | None = Field(
        None, description="forward/backward_fill: row order to fill along (default: input order)."
    )
    partition_by: list[str] | None = Field(
        None, description="forward/backward_fill: fill only within groups of these columns."
    )

    @model_validator(mode="after")
    def _options_fit_strategy(self) -> FillMissing:
        if self.strategy == "constant" and self.value is None:
            raise ValueError("strategy `constant` needs `value`")
        if self.strategy != "constant" and self.value is not None:
            raise ValueError(
                f"`value` is only used with strategy `constant`, not {self.strategy!r}"
            )
        if isinstance(self.value, dict | list):
            raise ValueError("`value` must be a single value")
        if self.strategy not in NEIGHBOURS and (self.order_by or self.partition_by):
            raise ValueError("`order_by` and `partition_by` only apply to forward/backward_fill")
        return self

    def needs_fit(self) -> bool:
        return self.strategy in LEARNED

    def columns_read(self) -> list[str]:
        return [*self.targets, *(self.order_by or []), *(self.partition_by or [])]

    def check(self, frame: Frame) -> None:
        super().check(frame)
        if self.strategy in ("mean", "median"):
            frame.require_numeric(self.targets)

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        out = {}
        for i, column in enumerate(self.targets):
            source = ident(column)
            present = f"NOT {missing(source, frame.columns[column])}"
            if self.strategy == "mean":
                out[f"v{i}"] = f"avg({source}) FILTER (WHERE {present})"
            elif self.strategy == "median":
                out[f"v{i}"] = f"quantile_cont({source}, 0.5) FILTER (WHERE {present})"
            else:
                out[f"v{i}"] = (
                    f"(SELECT {source} FROM {frame.relation} WHERE {present} GROUP BY {source} "
                    f"ORDER BY count(*) DESC, {source} LIMIT 1)"
                )
        return out

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        values = {}
        for i, column in enumerate(self.targets):
            value = json_value(row[f"v{i}"])
            if value is None:
                raise frame.error(
                    f"column {column!r} has no non-missing values to learn a {self.strategy} "
                    "from; fill it with strategy `constant` or drop it.",
                    column=column,
                )
            values[column] = value
        return {"values": values}

    def _fill(self, frame: Frame, column: str, state: Mapping[str, Any]) -> str:
        type_name = frame.columns[column]
        value = self.value if self.strategy == "constant" else state["values"][column]
        numeric_value = isinstance(value, int | float) and not isinstance(value, bool)
        if self.strategy in ("mean", "median") or (numeric_value and is_numeric(type_name)):
            # Let DuckDB widen the column (INTEGER + 2.5 → DOUBLE) instead of rounding.
            return literal(value)
        return literal(value, type_name)

    def _neighbour(self, frame: Frame, column: str) -> str:
        source = ident(column)
        cleaned = f"CASE WHEN {missing(source, frame.columns[column])} THEN NULL ELSE {source} END"
        order = ", ".join([*(ident(c) for c in self.order_by or []), ident(ROW_ID)])
        partition = ""
        if self.partition_by:
            partition = "PARTITION BY " + ", ".join(ident(c) for c in self.partition_by) + " "
        if self.strategy == "forward_fill":
            return (
                f"last_value({cleaned} IGNORE NULLS) OVER ({partition}ORDER BY {order} "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
            )
        return (
            f"first_value({cleaned} IGNORE NULLS) OVER ({partition}ORDER BY {order} "
            "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)"
        )

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        if self.strategy in NEIGHBOURS:
            out = {c: self._neighbour(frame, c) for c in self.targets}
            return self.rewrite(frame, out) + f" ORDER BY {ident(ROW_ID)}"
        out = {}
        for column in self.targets:
            source = ident(column)
            test = missing(source, frame.columns[column])
            out[column] = (
                f"(CASE WHEN {test} THEN {self._fill(frame, column, state)} ELSE {source} END)"
            )
        return self.rewrite(frame, out)


__all__ = ["FillMissing"]
