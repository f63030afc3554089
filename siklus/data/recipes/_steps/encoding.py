"""Categorical encodings that learn their categories from data.

Learned category lists are kept in the fitted recipe, so data seen later is encoded with
the training categories: an unseen category gets all-zero one-hot columns, the
``unknown_value`` ordinal, or a frequency of 0, never a new column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from siklus.data.recipes._base import ColumnWise, Frame, Transform, register
from siklus.data.recipes._sql import ident, json_value, literal, lookup, missing


def _sort_key(value: Any) -> tuple[int, Any]:
    # Categories of one column share a type; the tag only guards against mixed JSON.
    return (0, value) if isinstance(value, int | float) else (1, str(value))


@register
class OneHot(Transform):
    """One 0/1 column per category (the `max_categories` most frequent), dropping the column."""

    step = "one_hot"
    family = "encoding"
    learns = True

    column: str = Field(..., description="The categorical column.")
    categories: list[Any] | None = Field(None, description="Fixed categories (no learning).")
    max_categories: int = Field(50, ge=1, le=1000, description="Keep the most frequent N.")
    prefix: str | None = Field(None, description="Name prefix; default: the column name.")
    separator: str = Field("_", description="Between prefix and category.")
    keep_original: bool = Field(False, description="Keep the categorical column too.")

    def needs_fit(self) -> bool:
        return self.categories is None

    def columns_read(self) -> list[str]:
        return [self.column]

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        c = ident(self.column)
        present = f"NOT {missing(c, frame.columns[self.column])}"
        return {
            "top": (
                f"(SELECT list(v ORDER BY n DESC, v) FROM (SELECT {c} AS v, count(*) AS n "
                f"FROM {frame.relation} WHERE {present} GROUP BY {c} "
                f"ORDER BY n DESC, v LIMIT {self.max_categories}))"
            ),
            "distinct": f"count(DISTINCT {c}) FILTER (WHERE {present})",
        }

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        categories = sorted(json_value(row["top"] or []), key=_sort_key)
        return {"categories": categories, "distinct": int(row["distinct"] or 0)}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        categories = self.categories if self.categories is not None else state["categories"]
        source = ident(self.column)
        type_name = frame.columns[self.column]
        prefix = self.column if self.prefix is None else self.prefix
        drop = [] if self.keep_original else [self.column]
        out = {}
        for value in categories:
            name = frame.new_column(f"{prefix}{self.separator}{value}", replacing=drop)
            if name in out:
                raise frame.error(f"two categories give the column name {name!r}.")
            out[name] = f"CAST(COALESCE({source} = {literal(value, type_name)}, FALSE) AS INTEGER)"
        return frame.project(out, drop=drop)


@register
class OrdinalEncode(ColumnWise):
    """Replace categories by their position in the sorted (or given) category list."""

    step = "ordinal_encode"
    family = "encoding"
    learns = True

    categories: list[Any] | None = Field(None, description="Fixed order (no learning).")
    unknown_value: int | None = Field(-1, description="Code for a category not learned.")
    max_categories: int = Field(10000, ge=1, description="Refuse columns with more categories.")

    def needs_fit(self) -> bool:
        return self.categories is None

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        out = {}
        for i, column in enumerate(self.targets):
            c = ident(column)
            present = f"NOT {missing(c, frame.columns[column])}"
            out[f"c{i}"] = (
                f"(SELECT list(v ORDER BY v) FROM (SELECT DISTINCT {c} AS v FROM {frame.relation} "
                f"WHERE {present} LIMIT {self.max_categories + 1}))"
            )
        return out

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        learned = {}
        for i, column in enumerate(self.targets):
            values = json_value(row[f"c{i}"] or [])
            if len(values) > self.max_categories:
                raise frame.error(
                    f"column {column!r} has more than {self.max_categories} categories; raise "
                    "`max_categories` or use `frequency_encode` or `hash`.",
                    column=column,
                )
            learned[column] = values
        return {"categories": learned}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            if self.categories is not None:
                categories = list(self.categories)
            else:
                categories = state["categories"][column]
            source = ident(column)
            default = literal(self.unknown_value)
            code = lookup(source, categories, list(range(len(categories))), default)
            out[column] = f"CAST(CASE WHEN {source} IS NULL THEN NULL ELSE {code} END AS INTEGER)"
        return self.rewrite(frame, out)


@register
class FrequencyEncode(ColumnWise):
    """Replace categories by how often they occurred in the data it was fitted on."""

    step = "frequency_encode"
    family = "encoding"
    learns = True

    normalize: bool = Field(False, description="Share of rows (0-1) instead of a count.")
    max_categories: int = Field(100000, ge=1, description="Refuse columns with more categories.")

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        out = {}
        for i, column in enumerate(self.targets):
            c = ident(column)
            present = f"NOT {missing(c, frame.columns[column])}"
            out[f"c{i}"] = (
                f"(SELECT list({{'v': v, 'n': n}} ORDER BY v) FROM (SELECT {c} AS v, count(*) AS n "
                f"FROM {frame.relation} WHERE {present} GROUP BY {c} "
                f"LIMIT {self.max_categories + 1}))"
            )
            out[f"t{i}"] = f"count(*) FILTER (WHERE {present})"
        return out

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        learned = {}
        for i, column in enumerate(self.targets):
            pairs = row[f"c{i}"] or []
            if len(pairs) > self.max_categories:
                raise frame.error(
                    f"column {column!r} has more than {self.max_categories} categories; raise "
                    "`max_categories`.",
                    column=column,
                )
            learned[column] = {
                "values": [json_value(p["v"]) for p in pairs],
                "counts": [int(p["n"]) for p in pairs],
                "total": int(row[f"t{i}"] or 0),
            }
        return {"columns": learned}

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            learned = state["columns"][column]
            counts: list[Any] = learned["counts"]
            if self.normalize:
                total = max(learned["total"], 1)
                counts = [n / total for n in counts]
            source = ident(column)
            zero = literal(0.0) if self.normalize else "0"
            code = lookup(source, learned["values"], counts, zero)
            out[column] = f"(CASE WHEN {source} IS NULL THEN NULL ELSE {code} END)"
        return self.rewrite(frame, out)


__all__ = ["FrequencyEncode", "OneHot", "OrdinalEncode"]
