"""``siklus data crawl | tables | table | databases | crawlers``: the data catalog.

Thin commands over :mod:`siklus.data.catalog`. A crawl shows a spinner on stderr, so
``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, err_console, print_json, print_table
from siklus.data.catalog import crawl as run_crawl
from siklus.data.catalog import (
    diff_versions,
    get_table,
    get_table_version,
    list_crawlers,
    list_databases,
    list_tables,
    parse_table_ref,
    table_versions,
)
from siklus.exceptions import InvalidParameter


def _summary(changes: dict[str, Any] | None) -> str:
    """``+email:string -age ~score:int64→double`` for a table cell."""
    if not changes:
        return "-"
    parts = [f"+{c['name']}:{c['type']}" for c in changes.get("added", [])]
    parts += [f"-{c['name']}" for c in changes.get("removed", [])]
    parts += [f"~{c['name']}:{c['from']}→{c['to']}" for c in changes.get("retyped", [])]
    for other in ("partition_keys", "format", "location"):
        if other in changes:
            parts.append(f"{other} changed")
    return escape(" ".join(parts)) or "-"


def crawl(
    ctx: typer.Context,
    location: str = typer.Argument(
        ..., help="Folder, glob or fsspec URL of data files, or a SQLAlchemy URL."
    ),
    database: str = typer.Option(..., "--database", "-d", help="Catalog database to fill."),
    name: str = typer.Option(None, "--name", help="Crawler name (default: the database name)."),
    format: str = typer.Option(
        None, "--format", help="Files only: csv, parquet or jsonl (default: by name)."
    ),
    schema: str = typer.Option(
        None, "--schema", help="SQL databases only: the schema to crawl (default: the URL's)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Scan LOCATION; create or update its tables in --database, versioning schema changes."""
    ws = open_workspace(ctx).ctx
    with err_console.status(f"Crawling {escape(location)} …"):
        result = run_crawl(ws, location, database, name=name, format=format, schema=schema)
    if as_json:
        print_json(result.to_dict())
        return
    table = RichTable(title=f"Crawler {result.crawler} → database {result.database}")
    for column in ("table", "action", "version", "rows", "changes"):
        table.add_column(column)
    for item in result.tables:
        table.add_row(item["table"], item["action"], str(item["version"]),
                      str(item.get("rows", "-")), _summary(item["changes"]))  # fmt: skip
    console.print(table)
    for missing in result.missing:
        console.print(f"[yellow]missing[/] {missing}: no longer found at the location (kept).")
    for error in result.errors:
        console.print(f"[red]unreadable[/] {escape(error['file'])}: {escape(error['error'])}")
    console.print(f"{len(result.tables)} table(s) in {result.seconds:.2f}s.")


def tables(
    ctx: typer.Context,
    database: str = typer.Argument(None, help="Only tables of this database."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List catalog tables: location, format, columns, partitions, statistics."""
    found = list_tables(open_workspace(ctx).ctx, database)
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    rows = [
        {
            "table": t.ref, "format": t.format, "columns": len(t.columns),
            "partitions": ", ".join(c.name for c in t.partition_keys) or "-",
            "rows": t.stats.get("rows"), "bytes": t.stats.get("bytes"),
            "files": t.stats.get("files"), "version": t.version,
            "last_crawled": t.stats.get("last_crawled", "")[:19],
            "location": t.location + (" (missing)" if t.missing_since else ""),
        }
        for t in found
    ]  # fmt: skip
    columns = ("table", "format", "columns", "partitions", "rows", "bytes", "files", "version",
               "last_crawled", "location")  # fmt: skip
    print_table(rows, columns, as_json=False, title="Catalog tables")


def _parse_diff(diff: str) -> tuple[int, int]:
    old, sep, new = diff.partition(":")
    if not sep or not old.isdigit() or not new.isdigit():
        raise InvalidParameter(f"--diff {diff!r} is not valid: write FROM:TO, e.g. --diff 1:3.")
    return int(old), int(new)


def table(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="DATABASE.TABLE"),
    versions: bool = typer.Option(False, "--versions", help="List the table's versions."),
    version: int = typer.Option(None, "--version", help="Show this version and its changes."),
    diff: str = typer.Option(None, "--diff", help="Schema diff between two versions: FROM:TO."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a catalog table (schema, partitions, statistics), its versions or a diff."""
    ws = open_workspace(ctx).ctx
    database, name = parse_table_ref(ref)
    if diff is not None:
        old, new = _parse_diff(diff)
        result = diff_versions(ws, database, name, old, new)
        if as_json:
            print_json(result)
            return
        console.print(f"{ref}: version {old} → {new}: {_summary(result['changes'])}")
        return
    if versions:
        found = table_versions(ws, database, name)
        if as_json:
            print_json([v.to_dict() for v in found])
            return
        rows = [{"version": v.version, "created_at": v.created_at[:19], "columns": len(v.columns),
                 "changes": _summary(v.changes), "crawler": v.crawler} for v in found]  # fmt: skip
        print_table(rows, ("version", "created_at", "columns", "changes", "crawler"),
                    as_json=False, title=f"Versions of {ref}")  # fmt: skip
        return
    if version is not None:
        shown = get_table_version(ws, database, name, version)
        if as_json:
            print_json(shown.to_dict())
            return
        console.print(
            f"[bold]{ref}[/] version {shown.version} ({shown.created_at[:19]}), "
            f"{shown.format} at {escape(shown.location)}: {_summary(shown.changes)}"
        )
        print_table([c.to_dict() for c in shown.columns], ("name", "type"), as_json=False)
        return
    current = get_table(ws, database, name)
    if as_json:
        print_json(current.to_dict())
        return
    console.print(
        f"[bold]{current.ref}[/] — {current.format} at {escape(current.location)}, version "
        f"{current.version}, crawler {current.crawler or '-'}"
        + (
            f", [yellow]missing since {current.missing_since[:19]}[/]"
            if current.missing_since
            else ""
        )
    )
    keys = {c.name for c in current.partition_keys}
    print_table(
        [{**c.to_dict(), "partition": "yes" if c.name in keys else ""}
         for c in [*current.columns, *current.partition_keys]],
        ("name", "type", "partition"), as_json=False, title="Schema",
    )  # fmt: skip
    console.print("Statistics: " + escape(json.dumps(current.stats)))


def databases(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List catalog databases."""
    print_table(list_databases(open_workspace(ctx).ctx),
                ("name", "tables", "location", "created_at"), as_json=as_json,
                title="Catalog databases")  # fmt: skip


def crawlers(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List crawlers with their last run."""
    print_table(list_crawlers(open_workspace(ctx).ctx),
                ("name", "database", "type", "location", "last_run"), as_json=as_json,
                title="Crawlers")  # fmt: skip


def register(data_app: typer.Typer) -> None:
    """Attach the commands to the ``siklus data`` group."""
    data_app.command("crawl")(crawl)
    data_app.command("tables")(tables)
    data_app.command("table")(table)
    data_app.command("databases")(databases)
    data_app.command("crawlers")(crawlers)


__all__ = ["crawl", "crawlers", "databases", "register", "table", "tables"]
