"""Steps that pick, name, type or compute columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from siklus.data.recipes._base import ColumnWise, Frame, OnColumns, Transform, register
from siklus.data.recipes._sql import (
    ROW_ID,
    TYPE_NAME,
    ident,
    is_numeric,
    is_text,
    literal,
    missing,
    quoted,
    text,
)


def _expression(value: str) -> str:
    if not value.strip():
        raise ValueError("the expression is empty")
    return value


@register
class Select(Transform):
    """Keep only the listed columns, in the listed order."""

    step = "select"
    family = "columns"

    columns: list[str] = Field(..., min_length=1, description="Columns to keep, in order.")

    def columns_read(self) -> list[str]:
        return list(self.columns)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        kept = ", ".join(ident(c) for c in dict.fromkeys(self.columns))
        return f"SELECT {kept}, {ident(ROW_ID)} FROM {frame.relation}"


@register
class DropColumns(OnColumns):
    """Drop columns (also the way to drop PII columns)."""

    step = "drop_columns"
    family = "columns"

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        if set(self.targets) >= set(frame.columns):
            raise frame.error("this would drop every column; keep at least one.")
        return frame.project(drop=self.targets)


@register
class Rename(Transform):
    """Rename columns: `mapping: {old: new}`; positions stay the same."""

    step = "rename"
    family = "columns"

    mapping: dict[str, str] = Field(..., min_length=1, description="Old name → new name.")

    def columns_read(self) -> list[str]:
        return list(self.mapping)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        names = [self.mapping.get(c, c) for c in frame.columns]
        for new in self.mapping.values():
            frame.new_column(new, replacing=self.mapping)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise frame.error(f"renaming gives two columns the name {duplicated[0]!r}.")
        items = [
            f"{ident(old)} AS {ident(new)}" for old, new in zip(frame.columns, names, strict=True)
        ]
        return f"SELECT {', '.join(items)}, {ident(ROW_ID)} FROM {frame.relation}"


@register
class Cast(ColumnWise):
    """Convert columns to a DuckDB type; a value that does not convert fails or becomes NULL."""

    step = "cast"
    family = "columns"

    to: str = Field(..., description="DuckDB type: INTEGER, DOUBLE, VARCHAR, DATE, DECIMAL(10,2)…")
    on_error: Literal["fail", "null"] = Field(
        "fail", description="fail: stop at the first bad value (naming the row); null: NULL it."
    )

    @field_validator("to")
    @classmethod
    def _type_name(cls, value: str) -> str:
        if not TYPE_NAME.match(value.strip()):
            raise ValueError("not a DuckDB type name, e.g. INTEGER, DOUBLE, DATE, DECIMAL(10,2)")
        return value.strip().upper()

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            source = ident(column)
            converted = f"TRY_CAST({source} AS {self.to})"
            if self.on_error == "null":
                out[column] = converted
                continue
            message = (
                f"concat({text(f'cannot cast column {column!r} value ')}, {quoted(source)}, "
                f"{text(f' to {self.to}')})"
            )
            out[column] = (
                f"CASE WHEN {source} IS NOT NULL AND {converted} IS NULL THEN "
                f"{frame.fail(message, column=column)} ELSE {converted} END"
            )
        return self.rewrite(frame, out)


@register
class Derive(Transform):
    """Add (or overwrite) a column computed by a SQL expression over the other columns."""

    step = "derive"
    family = "columns"

    into: str = Field(..., description="Name of the column to write.")
    expression: str = Field(..., description='DuckDB SQL, e.g. "price * quantity".')

    @field_validator("expression")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _expression(value)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        name = frame.new_column(self.into, replacing=[self.into])
        return frame.project({name: f"({self.expression})"})


@register
class CopyColumn(Transform):
    """Copy a column under a new name."""

    step = "copy_column"
    family = "columns"

    column: str = Field(..., description="Column to copy.")
    into: str = Field(..., description="Name of the copy.")

    def columns_read(self) -> list[str]:
        return [self.column]

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return frame.project({frame.new_column(self.into): ident(self.column)})


@register
class Coalesce(Transform):
    """Write the first non-missing value of several columns into one column."""

    step = "coalesce"
    family = "columns"

    columns: list[str] = Field(..., min_length=2, description="Columns to take values from.")
    into: str = Field(..., description="Column to write (may be one of `columns`).")

    def columns_read(self) -> list[str]:
        return list(self.columns)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        # Not SQL COALESCE: NaN counts as missing too (see _sql.missing).
        arms = " ".join(
            f"WHEN NOT {missing(ident(c), frame.columns[c])} THEN {ident(c)}" for c in self.columns
        )
        name = frame.new_column(self.into, replacing=self.columns)
        return frame.project({name: f"(CASE {arms} END)"})


@register
class Concat(Transform):
    """Join several columns as text into one column; missing values are skipped."""

    step = "concat"
    family = "columns"

    columns: list[str] = Field(..., min_length=1, description="Columns to join, in order.")
    into: str = Field(..., description="Column to write.")
    separator: str = Field("", description="Text between the values.")

    def columns_read(self) -> list[str]:
        return list(self.columns)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        parts = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in self.columns)
        name = frame.new_column(self.into, replacing=self.columns)
        return frame.project({name: f"concat_ws({text(self.separator)}, {parts})"})


@register
class ReplaceValues(ColumnWise):
    """Replace listed values (matched by their text form) with new ones; others stay."""

    step = "replace_values"
    family = "columns"

    mapping: dict[str, Any] = Field(
        ..., min_length=1, description="Old value (as text) → new value (null allowed)."
    )

    @field_validator("mapping")
    @classmethod
    def _scalars(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, new in value.items():
            if isinstance(new, dict | list):
                raise ValueError(f"the new value for {key!r} must be a single value")
        return value

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        news = [v for v in self.mapping.values() if v is not None]
        for column in self.targets:
            source = ident(column)
            type_name = frame.columns[column]
            numeric = is_numeric(type_name) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in news
            )
            as_text = not numeric and (is_text(type_name) or any(isinstance(v, str) for v in news))
            keep = f"CAST({source} AS VARCHAR)" if as_text else source
            arms = " ".join(
                f"WHEN {text(old)} THEN {literal(str(new) if as_text and new is not None else new)}"
                for old, new in self.mapping.items()
            )
            out[column] = f"(CASE CAST({source} AS VARCHAR) {arms} ELSE {keep} END)"
        return self.rewrite(frame, out)


@register
class MissingIndicator(OnColumns):
    """Add `<column><suffix>` = 1 where the column is missing, else 0."""

    step = "missing_indicator"
    family = "columns"

    suffix: str = Field("_missing", min_length=1, description="Appended to the column name.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {
            frame.new_column(
                c + self.suffix
            ): f"CAST({missing(ident(c), frame.columns[c])} AS INTEGER)"
            for c in self.targets
        }
        return frame.project(out)


__all__ = [
    "Cast",
    "Coalesce",
    "Concat",
    "CopyColumn",
    "Derive",
    "DropColumns",
    "MissingIndicator",
    "Rename",
    "ReplaceValues",
    "Select",
]
