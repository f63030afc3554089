"""SQL text helpers: quoting, literals, DuckDB type families, value lookups.

Every identifier and value a recipe puts into SQL goes through :func:`ident` or
:func:`literal`, so a column called ``order`` or a value with a quote in it cannot change
the meaning of a query. Learned values come back from DuckDB as Python objects
(``Decimal``, ``date``) and are kept as JSON (:func:`json_value`), then turned back into
typed SQL literals when the recipe is applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

#: The hidden column that numbers the input rows (0-based). Steps that reorder rows
#: (joins, windows, sorts) use it to give the rows back in their input order, and
#: data errors use it to name the row. It never reaches the output.
ROW_ID = "__siklus_row"
RESERVED_PREFIX = "__siklus"

INTEGER_TYPES = frozenset(
    {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
    }
)  # fmt: skip
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})
TEMPORAL_TYPES = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS",
     "TIMESTAMP_S", "TIMESTAMPTZ"}
)  # fmt: skip
TEXT_TYPES = frozenset({"VARCHAR"})

#: A DuckDB type name as a user may write it: ``INTEGER``, ``DECIMAL(10, 2)``,
#: ``TIMESTAMP WITH TIME ZONE``, ``VARCHAR[]``. Anything else is refused before it
#: reaches SQL.
TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*( [A-Za-z]+)*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])?$")


def ident(name: str) -> str:
    """Quote an identifier, doubling embedded double quotes (``a"b`` → ``"a""b"``)."""
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    """Quote a string literal, doubling embedded single quotes."""
    return "'" + value.replace("'", "''") + "'"


def quoted(expr: str) -> str:
    """SQL text of ``expr``'s value in single quotes, for error messages built in SQL."""
    quote = text("'")
    return f"concat({quote}, CAST({expr} AS VARCHAR), {quote})"


def base_type(type_name: str) -> str:
    """``DECIMAL(10,2)`` → ``DECIMAL``; ``VARCHAR`` → ``VARCHAR``."""
    return type_name.split("(", 1)[0].strip().upper()


def is_float(type_name: str) -> bool:
    return base_type(type_name) in FLOAT_TYPES


def is_integer(type_name: str) -> bool:
    return base_type(type_name) in INTEGER_TYPES


def is_numeric(type_name: str) -> bool:
    return is_integer(type_name) or is_float(type_name) or base_type(type_name) == "DECIMAL"


def is_temporal(type_name: str) -> bool:
    return base_type(type_name) in TEMPORAL_TYPES


def is_text(type_name: str) -> bool:
    return base_type(type_name) in TEXT_TYPES


def missing(expr: str, type_name: str) -> str:
    """SQL true when ``expr`` is missing: NULL, or NaN for floating-point columns.

    pandas treats NaN as missing, and NaN can appear in DuckDB results (``ln(-1)``), so
    the float test keeps recipes and pandas in agreement.
    """
    if is_float(type_name):
        return f"({expr} IS NULL OR isnan({expr}))"
    return f"({expr} IS NULL)"


def literal(value: Any, type_name: str | None = None) -> str:
    """A SQL literal for a JSON value, cast to ``type_name`` when given.

    Floats are written with ``repr`` (shortest round-trip form) and cast to DOUBLE, so
    ``0.1`` stays the same double and never becomes a DECIMAL.
    """
    if value is None:
        sql = "NULL"
    elif isinstance(value, bool):
        sql = "TRUE" if value else "FALSE"
    elif isinstance(value, int):
        sql = str(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            sql = f"CAST({text(str(value))} AS DOUBLE)"
        else:
            sql = f"CAST({text(repr(value))} AS DOUBLE)"
    elif isinstance(value, str):
        sql = text(value)
    else:
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as a SQL literal")
    if type_name is not None:
        return f"CAST({sql} AS {type_name})"
    return sql


def json_value(value: Any) -> Any:
    """A DuckDB result value as JSON: Decimal → float, dates → ISO text, NaN → None."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def lookup(expr: str, keys: Sequence[Any], values: Sequence[Any], default: str) -> str:
    """SQL mapping ``expr`` through ``keys → values`` (``default`` SQL when not found).

    Short tables become a CASE; long ones a list search, which keeps the query text small
    for thousands of categories.
    """
    if not keys:
        return default
    if len(keys) <= 64:
        arms = " ".join(
            f"WHEN {literal(k)} THEN {literal(v)}" for k, v in zip(keys, values, strict=True)
        )
        return f"(CASE {expr} {arms} ELSE {default} END)"
    key_list = "[" + ", ".join(literal(k) for k in keys) + "]"
    value_list = "[" + ", ".join(literal(v) for v in values) + "]"
    return f"COALESCE(list_extract({value_list}, list_position({key_list}, {expr})), {default})"


__all__ = [
    "ROW_ID",
    "TYPE_NAME",
    "base_type",
    "ident",
    "is_float",
    "is_integer",
    "is_numeric",
    "is_temporal",
    "is_text",
    "json_value",
    "literal",
    "lookup",
    "missing",
    "quoted",
    "text",
]
