"""Data-quality rule sets: what "good data" means for a dataset, as validated values.

A rule set is written in YAML or JSON (or built in Python) and validated by pydantic,
so a typo in a rule file fails when it is loaded, naming the rule and the field, not
halfway through a check. Every rule has a ``severity``: a failing ``error`` rule fails
the check (and ``siklus data check`` exits 1); a failing ``warning`` rule is reported
but does not.

Example (YAML)::

    name: customers
    rules:
      - {type: not_null, column: customer_id}
      - {type: uniqueness, columns: [customer_id]}
      - {type: range, column: age, min: 0, max: 120}
      - {type: completeness, column: email, min_fraction: 0.95, severity: warning}
      - {type: freshness, column: updated_at, max_age: 24h}
      - {type: sql, name: paid_after_order, expression: "paid_at >= ordered_at"}
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from siklus.exceptions import InvalidInput, InvalidParameter, NotFound

Bound = int | float | datetime | date
Scalar = str | int | float | bool
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Rule(BaseModel):
    """Fields every rule has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="Label in reports; default: type(column).")
    severity: Literal["error", "warning"] = "error"
    description: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        target = getattr(self, "column", None) or ",".join(getattr(self, "columns", []) or [])
        rule_type = getattr(self, "type", "rule")
        return f"{rule_type}({target})" if target else str(rule_type)

    def referenced_columns(self) -> list[str]:
        """The dataset columns the rule reads (custom SQL: none known in advance)."""
        column = getattr(self, "column", None)
        return [column] if column else list(getattr(self, "columns", []) or [])


class CompletenessRule(_Rule):
    """At least ``min_fraction`` of the rows have a value in ``column``."""

    type: Literal["completeness"] = "completeness"
    column: str
    min_fraction: float = Field(ge=0.0, le=1.0)


class NotNullRule(_Rule):
    """No row is missing ``column`` (NULL, or NaN in a float column)."""

    type: Literal["not_null"] = "not_null"
    column: str


