"""Read and write the catalog: databases, tables and their versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from siklus.data.catalog._model import (
    DATABASE_KIND,
    TABLE_KIND,
    VERSION_EVENT,
    Column,
    Table,
    TableVersion,
    check_name,
    schema_diff,
)
from siklus.exceptions import AlreadyExists, InvalidState, NotFound
from siklus.store import WorkspaceContext


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def create_database(
    ctx: WorkspaceContext, name: str, *, description: str = "", location: str | None = None
) -> dict[str, Any]:
    """Create database ``name`` if it does not exist; return its record."""
    check_name(name, "database")
    try:
        return get_database(ctx, name)
    except NotFound:
        pass
    body = {"name": name, "description": description, "location": location,
            "created_at": now_iso()}  # fmt: skip
    try:
        ctx.store.put_resource(DATABASE_KIND, name, body, expected_revision=0)
    except AlreadyExists:  # created by a concurrent crawler: fine, it exists now
        return get_database(ctx, name)
    return body


def get_database(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """Raises NotFound naming the database."""
    try:
        resource = ctx.store.get_resource(DATABASE_KIND, check_name(name, "database"))
    except NotFound:
        raise NotFound(
            f"Catalog database {name!r} does not exist; crawl a location into it first "
            "(siklus data crawl LOCATION --database NAME)."
        ) from None
    tables = len(ctx.store.list_resources(TABLE_KIND, prefix=f"{name}."))
    return {**resource.body, "tables": tables}


def list_databases(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    """Every database with its number of tables."""
    return [get_database(ctx, r.name) for r in ctx.store.list_resources(DATABASE_KIND)]


def list_tables(ctx: WorkspaceContext, database: str | None = None) -> list[Table]:
    """Tables of one database (or of all), by name."""
    if database is not None:
        get_database(ctx, database)
    prefix = f"{database}." if database else None
    return [Table.from_body(r.body, r.revision)
            for r in ctx.store.list_resources(TABLE_KIND, prefix=prefix)]  # fmt: skip


def get_table(ctx: WorkspaceContext, database: str, table: str) -> Table:
    """Raises NotFound naming the table and its database."""
    check_name(database, "database")
    check_name(table, "table")
    try:
        resource = ctx.store.get_resource(TABLE_KIND, f"{database}.{table}")
    except NotFound:
        raise NotFound(
            f"Table {table!r} does not exist in catalog database {database!r}; list them with "
            f"siklus data tables {database}."
        ) from None
    return Table.from_body(resource.body, resource.revision)


def table_versions(ctx: WorkspaceContext, database: str, table: str) -> list[TableVersion]:
    """Every version of a table, oldest first."""
    get_table(ctx, database, table)
    return [TableVersion.from_body(e.body)
            for e in ctx.store.list_events(VERSION_EVENT, f"{database}.{table}")]  # fmt: skip


def get_table_version(
    ctx: WorkspaceContext, database: str, table: str, version: int | None = None
) -> TableVersion:
    """Version ``version`` of a table (the latest when None)."""
    versions = table_versions(ctx, database, table)
    if version is None:
        return versions[-1]
    for item in versions:
        if item.version == version:
            return item
    raise NotFound(
        f"Table {database}.{table} has no version {version}; it has versions 1 to {len(versions)}."
    )


def diff_versions(
    ctx: WorkspaceContext, database: str, table: str, old: int, new: int
) -> dict[str, Any]:
    """The schema change between any two versions of a table."""
    a = get_table_version(ctx, database, table, old)
    b = get_table_version(ctx, database, table, new)
    changes: dict[str, Any] = schema_diff(a.columns, b.columns)
    changes.update(
        _other_changes(
            a, {"partition_keys": b.partition_keys, "format": b.format, "location": b.location}
        )
    )
    return {"table": f"{database}.{table}", "from": old, "to": new, "changes": changes}


def _other_changes(before: Any, after: dict[str, Any]) -> dict[str, Any]:
    """``{"from", "to"}`` for each of partition keys, format, location that changed."""
    found = {}
    for attribute, new in after.items():
        old = getattr(before, attribute)
        if old != new:
            if attribute == "partition_keys":
                old, new = [c.to_dict() for c in old], [c.to_dict() for c in new]
            found[attribute] = {"from": old, "to": new}
    return found


def record_table(
    ctx: WorkspaceContext,
    database: str,
    name: str,
    *,
    location: str,
    format: str,
    columns: list[Column],
    partition_keys: list[Column],
    stats: dict[str, Any],
    crawler: str | None,
    extra: dict[str, Any] | None = None,
) -> tuple[Table, str, dict[str, Any] | None]:
    """Create or update a table from what a crawler observed.

    A new table, or a changed schema (columns, partition keys, format, location), adds a
    table version with the diff; statistics alone update the table without a version.

    Returns:
        ``(table, action, changes)``: action ``created``, ``updated`` (new version) or
        ``unchanged``; ``changes`` is the diff of a new version, else None.

    Raises:
        InvalidState: Another writer updated the table at the same moment; crawl again.
    """
    check_name(name, "table")
    key = f"{database}.{name}"
    try:
        current: Table | None = get_table(ctx, database, name)
    except NotFound:
        current = None
    changes: dict[str, Any] | None = None
    if current is None:
        changes = schema_diff([], columns)
        version, action = 1, "created"
    else:
        changes = schema_diff(current.columns, columns)
        changes.update(
            _other_changes(
                current, {"partition_keys": partition_keys, "format": format, "location": location}
            )
        )
        if any(changes.values()):
            version, action = current.version + 1, "updated"
        else:
            version, action, changes = current.version, "unchanged", None
    table = Table(
        database=database, name=name, location=location, format=format, columns=columns,
        partition_keys=partition_keys, stats=stats, version=version, crawler=crawler,
        extra=dict(extra or {}),
    )  # fmt: skip
    try:
        resource = ctx.store.put_resource(
            TABLE_KIND, key, table.to_dict(), expected_revision=current.revision if current else 0
        )
    except (AlreadyExists, InvalidState) as exc:
        raise InvalidState(
            f"Table {key} was changed by another writer while crawling ({exc}); crawl again."
        ) from None
    if changes is not None:
        stamp = now_iso()
        ctx.store.append_event(VERSION_EVENT, key, {
            "database": database, "table": name, "version": version,
            "columns": [c.to_dict() for c in columns],
            "partition_keys": [c.to_dict() for c in partition_keys],
            "format": format, "location": location, "changes": changes, "crawler": crawler,
            "created_at": stamp,
        })  # fmt: skip
    return Table.from_body(resource.body, resource.revision), action, changes


def mark_missing(ctx: WorkspaceContext, table: Table) -> Table:
    """Note that a crawler no longer finds ``table`` (it is kept, with its history)."""
    if table.missing_since:
        return table
    body = {**table.to_dict(), "missing_since": now_iso()}
    resource = ctx.store.put_resource(TABLE_KIND, table.ref, body)
    return Table.from_body(resource.body, resource.revision)


def delete_table(ctx: WorkspaceContext, database: str, table: str) -> None:
    """Remove a table from the catalog (its version history stays as events)."""
    get_table(ctx, database, table)
    ctx.store.delete_resource(TABLE_KIND, f"{database}.{table}")


__all__ = [
    "create_database",
    "delete_table",
    "diff_versions",
    "get_database",
    "get_table",
    "get_table_version",
    "list_databases",
    "list_tables",
    "mark_missing",
    "now_iso",
    "record_table",
    "table_versions",
]
