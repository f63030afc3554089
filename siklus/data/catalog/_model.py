"""Catalog records and where they live in the metadata store.

The catalog holds metadata only: a *database* groups *tables*; a table is a location, a
format, a schema (column name + type), partition columns and runtime statistics. Every
schema change is a new *table version* with the diff against the one before.

Storage (no SQL tables of its own): resources ``catalog-database`` (name = database),
``catalog-table`` (name = ``DATABASE.TABLE``) and ``crawler``; table versions are events
``catalog-table-version`` of the table's name, crawler runs events ``crawler-run``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidParameter

DATABASE_KIND = "catalog-database"
TABLE_KIND = "catalog-table"
CRAWLER_KIND = "crawler"
VERSION_EVENT = "catalog-table-version"
CRAWL_EVENT = "crawler-run"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")


def check_name(name: str, what: str) -> str:
    """Database, table and crawler names: letters, digits, ``_`` and ``-`` (no dots)."""
    if not _NAME.match(name):
        raise InvalidParameter(
            f"{what.capitalize()} name {name!r} is not valid: use 1-128 letters, digits, '_' "
            "or '-', starting with a letter or digit."
        )
    return name


def parse_table_ref(ref: str) -> tuple[str, str]:
    """``"DB.TABLE"`` → ``(db, table)``."""
    database, sep, table = ref.partition(".")
    if not sep:
        raise InvalidParameter(f"Table reference {ref!r} is not valid: write DATABASE.TABLE.")
    return check_name(database, "database"), check_name(table, "table")


@dataclass(frozen=True)
class Column:
    """One column: its name and its Arrow type (``int64``, ``string``, ``timestamp[us]``…)."""

    name: str
    type: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


@dataclass(frozen=True)
class Table:
    """A catalog table as it is now (``version`` is its latest table version)."""

    database: str
    name: str
    location: str
    format: str
    columns: list[Column]
    partition_keys: list[Column]
    stats: dict[str, Any]
    version: int
    crawler: str | None = None
    missing_since: str | None = None
    revision: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.database}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database, "name": self.name, "location": self.location,
            "format": self.format, "columns": [c.to_dict() for c in self.columns],
            "partition_keys": [c.to_dict() for c in self.partition_keys],
            "stats": dict(self.stats), "version": self.version, "crawler": self.crawler,
            "missing_since": self.missing_since, **self.extra,
        }  # fmt: skip

    @classmethod
    def from_body(cls, body: dict[str, Any], revision: int = 0) -> Table:
        known = {"database", "name", "location", "format", "columns", "partition_keys", "stats",
                 "version", "crawler", "missing_since"}  # fmt: skip
        return cls(
            database=body["database"], name=body["name"], location=body["location"],
            format=body["format"], columns=[Column(**c) for c in body.get("columns", [])],
            partition_keys=[Column(**c) for c in body.get("partition_keys", [])],
            stats=dict(body.get("stats", {})), version=int(body.get("version", 1)),
            crawler=body.get("crawler"), missing_since=body.get("missing_since"),
            revision=revision, extra={k: v for k, v in body.items() if k not in known},
        )  # fmt: skip


@dataclass(frozen=True)
class TableVersion:
    """One schema of a table: what it was and what changed from the version before.

    ``changes`` has ``added`` and ``removed`` (columns), ``retyped`` (``name``,
    ``from``, ``to``) and, when they changed, ``partition_keys`` / ``format`` /
    ``location`` as ``{"from", "to"}``. Version 1 lists every column as added.
    """

    database: str
    table: str
    version: int
    columns: list[Column]
    partition_keys: list[Column]
    format: str
    location: str
    changes: dict[str, Any]
    crawler: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database, "table": self.table, "version": self.version,
            "columns": [c.to_dict() for c in self.columns],
            "partition_keys": [c.to_dict() for c in self.partition_keys],
            "format": self.format, "location": self.location, "changes": self.changes,
            "crawler": self.crawler, "created_at": self.created_at,
        }  # fmt: skip

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TableVersion:
        return cls(
            database=body["database"], table=body["table"], version=int(body["version"]),
            columns=[Column(**c) for c in body["columns"]],
            partition_keys=[Column(**c) for c in body.get("partition_keys", [])],
            format=body["format"], location=body["location"], changes=body.get("changes", {}),
            crawler=body.get("crawler"), created_at=body["created_at"],
        )  # fmt: skip


def schema_diff(old: list[Column], new: list[Column]) -> dict[str, list[dict[str, str]]]:
    """Columns added, removed and retyped from ``old`` to ``new`` (by name)."""
    before = {c.name: c.type for c in old}
    after = {c.name: c.type for c in new}
    return {
        "added": [{"name": n, "type": t} for n, t in after.items() if n not in before],
        "removed": [{"name": n, "type": t} for n, t in before.items() if n not in after],
        "retyped": [
            {"name": n, "from": before[n], "to": t}
            for n, t in after.items()
            if n in before and before[n] != t
        ],
    }


__all__ = [
    "CRAWLER_KIND",
    "CRAWL_EVENT",
    "DATABASE_KIND",
    "TABLE_KIND",
    "VERSION_EVENT",
    "Column",
    "Table",
    "TableVersion",
    "check_name",
    "parse_table_ref",
    "schema_diff",
]