class UniquenessRule(_Rule):
    """No two rows share the same values of ``columns`` (rows with a missing key are skipped)."""

    type: Literal["uniqueness"] = "uniqueness"
    columns: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_column(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "column" in data and "columns" not in data:
            data = {**data, "columns": [data["column"]]}
            del data["column"]
        return data


class RangeRule(_Rule):
    """Every present value of ``column`` lies within [min, max] (open ends allowed)."""

    type: Literal["range"] = "range"
    column: str
    min: Bound | None = None
    max: Bound | None = None
    inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None:
            try:
                inverted = self.min > self.max  # type: ignore[operator]
            except TypeError:
                raise ValueError("min and max must both be numbers or both be times") from None
            if inverted:
                raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class AllowedValuesRule(_Rule):
    """Every present value of ``column`` is one of ``values``."""

    type: Literal["allowed_values"] = "allowed_values"
    column: str
    values: list[Scalar] = Field(min_length=1)


class RegexRule(_Rule):
    """Every present value of ``column``, as text, fully matches ``pattern`` (RE2 syntax)."""

    type: Literal["regex"] = "regex"
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        # DuckDB (RE2) evaluates the rule, so ask RE2, not Python's re: look-arounds and
        # back-references are valid in one and not the other.
        with duckdb.connect(":memory:") as con:
            try:
                con.execute("SELECT regexp_full_match('', ?)", [pattern]).fetchall()
            except duckdb.Error as exc:
                raise ValueError(f"not a valid RE2 regular expression: {exc}") from None
        return pattern


class RowCountRule(_Rule):
    """The dataset has between ``min`` and ``max`` rows (inclusive)."""

    type: Literal["row_count"] = "row_count"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCountRule:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class FreshnessRule(_Rule):
    """The newest value of the time column ``column`` is at most ``max_age`` before ``now``.

    ``max_age`` is seconds, ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` or ISO 8601
    (``"P1D"``). ``now`` defaults to the time of the check. Times without a time zone
    are taken as UTC.
    """

    type: Literal["freshness"] = "freshness"
    column: str
    max_age: timedelta
    now: datetime | None = None

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and (match := _DURATION.match(value)):
            return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
        return value

    @field_validator("max_age")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive")
        return value


def utc(moment: datetime | date) -> datetime:
    """``moment`` as an aware UTC datetime; naive times and dates are taken as UTC."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration_text(delta: timedelta) -> str:
    """``1d 12h 5m 3s`` style, to the second: easier to read than ``timedelta``'s str."""
    seconds = round(delta.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + " ".join(parts)


class SqlRule(_Rule):
    """Custom SQL over the view ``data``: a per-row ``expression`` or an offending-row ``query``.

    ``expression`` is a boolean SQL expression that must hold for every row (a row
    where it is false or NULL offends); ``query`` is a SELECT returning the offending
    rows. Exactly one of them is given.
    """

    type: Literal["sql"] = "sql"
    expression: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SqlRule:
        if (self.expression is None) == (self.query is None):
            raise ValueError("give exactly one of expression (per row) or query (offending rows)")
        return self


Rule = Annotated[
    CompletenessRule
    | NotNullRule
    | UniquenessRule
    | RangeRule
    | AllowedValuesRule
    | RegexRule
    | RowCountRule
    | FreshnessRule
    | SqlRule,
    Field(discriminator="type"),
]

RULE_TYPES = (
    "completeness", "not_null", "uniqueness", "range", "allowed_values", "regex",
    "row_count", "freshness", "sql",
)  # fmt: skip


class RuleSet(BaseModel):
    """A named list of rules, checked together against one dataset version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "rules"
    rules: list[Rule] = Field(min_length=1)


def _where(loc: tuple[int | str, ...]) -> str:
    where = ""
    fields: list[str] = []
    for step in loc:
        if isinstance(step, int):
            where += f"[{step}]"
        elif step in RULE_TYPES and not fields:
            where += f" ({step})"
        elif not where:
            where = str(step)
        else:
            fields.append(str(step))
    return " ".join([where or "(top level)", ".".join(fields)]).strip()


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"Rule set {source} is not valid ({exc.error_count()} error(s)):"]
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            tag = error.get("ctx", {}).get("tag")
            message = f"unknown rule type {tag!r}; use one of: {', '.join(RULE_TYPES)}"
        elif error["type"] == "union_tag_not_found":
            message = f"a rule needs `type:`, one of: {', '.join(RULE_TYPES)}"
        lines.append(f"  - {_where(error['loc'])}: {message}")
    lines.append("Fix the rules above and run the check again.")
    return "\n".join(lines)


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise NotFound(f"Rule file {str(path)!r} does not exist. Check the path.")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"Rule file {str(path)!r} is not valid YAML/JSON: {exc}") from None


def load_rules(
    source: RuleSet | Mapping[str, Any] | Sequence[Any] | str | os.PathLike[str],
) -> RuleSet:
    """Validate rules from a YAML/JSON file, a dict, a list of rules or a :class:`RuleSet`.

    Example:
        >>> rules = load_rules([{"type": "range", "column": "age", "min": 0, "max": 120}])
        >>> rules.rules[0].label
        'range(age)'

    Raises:
        NotFound: The file does not exist.
        InvalidInput: The file is not YAML/JSON.
        InvalidParameter: A rule is invalid; the message lists each field at fault.
    """
    if isinstance(source, RuleSet):
        return source
    label = "(given in Python)"
    data: Any = source
    if isinstance(source, str | os.PathLike):
        label = repr(str(source))
        data = _read_file(Path(source))
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        data = {"rules": [r.model_dump() if isinstance(r, BaseModel) else r for r in data]}
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"Rule set {label} must be a mapping with `rules:` (or a list of rules), "
            f"got {type(data).__name__}."
        )
    try:
        return RuleSet.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidParameter(_describe(exc, label)) from None


__all__ = [
    "RULE_TYPES",
    "AllowedValuesRule",
    "CompletenessRule",
    "FreshnessRule",
    "NotNullRule",
    "RangeRule",
    "RegexRule",
    "RowCountRule",
    "Rule",
    "RuleSet",
    "SqlRule",
    "UniquenessRule",
    "duration_text",
    "load_rules",
    "utc",
]
