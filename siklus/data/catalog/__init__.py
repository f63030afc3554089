"""The data catalog: databases, tables (location, format, schema, partitions, statistics)
and crawlers that keep them up to date, with every schema change kept as a table version.

The catalog holds metadata only, never the data; it lives in the metadata store as
resources and events (see :mod:`siklus.data.catalog._model`). See docs/data-catalog.md.

Example:
    >>> from siklus.data.catalog import crawl, get_table, table_versions
    >>> crawl(ctx, "lake/sales", "sales")  # doctest: +SKIP
    >>> [v.changes for v in table_versions(ctx, "sales", "orders")]  # doctest: +SKIP
"""

from __future__ import annotations

from siklus.data.catalog._catalog import (
    create_database,
    delete_table,
    diff_versions,
    get_database,
    get_table,
    get_table_version,
    list_databases,
    list_tables,
    record_table,
    table_versions,
)
from siklus.data.catalog._crawl import CrawlResult, crawl, crawler_runs, list_crawlers
from siklus.data.catalog._model import (
    CRAWLER_KIND,
    DATABASE_KIND,
    TABLE_KIND,
    VERSION_EVENT,
    Column,
    Table,
    TableVersion,
    parse_table_ref,
    schema_diff,
)
from siklus.data.catalog._scan import scan_database, scan_files

__all__ = [
    "CRAWLER_KIND",
    "DATABASE_KIND",
    "TABLE_KIND",
    "VERSION_EVENT",
    "Column",
    "CrawlResult",
    "Table",
    "TableVersion",
    "crawl",
    "crawler_runs",
    "create_database",
    "delete_table",
    "diff_versions",
    "get_database",
    "get_table",
    "get_table_version",
    "list_crawlers",
    "list_databases",
    "list_tables",
    "parse_table_ref",
    "record_table",
    "scan_database",
    "scan_files",
    "schema_diff",
    "table_versions",
]
