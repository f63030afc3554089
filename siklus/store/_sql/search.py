"""Run filters and order-by clauses as SQL, on SQLite and PostgreSQL alike.

A run's latest metrics, params and tags are JSON objects on its row, so a filter is a
``WHERE`` over JSON path expressions and a search reads one row per run. Each
translation reproduces :meth:`siklus.store._filter.RunFilter.matches` exactly:

- a missing key is SQL NULL, and NULL makes the comparison (and, with no NOT in the
  grammar, the whole branch) false, as in Python;
- a param's JSON type decides numeric or text comparison (``json_type`` on SQLite,
  ``json_typeof`` on PostgreSQL), so ``'abc'`` is never cast to a number;
- text compares by code point (PostgreSQL with ``COLLATE "C"``, SQLite's default),
  like Python's ``str`` comparison.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from siklus.store._filter import OPS, Comparison, Junction, Node, OrderBy
from siklus.store._sql import models as m

_STORABLE_KEY = re.compile(r"[A-Za-z0-9_\-./: ]+")
_COLUMNS = {"metrics": m.RunRow.metrics, "params": m.RunRow.params, "tags": m.RunRow.tags}


def _text_of(column: Any, key: str) -> Any:
    """PostgreSQL ``column ->> key``: the value as text (NULL when absent)."""
    return column.op("->>", return_type=sa.Text)(sa.literal(key))


class _Json:
    """JSON value extraction for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def _path(self, key: str) -> str:
        return f'$."{key}"'

    def raw_number(self, column: Any, key: str) -> Any:
        """A value known to be a JSON number or null (a latest-metric value)."""
        if self.postgres:
            return sa.cast(_text_of(column, key), sa.Float)
        return sa.func.json_extract(column, self._path(key))

    def raw_text(self, column: Any, key: str) -> Any:
        """A value known to be a JSON string (a tag)."""
        if self.postgres:
            return _text_of(column, key).collate("C")
        return sa.func.json_extract(column, self._path(key))

    def number(self, column: Any, key: str) -> Any:
        """The value if it is a JSON number, else NULL (a param of either type)."""
        value: Any
        if self.postgres:
            is_number = sa.func.json_typeof(column.op("->")(sa.literal(key))) == "number"
            value = sa.cast(_text_of(column, key), sa.Float)
        else:
            is_number = sa.func.json_type(column, self._path(key)).in_(["integer", "real"])
            value = sa.func.json_extract(column, self._path(key))
        return sa.case((is_number, value), else_=sa.null())

    def text(self, column: Any, key: str) -> Any:
        """The value if it is a JSON string, else NULL."""
        if self.postgres:
            is_text = sa.func.json_typeof(column.op("->")(sa.literal(key))) == "string"
            value = _text_of(column, key)
            return sa.case((is_text, value), else_=sa.null()).collate("C")
        is_text = sa.func.json_type(column, self._path(key)) == "text"
        return sa.case((is_text, sa.func.json_extract(column, self._path(key))), else_=sa.null())

    def attribute(self, name: str) -> Any:
        column = getattr(m.RunRow, name)
        text_like = name not in ("start_time", "end_time")
        return column.collate("C") if self.postgres and text_like else column


def _compare(expr: Any, op: str, value: Any) -> Any:
    return OPS[op](expr, sa.literal(value))


def _comparison(json: _Json, node: Comparison) -> Any:
    if node.kind != "attributes" and not _STORABLE_KEY.fullmatch(node.key):
        return sa.false()  # no run can hold this key: the comparison is false
    value = node.value
    if node.kind == "metrics":
        return _compare(json.raw_number(m.RunRow.metrics, node.key), node.op, value.number)
    if node.kind == "tags":
        return _compare(json.raw_text(m.RunRow.tags, node.key), node.op, value.text)
    if node.kind == "attributes":
        return _compare(json.attribute(node.key), node.op, value.text)
    number = json.number(m.RunRow.params, node.key)
    text = json.text(m.RunRow.params, node.key)
    if value.number is not None:
        return sa.or_(_compare(number, node.op, value.number), _compare(text, node.op, value.text))
    if node.op == "!=":
        return sa.or_(number.is_not(None), text != sa.literal(value.text))
    return _compare(text, node.op, value.text)


def where_clause(dialect: str, node: Node) -> Any:
    """The SQL condition for a parsed filter."""
    json = _Json(dialect)

    def build(part: Node) -> Any:
        if isinstance(part, Junction):
            parts = [build(p) for p in part.parts]
            return sa.and_(*parts) if part.op == "and" else sa.or_(*parts)
        return _comparison(json, part)

    return build(node)


def _direction(expr: Any, descending: bool) -> Any:
    return (expr.desc() if descending else expr.asc()).nulls_last()


def order_clauses(dialect: str, order_by: Sequence[OrderBy]) -> list[Any]:
    """``ORDER BY`` terms: missing values last, then newest run first, then by id."""
    json = _Json(dialect)
    terms: list[Any] = []
    for clause in order_by:
        if clause.kind != "attributes" and not _STORABLE_KEY.fullmatch(clause.key):
            continue  # no run has the key: every run ties
        if clause.kind == "metrics":
            terms.append(
                _direction(json.raw_number(m.RunRow.metrics, clause.key), clause.descending)
            )
        elif clause.kind == "tags":
            terms.append(_direction(json.raw_text(m.RunRow.tags, clause.key), clause.descending))
        elif clause.kind == "params":
            # Numbers first (numerically), then text params (as text), then the rest.
            terms.append(_direction(json.number(m.RunRow.params, clause.key), clause.descending))
            terms.append(_direction(json.text(m.RunRow.params, clause.key), clause.descending))
        else:
            terms.append(_direction(json.attribute(clause.key), clause.descending))
    terms += [m.RunRow.start_time.desc(), m.RunRow.id.asc()]
    return terms


__all__ = ["order_clauses", "where_clause"]
