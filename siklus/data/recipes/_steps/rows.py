"""Steps that choose, order or number rows.

Steps that need a window or a sort end with ``ORDER BY`` the hidden row id, so the rows
come out in their input order (as pandas keeps them), or renumber the row id when the new
order is the point (``sort``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from siklus.data.recipes._base import Frame, Transform, register
from siklus.data.recipes._sql import ROW_ID, ident, missing

ROW = ident(ROW_ID)


def _order_list(by: list[str], descending: list[bool], nulls: str) -> str:
    parts = []
    for column, desc in zip(by, descending, strict=True):
        parts.append(f"{ident(column)} {'DESC' if desc else 'ASC'} NULLS {nulls.upper()}")
    return ", ".join(parts)


@register
class DropDuplicates(Transform):
    """Drop repeated rows, comparing all columns or only the key columns in `columns`."""

    step = "drop_duplicates"
    family = "rows"

    columns: list[str] | None = Field(None, description="Key columns; all columns when unset.")
    keep: Literal["first", "last"] = Field("first", description="Which repeat to keep.")

    def columns_read(self) -> list[str]:
        return list(self.columns or [])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        keys = self.columns or list(frame.columns)
        direction = "ASC" if self.keep == "first" else "DESC"
        partition = ", ".join(ident(c) for c in keys)
        return (
            f"SELECT * FROM {frame.relation} QUALIFY row_number() OVER "
            f"(PARTITION BY {partition} ORDER BY {ROW} {direction}) = 1 ORDER BY {ROW}"
        )


@register
class DropMissing(Transform):
    """Drop rows with a missing value (NULL, or NaN in float columns)."""

    step = "drop_missing"
    family = "rows"

    columns: list[str] | None = Field(None, description="Columns to look at; all when unset.")
    how: Literal["any", "all"] = Field(
        "any", description="Drop when any, or only when all, of the columns are missing."
    )

    def columns_read(self) -> list[str]:
        return list(self.columns or [])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        names = self.columns or list(frame.columns)
        joiner = " OR " if self.how == "any" else " AND "
        tests = joiner.join(missing(ident(c), frame.columns[c]) for c in names)
        return frame.project(where=f"NOT ({tests})")


@register
class Filter(Transform):
    """Keep the rows where a SQL boolean expression is true (NULL counts as false)."""

    step = "filter"
    family = "rows"

    expression: str = Field(..., description="DuckDB SQL, e.g. \"age >= 18 AND country = 'NL'\".")

    @field_validator("expression")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the expression is empty")
        return value

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return frame.project(where=f"({self.expression})")


@register
class Sample(Transform):
    """Keep a seeded random sample of rows: a `fraction` (Bernoulli) or `rows` (reservoir)."""

    step = "sample"
    family = "rows"

    fraction: float | None = Field(None, gt=0, le=1, description="Share of rows to keep.")
    rows: int | None = Field(None, ge=1, description="Exact number of rows to keep.")
    seed: int = Field(42, ge=0, description="Seed: the same seed keeps the same rows.")

    @model_validator(mode="after")
    def _one_size(self) -> Sample:
        if (self.fraction is None) == (self.rows is None):
            raise ValueError("give either `fraction` (0-1] or `rows`, not both")
        return self

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        if self.fraction is not None:
            size = f"bernoulli({self.fraction * 100!r} PERCENT)"
        else:
            size = f"reservoir({self.rows} ROWS)"
        # Bernoulli keeps each row with the given probability as it streams past; the
        # seed makes the choice repeatable. The ORDER BY restores input order, which a
        # reservoir sample does not keep.
        return (
            f"SELECT * FROM (SELECT * FROM {frame.relation} USING SAMPLE {size} "
            f"REPEATABLE ({self.seed})) ORDER BY {ROW}"
        )


@register
class Sort(Transform):
    """Sort rows by one or more columns (stable: ties keep their input order)."""

    step = "sort"
    family = "rows"

    by: list[str] = Field(..., min_length=1, description="Columns to sort by, in priority order.")
    descending: bool | list[bool] = Field(False, description="One flag, or one per column.")
    nulls: Literal["first", "last"] = Field("last", description="Where missing values go.")

    @model_validator(mode="after")
    def _flags_match(self) -> Sort:
        if isinstance(self.descending, list) and len(self.descending) != len(self.by):
            raise ValueError(
                f"`descending` has {len(self.descending)} flags for {len(self.by)} columns"
            )
        return self

    def columns_read(self) -> list[str]:
        return list(self.by)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        flags = self.descending if isinstance(self.descending, list) else [self.descending]
        order = _order_list(self.by, flags * (len(self.by) // len(flags)), self.nulls)
        # Renumber the row id so later order-restoring steps keep this order.
        return (
            f"SELECT * EXCLUDE ({ROW}), row_number() OVER (ORDER BY {order}, {ROW}) - 1 AS {ROW} "
            f"FROM {frame.relation} ORDER BY {ROW}"
        )


@register
class Limit(Transform):
    """Keep at most `rows` rows, after skipping `offset` rows, in the current order."""

    step = "limit"
    family = "rows"

    rows: int = Field(..., ge=0, description="How many rows to keep.")
    offset: int = Field(0, ge=0, description="How many rows to skip first.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return (
            f"SELECT * FROM {frame.relation} ORDER BY {ROW} LIMIT {self.rows} OFFSET {self.offset}"
        )


@register
class RowNumber(Transform):
    """Add a column numbering the rows (in input order, or by `order_by`)."""

    step = "row_number"
    family = "rows"

    into: str = Field("row_number", description="Name of the new column.")
    order_by: list[str] | None = Field(None, description="Number in this order instead.")
    descending: bool = Field(False, description="Reverse the `order_by` order.")
    start: int = Field(1, description="Number of the first row.")

    def columns_read(self) -> list[str]:
        return list(self.order_by or [])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        name = frame.new_column(self.into)
        order = ROW
        if self.order_by:
            flags = [self.descending] * len(self.order_by)
            order = _order_list(self.order_by, flags, "last") + f", {ROW}"
        number = f"row_number() OVER (ORDER BY {order}) - 1 + {self.start}"
        return f"SELECT *, {number} AS {ident(name)} FROM {frame.relation} ORDER BY {ROW}"


__all__ = ["DropDuplicates", "DropMissing", "Filter", "Limit", "RowNumber", "Sample", "Sort"]
