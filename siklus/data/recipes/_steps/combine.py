"""Steps that combine rows: joining another dataset and group-by aggregation.

A join reads its other side by reference (a dataset ``NAME[:VERSION]`` or a file). When
the recipe is fitted the reference is pinned to the exact dataset version, so applying
the fitted recipe later joins the same lookup table even after a newer version appears.
Keys match with SQL ``=``: a missing key matches nothing (pandas would pair NaN keys).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from siklus.data.recipes._base import Frame, Transform, register
from siklus.data.recipes._sql import ROW_ID, ident, is_integer, missing

ROW = ident(ROW_ID)


@register
class Join(Transform):
    """Join another dataset (by reference) or file on key columns: inner or left."""

    step = "join"
    family = "combine"
    pins_inputs = True

    dataset: str | None = Field(None, description="Dataset NAME or NAME:VERSION to join.")
    path: str | None = Field(None, description="Or a Parquet/CSV file to join.")
    on: list[str] = Field(..., min_length=1, description="Key columns of this data.")
    right_on: list[str] | None = Field(None, description="Key columns of the other side.")
    how: Literal["inner", "left"] = Field("left", description="inner: matches only; left: all.")
    columns: list[str] | None = Field(None, description="Columns to bring; default all.")
    suffix: str = Field("_right", min_length=1, description="Added to clashing column names.")

    @model_validator(mode="after")
    def _one_source(self) -> Join:
        if (self.dataset is None) == (self.path is None):
            raise ValueError("give either `dataset: NAME[:VERSION]` or `path: FILE`, not both")
        if self.right_on is not None and len(self.right_on) != len(self.on):
            raise ValueError(f"`right_on` has {len(self.right_on)} columns, `on` {len(self.on)}")
        return self

    def columns_read(self) -> list[str]:
        return list(self.on)

    def pin(self, frame: Frame) -> dict[str, Any]:
        if frame.inputs is None:
            raise frame.error("joins need a workspace to find the other dataset in.")
        return frame.inputs.pin(self.dataset, self.path, frame.label)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        if frame.inputs is None:
            raise frame.error("joins need a workspace to find the other dataset in.")
        relation, right_columns = frame.inputs.relation(state, frame.label)
        right_keys = self.right_on or self.on
        for key in right_keys:
            if key not in right_columns:
                raise frame.error(
                    f"key column {key!r} is not in the joined data; its columns: "
                    f"{', '.join(map(repr, right_columns))}.",
                    column=key,
                )
        wanted = self.columns or [c for c in right_columns if c not in right_keys]
        items = []
        for column in wanted:
            if column not in right_columns:
                raise frame.error(
                    f"column {column!r} is not in the joined data; its columns: "
                    f"{', '.join(map(repr, right_columns))}.",
                    column=column,
                )
            name = column if column not in frame.columns else column + self.suffix
            items.append(f"r.{ident(column)} AS {ident(frame.new_column(name))}")
        condition = " AND ".join(
            f"l.{ident(a)} = r.{ident(b)}" for a, b in zip(self.on, right_keys, strict=True)
        )
        # Rows come out in left order, then right order within a left row (pandas merge).
        number = f"row_number() OVER (ORDER BY l.{ROW}, r.{ROW}) - 1 AS {ROW}"
        selected = ", ".join([f"l.* EXCLUDE ({ROW})", *items, number])
        return (
            f"SELECT {selected} FROM {frame.relation} AS l {self.how.upper()} JOIN "
            f"{relation} AS r ON {condition} ORDER BY {ROW}"
        )


class Aggregation(BaseModel):
    """One aggregate of a group: ``{function: mean, column: price}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: Literal[
        "count", "count_distinct", "sum", "mean", "median", "min", "max", "std", "var",
        "first", "last",
    ]  # fmt: skip
    column: str = Field("*", description="Column to aggregate; `*` only for count.")

    @model_validator(mode="after")
    def _star(self) -> Aggregation:
        if self.column == "*" and self.function != "count":
            raise ValueError(f"{self.function} needs a column; only count may use `*`")
        return self


_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\(\s*(.*?)\s*\)\s*$")


def _parse(value: Any) -> Any:
    """``"mean(price)"`` → ``{"function": "mean", "column": "price"}``; dicts pass."""
    if isinstance(value, str):
        match = _CALL.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not FUNCTION(COLUMN), e.g. 'mean(price)'")
        return {"function": match[1].lower(), "column": match[2] or "*"}
    return value


@register
class GroupBy(Transform):
    """Group rows by key columns and aggregate: one output row per group, sorted by keys."""

    step = "group_by"
    family = "combine"

    by: list[str] = Field(..., min_length=1, description="Key columns.")
    aggregations: dict[str, str | Aggregation] = Field(
        ..., min_length=1, description="New column → 'function(column)', e.g. 'mean(price)'."
    )

    @field_validator("aggregations")
    @classmethod
    def _calls(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            if isinstance(item, str):
                try:
                    Aggregation.model_validate(_parse(item))
                except ValidationError as exc:
                    reason = "; ".join(
                        str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()
                    )
                    raise ValueError(f"aggregation {name!r} = {item!r}: {reason}") from None
        return value

    def parsed(self) -> dict[str, Aggregation]:
        return {
            name: value if isinstance(value, Aggregation) else Aggregation(**_parse(value))
            for name, value in self.aggregations.items()
        }

    def columns_read(self) -> list[str]:
        return [*self.by, *(a.column for a in self.parsed().values() if a.column != "*")]

    def _aggregate(self, frame: Frame, agg: Aggregation) -> str:
        if agg.column == "*":
            return "count(*)"
        x = ident(agg.column)
        type_name = frame.columns[agg.column]
        keep = f" FILTER (WHERE NOT {missing(x, type_name)})"
        if agg.function in ("mean", "median", "std", "var", "sum"):
            frame.require_numeric([agg.column])
        calls = {
            "count": f"count({x})",
            "count_distinct": f"count(DISTINCT {x})",
            "sum": f"sum({x})",
            "mean": f"avg({x})",
            "median": f"quantile_cont({x}, 0.5)",
            "min": f"min({x})",
            "max": f"max({x})",
            "std": f"stddev_samp({x})",
            "var": f"var_samp({x})",
            "first": f"arg_min({x}, {ROW})",
            "last": f"arg_max({x}, {ROW})",
        }
        sql = calls[agg.function] + keep
        if agg.function == "sum":
            # pandas sums an empty group to 0, and an integer sum to int64 (DuckDB: INT128).
            sql = f"COALESCE({sql}, 0)"
            if is_integer(type_name):
                sql = f"CAST({sql} AS BIGINT)"
        return sql

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        keys = [ident(c) for c in self.by]
        items = list(keys)
        for name, agg in self.parsed().items():
            if name in self.by:
                raise frame.error(f"aggregate {name!r} has the name of a key column.")
            items.append(
                f"{self._aggregate(frame, agg)} AS "
                f"{ident(frame.new_column(name, replacing=frame.columns))}"
            )
        order = ", ".join(f"{k} ASC NULLS LAST" for k in keys)
        items.append(f"row_number() OVER (ORDER BY {order}) - 1 AS {ROW}")
        return (
            f"SELECT {', '.join(items)} FROM {frame.relation} GROUP BY {', '.join(keys)} "
            f"ORDER BY {ROW}"
        )


__all__ = ["Aggregation", "GroupBy", "Join"]
