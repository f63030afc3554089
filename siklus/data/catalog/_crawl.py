"""Crawlers: scan a location or a database and bring the catalog up to date.

A crawler is a named, stored configuration (location, database); each run observes the
tables, creates new ones, adds a table version for every schema change (with the diff),
refreshes statistics, and marks tables it created earlier but no longer finds as missing
(they are kept, with their history). A run is an event of the crawler, so past runs can
be listed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from siklus.data.catalog._catalog import (
    create_database,
    list_tables,
    mark_missing,
    now_iso,
    record_table,
)
from siklus.data.catalog._model import CRAWL_EVENT, CRAWLER_KIND, check_name
from siklus.data.catalog._scan import is_database_url, scan_database, scan_files
from siklus.data.etl import absolute_sqlite, masked_url, normalize
from siklus.exceptions import InvalidParameter, NotFound
from siklus.store import WorkspaceContext


@dataclass(frozen=True)
class CrawlResult:
    """What one crawler run did.

    Attributes:
        crawler: The crawler's name.
        database: The catalog database it writes to.
        tables: One entry per table seen: ``table``, ``action`` (``created``,
            ``updated`` = new version, ``unchanged``), ``version`` and ``changes``.
        missing: Tables this crawler made before that it did not find this time.
        errors: Files it could not read: ``file`` and ``error``.
        seconds: How long the run took.
    """

    crawler: str
    database: str
    location: str
    tables: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stored_location(location: str) -> str:
    return masked_url(location) if is_database_url(location) else location


def crawl(
    ctx: WorkspaceContext,
    location: str,
    database: str,
    *,
    name: str | None = None,
    format: str | None = None,
    schema: str | None = None,
    log: logging.Logger | None = None,
) -> CrawlResult:
    """Crawl ``location`` into catalog database ``database`` (created if missing).

    Example:
        >>> result = crawl(ctx, "lake/sales", "sales")  # doctest: +SKIP
        >>> [(t["table"], t["action"]) for t in result.tables]  # doctest: +SKIP

    Args:
        location: A folder, glob or fsspec URL of CSV/Parquet/JSON Lines files, or a
            SQLAlchemy URL (its password is never stored).
        database: The catalog database the tables go into.
        name: The crawler's name (default: the database name); one name, one location.
        format: Treat every file as this format (default: by extension).
        schema: For a SQL database, the schema to crawl (default: the connection's).

    Raises:
        NotFound: No data files at ``location``.
        InvalidParameter: Bad names, ``name`` already crawls another location, ``schema``
            for files or ``format`` for a SQL database (each applies only to the other).
    """
    started = time.monotonic()
    check_name(database, "database")
    crawler = check_name(name or database, "crawler")
    sql = is_database_url(location)
    if schema is not None and not sql:
        raise InvalidParameter(
            f"--schema {schema!r} names a schema of a SQL database, but {location!r} is not a "
            "SQLAlchemy URL: a folder of files has no schemas. Leave --schema out for files "
            "(their tables are its folders), or give a database URL such as "
            "'postgresql+psycopg://user@host/db'."
        )
    if format is not None and sql:
        raise InvalidParameter(
            f"--format {format!r} applies to data files, but {location!r} is a SQL database, "
            "whose tables have no file format. Leave --format out."
        )
    location = absolute_sqlite(location) if sql else normalize(location)
    stored = _stored_location(location)
    try:
        existing = ctx.store.get_resource(CRAWLER_KIND, crawler)
    except NotFound:
        existing = None
    if existing is not None and (
        existing.body.get("location") != stored or existing.body.get("database") != database
    ):
        raise InvalidParameter(
            f"Crawler {crawler!r} crawls {existing.body.get('location')!r} into "
            f"{existing.body.get('database')!r}; give this crawl its own name (--name)."
        )
    scan = scan_database(location, schema=schema) if sql else scan_files(location, format)
    create_database(ctx, database, location=stored)
    result = CrawlResult(crawler=crawler, database=database, location=stored,
                         errors=list(scan.errors))  # fmt: skip
    stamp = now_iso()
    seen = set()
    for observed in scan.tables:
        stats = {**observed.stats, "last_crawled": stamp}
        table, action, changes = record_table(
            ctx, database, observed.name, location=observed.location, format=observed.format,
            columns=observed.columns, partition_keys=observed.partition_keys, stats=stats,
            crawler=crawler,
        )  # fmt: skip
        seen.add(table.name)
        result.tables.append(
            {
                "table": table.ref,
                "action": action,
                "version": table.version,
                "changes": changes,
                "rows": stats.get("rows"),
            }
        )
        if log:
            log.info("%s %s (version %d)", table.ref, action, table.version)
    for table in list_tables(ctx, database):
        if table.crawler == crawler and table.name not in seen:
            mark_missing(ctx, table)
            result.missing.append(table.ref)
    result = CrawlResult(**{**asdict(result), "seconds": round(time.monotonic() - started, 3)})
    summary = {
        "at": stamp, "created": sum(t["action"] == "created" for t in result.tables),
        "updated": sum(t["action"] == "updated" for t in result.tables),
        "unchanged": sum(t["action"] == "unchanged" for t in result.tables),
        "missing": len(result.missing), "errors": len(result.errors),
    }  # fmt: skip
    ctx.store.put_resource(CRAWLER_KIND, crawler, {
        "name": crawler, "location": stored, "database": database,
        "type": "sql" if sql else "files", "format": format, "schema": schema,
        "last_run": summary, "tables": sorted(seen),
        "created_at": existing.body.get("created_at", stamp) if existing else stamp,
    })  # fmt: skip
    ctx.store.append_event(CRAWL_EVENT, crawler, result.to_dict())
    return result


def list_crawlers(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    """Every crawler with its location, database and last run summary."""
    return [dict(r.body) for r in ctx.store.list_resources(CRAWLER_KIND)]


def crawler_runs(ctx: WorkspaceContext, name: str) -> list[dict[str, Any]]:
    """The runs of one crawler, oldest first."""
    return [dict(e.body) for e in ctx.store.list_events(CRAWL_EVENT, check_name(name, "crawler"))]


__all__ = ["CrawlResult", "crawl", "crawler_runs", "list_crawlers"]
