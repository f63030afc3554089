"""Append metric points as fast as each database allows.

A flush of a tracking buffer writes thousands of rows; going through SQLAlchemy's
per-row parameter processing costs more than the database does. So the points (plain
tuples, already checked) go straight to the driver: PostgreSQL's ``COPY`` through
psycopg (several times faster than ``executemany``), one ``executemany`` of a fixed
statement elsewhere. Both run on the session's connection, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa

from siklus.store._sql import models as m

#: ``(run_id, key, value or None for NaN, step, timestamp)``, in the table's column order.
PointRow = tuple[str, str, float | None, int, float]

_COLUMNS = ("run_id", "key", "value", "step", "timestamp")
_TABLE = m.MetricRow.__tablename__
_METRICS = cast(sa.Table, m.MetricRow.__table__)
_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_points(connection: sa.Connection, rows: Sequence[PointRow]) -> None:
    """Insert ``rows`` into ``run_metrics`` on ``connection`` (its transaction)."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_psycopg(connection, rows)
        return
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None:  # a driver with named parameters: the portable (slower) way
        connection.execute(_METRICS.insert(), [dict(zip(_COLUMNS, r, strict=True)) for r in rows])
        return
    statement = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * 5)})"
    connection.exec_driver_sql(statement, list(rows))


def _copy_psycopg(connection: sa.Connection, rows: Sequence[PointRow]) -> None:
    raw: Any = connection.connection.dbapi_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {_TABLE} ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


__all__ = ["PointRow", "insert_points"]
