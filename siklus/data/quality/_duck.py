"""DuckDB over one Parquet file: the engine behind profiling, rule checks and PII scans.

Every statistic is computed by DuckDB straight from the dataset's Parquet artifact, so a
dataset larger than memory is profiled the same way as a small one (DuckDB streams the
columns it needs and spills to disk when an aggregate grows). The connection is
sandboxed: it may read that one file and nothing else, because rule sets carry custom
SQL written by users and a rule file should not be able to read ``/etc/passwd`` or write
files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb

#: Name of the view that adds each row's 0-based position in the file.
ROW = "__siklus_row__"

_NUMERIC_PREFIXES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL",
)  # fmt: skip
_INTEGER_TYPES = frozenset(_NUMERIC_PREFIXES[:10])
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})


def quote(name: str) -> str:
    """Quote ``name`` as a SQL identifier (any column name, even with quotes in it)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Quote ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def column_kind(duck_type: str) -> str:
    """Classify a DuckDB type: numeric, boolean, temporal, categorical or other.

    The kind decides which statistics make sense: mean and quantiles for numbers,
    min/max for times, value counts for everything.
    """
    base = duck_type.upper().split("(", 1)[0].strip()
    if duck_type.endswith("]") or base in ("STRUCT", "MAP", "UNION", "BLOB", "BIT", "JSON"):
        return "other"
    if base in _NUMERIC_PREFIXES:
        return "numeric"
    if base == "BOOLEAN":
        return "boolean"
    if base.startswith(("TIMESTAMP", "DATE", "TIME")):
        return "temporal"
    if base in ("VARCHAR", "UUID") or base.startswith("ENUM"):
        return "categorical"
    return "other"


def is_integer_type(duck_type: str) -> bool:
    return duck_type.upper() in _INTEGER_TYPES


def is_float_type(duck_type: str) -> bool:
    return duck_type.upper() in _FLOAT_TYPES


def value_expr(name: str, duck_type: str) -> str:
    """The column as SQL, with NaN turned into NULL for floating-point columns.

    pandas counts NaN as missing and DuckDB counts it as a value (the largest one), so
    without this the missing counts, minima and maxima of the two would disagree.
    """
    column = quote(name)
    if is_float_type(duck_type):
        return f"(CASE WHEN isnan({column}) THEN NULL ELSE {column} END)"
    return column


def connect(
    path: str | os.PathLike[str], *, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB whose view ``data`` is the Parquet file at ``path``.

    A second view, ``data_rows``, adds the column :data:`ROW` (the row's position in the
    file) so offending rows can be named. After the views exist the connection may read
    only ``path`` and its configuration is locked, so SQL from a rule file can neither
    read other files, write files, attach databases, install extensions nor undo that.

    Args:
        path: A local Parquet file (``ArtifactStore.local_path``).
        threads: DuckDB worker threads (default: all cores).
    """
    con = duckdb.connect(":memory:")
    source = literal(os.fspath(path))
    con.execute("SET TimeZone = 'UTC'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet({source})")
    names = [row[0] for row in con.execute("DESCRIBE data").fetchall()]
    if "file_row_number" in names:
        # The reader's row-number option would clash with the file's own column.
        rows = f"SELECT *, row_number() OVER () - 1 AS {ROW} FROM read_parquet({source})"
    else:
        rows = (
            f"SELECT * EXCLUDE (file_row_number), file_row_number AS {ROW} "
            f"FROM read_parquet({source}, file_row_number = true)"
        )
    con.execute(f"CREATE VIEW data_rows AS {rows}")
    con.execute(f"SET allowed_paths = [{source}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def schema(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """``[(column name, DuckDB type), ...]`` of the view ``data``, in file order."""
    return [(row[0], row[1]) for row in con.execute("DESCRIBE data").fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The single value of a one-row, one-column query (None when it returns no row)."""
    row = con.execute(sql, list(params) if params else None).fetchone()
    return None if row is None else row[0]


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> list[dict[str, Any]]:
    """Run ``sql`` and return its rows as dicts keyed by column name."""
    cursor = con.execute(sql, list(params) if params else None)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def json_value(value: Any) -> Any:
    """A value DuckDB returned, as something ``json.dumps`` writes faithfully.

    Times become ISO 8601 text, decimals floats, bytes hex, and non-finite floats text
    (JSON has no NaN or infinity).
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


__all__ = [
    "ROW",
    "column_kind",
    "connect",
    "fetch_dicts",
    "is_float_type",
    "is_integer_type",
    "json_value",
    "literal",
    "quote",
    "scalar",
    "schema",
    "value_expr",
]
