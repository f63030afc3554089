"""Dates and times: parse text, take parts, differences, truncation.

Part definitions follow pandas' ``.dt`` accessor: ``dow`` is 0 = Monday … 6 = Sunday
(DuckDB's ``isodow - 1``, not its Sunday-first ``dayofweek``), ``week`` is the ISO week.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from siklus.data.recipes._base import ColumnWise, Frame, Transform, register
from siklus.data.recipes._sql import base_type, ident, text

Part = Literal[
    "year", "quarter", "month", "week", "day", "dayofyear", "dow", "hour", "minute", "second"
]

_PART_SQL: dict[str, str] = {
    "year": "year({x})",
    "quarter": "quarter({x})",
    "month": "month({x})",
    "week": "weekofyear({x})",
    "day": "day({x})",
    "dayofyear": "dayofyear({x})",
    "dow": "(isodow({x}) - 1)",
    "hour": "hour({x})",
    "minute": "minute({x})",
    "second": "second({x})",
}


@register
class DateParts(Transform):
    """Add one integer column per date part: `<column>_year`, `<column>_month`, …"""

    step = "date_parts"
    family = "dates"

    column: str = Field(..., description="A DATE or TIMESTAMP column.")
    parts: list[Part] = Field(
        ["year", "month", "day"], min_length=1, description="Parts to extract."
    )
    prefix: str | None = Field(None, description="Name prefix; default: the column name.")

    def columns_read(self) -> list[str]:
        return [self.column]

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_temporal([self.column])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        prefix = self.column if self.prefix is None else self.prefix
        x = ident(self.column)
        out = {
            frame.new_column(f"{prefix}_{part}"): f"CAST({_PART_SQL[part].format(x=x)} AS INTEGER)"
            for part in dict.fromkeys(self.parts)
        }
        return frame.project(out)


@register
class ParseDatetime(ColumnWise):
    """Parse text into TIMESTAMP with a strptime `format`; bad text fails or becomes NULL."""

    step = "parse_datetime"
    family = "dates"

    format: str = Field(..., description='strptime format, e.g. "%Y-%m-%d %H:%M".')
    on_error: Literal["fail", "null"] = Field("fail", description="What to do with bad text.")

    @field_validator("format")
    @classmethod
    def _has_directive(cls, value: str) -> str:
        if "%" not in value:
            raise ValueError("a strptime format needs directives such as %Y-%m-%d")
        return value

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text(self.targets)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            source = ident(column)
            parsed = f"try_strptime({source}, {text(self.format)})"
            if self.on_error == "null":
                out[column] = parsed
                continue
            message = (
                f"concat({text(f'column {column!r} value ')}, '''' || {source} || '''', "
                f"{text(f' does not match the format {self.format!r}')})"
            )
            out[column] = (
                f"CASE WHEN {source} IS NOT NULL AND {parsed} IS NULL THEN "
                f"{frame.fail(message, column=column)} ELSE {parsed} END"
            )
        return self.rewrite(frame, out)


@register
class DateDiff(Transform):
    """Whole units from `start` to `end` (end - start), e.g. days between two dates."""

    step = "date_diff"
    family = "dates"

    start: str = Field(..., description="Column with the earlier time.")
    end: str = Field(..., description="Column with the later time.")
    unit: Literal["week", "day", "hour", "minute", "second"] = Field("day", description="Unit.")
    into: str = Field(..., description="Name of the new column.")

    def columns_read(self) -> list[str]:
        return [self.start, self.end]

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_temporal([self.start, self.end])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        # date_sub counts complete units (like dividing a pandas Timedelta and truncating);
        # date_diff would count boundaries crossed instead.
        start = f"CAST({ident(self.start)} AS TIMESTAMP)"
        end = f"CAST({ident(self.end)} AS TIMESTAMP)"
        expression = f"date_sub({text(self.unit)}, {start}, {end})"
        return frame.project({frame.new_column(self.into, replacing=[self.into]): expression})


@register
class DateTrunc(ColumnWise):
    """Truncate dates/timestamps to the start of their year, quarter, month, week, day, hour…"""

    step = "date_trunc"
    family = "dates"

    unit: Literal["year", "quarter", "month", "week", "day", "hour", "minute", "second"] = Field(
        ..., description="Unit to truncate to (week starts on Monday)."
    )

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_temporal(self.targets)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            truncated = f"date_trunc({text(self.unit)}, {ident(column)})"
            # DuckDB returns TIMESTAMP for a DATE; keep the column's own type.
            if base_type(frame.columns[column]) == "DATE":
                truncated = f"CAST({truncated} AS DATE)"
            out[column] = truncated
        return self.rewrite(frame, out)


__all__ = ["DateDiff", "DateParts", "DateTrunc", "ParseDatetime"]
