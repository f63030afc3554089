"""What a crawler observes: tables in a folder of files, or in a SQL database.

Files are grouped into tables by folder: every file below the same folder (ignoring
hive-style ``key=value`` partition folders) and of the same format is one table, whose
partition columns are those keys. Schemas are read with pyarrow's streaming readers
(Parquet from the footer; CSV and JSON Lines from their first block, rows counted by
streaming through), so nothing is loaded whole and nothing is copied into the catalog.
Files with differing columns in one folder are merged: the table has every column, and a
column whose type differs between files gets the common type (integer + floating →
``double``, anything else → ``string``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import sqlalchemy as sa

from siklus.data.catalog._model import Column
from siklus.data.etl import (
    FileEntry,
    csv_delimiter,
    list_files,
    masked_url,
    missing_sqlite_file,
    open_location,
)
from siklus.exceptions import InvalidParameter, NotFound


@dataclass
class Observed:
    """One table as a crawler saw it."""

    name: str
    location: str
    format: str
    columns: list[Column]
    partition_keys: list[Column] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scan:
    """Everything one crawl saw: tables, and files it could not read (with why)."""

    tables: list[Observed]
    errors: list[dict[str, str]] = field(default_factory=list)


def _clean(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_\-]+", "_", name).strip("_-") or "table"
    return cleaned if cleaned[0].isalnum() else f"t{cleaned}"


def _unique_names(scan: Scan) -> Scan:
    """Give tables whose cleaned names collide (``my.t`` and ``my_t``) distinct names.

    Without it the second would overwrite the first in the catalog on every crawl. The
    first in scan order keeps the name; the next get ``_2``, ``_3`` … (scan order is
    sorted, so the names are stable from one crawl to the next).
    """
    taken = {t.name for t in scan.tables}
    seen: set[str] = set()
    for table in scan.tables:
        if table.name in seen:
            number = 2
            while f"{table.name}_{number}" in taken:
                number += 1
            table.name = f"{table.name}_{number}"
            taken.add(table.name)
        seen.add(table.name)
    return scan


def type_name(arrow_type: pa.DataType) -> str:
    """The Arrow type as the catalog writes it: 64-bit offset variants (``large_string``,
    ``large_binary``, ``large_list``) under their plain names, since they hold the same
    values and a file rewritten by another tool must not look retyped."""
    return re.sub(r"\blarge_(string|binary|list)", r"\1", str(arrow_type))


def common_type(a: str, b: str) -> str:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    numeric = ("int", "uint", "float", "double", "halffloat")
    if a.startswith(numeric) and b.startswith(numeric):
        return "double"
    return "string"


def _read_schema(entry: FileEntry, fs: Any) -> tuple[pa.Schema, int]:
    """Schema and row count of one file, streaming."""
    with fs.open(entry.path, "rb") as handle:
        if entry.format == "parquet":
            parquet = pq.ParquetFile(handle)
            return parquet.schema_arrow, parquet.metadata.num_rows
        if entry.size == 0:
            if entry.format == "jsonl":
                return pa.schema([]), 0
            raise ValueError("the file is empty (no header)")
        if entry.format == "csv":
            return _read_csv_schema(handle, entry)
        try:
            reader = pajson.open_json(handle)
            rows = sum(batch.num_rows for batch in reader)
        except pa.ArrowInvalid as exc:
            local = fs.protocol in ("file", "local") or "file" in fs.protocol
            if "changed from" not in str(exc) or not local:
                raise
            return _read_mixed_jsonl_schema(entry.path)
        return reader.schema, rows


def _read_mixed_jsonl_schema(path: str) -> tuple[pa.Schema, int]:
    """Schema and rows of a local JSON Lines file whose keys mix types between lines.

    pyarrow refuses such a file (``changed from number to string``); DuckDB reads it and
    types a mixed key as ``JSON``, which ``siklus data load`` stores as text, so the
    catalog calls it ``string`` too.
    """
    source = "read_json(" + "'" + path.replace("'", "''") + "', format = 'newline_delimited')"
    con = duckdb.connect()
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        columns = ", ".join(
            f'"{n}" ->> \'$\' AS "{n}"' if t == "JSON" else f'"{n}"'
            for n, t in ((row[0].replace('"', '""'), row[1]) for row in described)
        )
        schema = con.sql(f"SELECT {columns} FROM {source} LIMIT 0").to_arrow_table().schema
        rows = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    except duckdb.Error as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    finally:
        con.close()
    return schema, int(rows)


_CSV_COLUMN = re.compile(r"In CSV column #(\d+): CSV conversion error")


def _read_csv_schema(handle: Any, entry: FileEntry) -> tuple[pa.Schema, int]:
    """Schema and rows of a CSV file whose column types are inferred from its first block.

    A column that holds integers for the first megabyte and ``n/a`` further down fails
    pyarrow's conversion mid-file; such a column is then read as ``string`` (from the
    start) instead of the whole file being skipped.
    """
    header = handle.readline().decode("utf-8", errors="replace")
    delimiter = csv_delimiter(header, tsv=entry.path.lower().endswith(".tsv"))
    as_text: dict[int, str] = {}
    while True:
        handle.seek(0)
        reader = pacsv.open_csv(
            handle,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in as_text.values()}
            ),
        )
        try:
            rows = sum(batch.num_rows for batch in reader)
        except pa.ArrowInvalid as exc:
            match = _CSV_COLUMN.search(str(exc))
            index = int(match[1]) if match else -1
            if not 0 <= index < len(reader.schema) or index in as_text:
                raise
            as_text[index] = reader.schema.field(index).name
            continue
        return reader.schema, rows


def _partition_type(values: set[str]) -> str:
    return "int64" if values and all(re.fullmatch(r"-?\d+", v) for v in values) else "string"


def scan_files(location: str, format: str | None = None) -> Scan:
    """Group the files of ``location`` into tables and read their schemas and stats."""
    entries = list_files(location, format)
    fs, root = open_location(location)
    groups: dict[tuple[str, str], list[FileEntry]] = {}
    for entry in entries:
        parts = [p for p in PurePosixPath(entry.relative).parts[:-1] if "=" not in p]
        groups.setdefault(("/".join(parts), entry.format), []).append(entry)
    formats_per_folder: dict[str, int] = {}
    for folder, _ in groups:
        formats_per_folder[folder] = formats_per_folder.get(folder, 0) + 1
    first = entries[0]
    base = first.path[: len(first.path) - len(first.relative)].rstrip("/")
    named = [p for p in PurePosixPath(base).parts if "=" not in p and p != "/"]
    if len(entries) == 1 and first.path == root:  # one file: the table is named after it
        base_name = PurePosixPath(first.path).stem
    else:
        base_name = named[-1] if named else "table"
    scan = Scan(tables=[])
    for (folder, kind), files in sorted(groups.items()):
        name = _clean(folder.replace("/", "_") if folder else base_name)
        if formats_per_folder[folder] > 1:
            name = f"{name}_{kind}"
        types: dict[str, str] = {}
        rows = 0
        partitions: dict[str, set[str]] = {}
        read = []
        for entry in files:
            try:
                schema, count = _read_schema(entry, fs)
            except (pa.ArrowInvalid, OSError, ValueError) as exc:
                scan.errors.append({"file": entry.url, "error": str(exc).splitlines()[0]})
                continue
            read.append(entry)
            rows += count
            for item in schema:
                previous = types.get(item.name)
                text = type_name(item.type)
                types[item.name] = text if previous is None else common_type(previous, text)
            for key, value in entry.partitions.items():
                partitions.setdefault(key, set()).add(value)
        if not read:
            continue
        keys = [Column(k, _partition_type(v)) for k, v in partitions.items() if k not in types]
        first = read[0]
        table_root = first.url[: len(first.url) - len(first.relative)] + folder
        scan.tables.append(
            Observed(
                name=name,
                location=table_root.rstrip("/") or first.url,
                format=kind,
                columns=[Column(n, t) for n, t in types.items()],
                partition_keys=keys,
                stats={
                    "rows": rows,
                    "bytes": sum(e.size for e in read),
                    "files": len(read),
                    "partitions": len({tuple(sorted(e.partitions.items())) for e in read}),
                },
            )
        )
    return _unique_names(scan)


def scan_database(url: str, *, schema: str | None = None) -> Scan:
    """One table per table of the database at ``url`` (row counts by ``count(*)``)."""
    masked = masked_url(url)
    missing = missing_sqlite_file(url)
    if missing is not None:  # SQLite would create an empty file and find no tables
        raise NotFound(f"The SQLite database file {missing!r} of {masked} does not exist.")
    try:
        engine = sa.create_engine(url)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise InvalidParameter(f"No database driver for {masked}: {exc}.") from None
    scan = Scan(tables=[])
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as conn:
            for name in sorted(inspector.get_table_names(schema=schema)):
                columns = [
                    Column(c["name"], str(c["type"])) for c in inspector.get_columns(name, schema)
                ]
                table = sa.table(name, schema=schema)
                rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                size = None
                if engine.dialect.name == "postgresql":
                    quote = engine.dialect.identifier_preparer.quote
                    qualified = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
                    size = conn.execute(
                        sa.text("SELECT pg_total_relation_size(to_regclass(:t))"),
                        {"t": qualified},
                    ).scalar()
                scan.tables.append(
                    Observed(
                        name=_clean(name),
                        location=f"{masked}#{f'{schema}.' if schema else ''}{name}",
                        format="sql",
                        columns=columns,
                        stats={"rows": int(rows), "bytes": size, "files": None},
                    )
                )
    except sa.exc.DBAPIError as exc:
        raise InvalidParameter(
            f"Cannot crawl {masked}: {str(exc.orig).strip().splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    return _unique_names(scan)


def is_database_url(location: str) -> bool:
    """Whether ``location`` is a SQLAlchemy URL rather than a path or fsspec URL."""
    scheme = location.split("://", 1)[0] if "://" in location else ""
    dialect = scheme.split("+", 1)[0]
    return dialect in {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle",
                       "duckdb", "snowflake", "redshift", "bigquery", "trino"}  # fmt: skip


__all__ = [
    "Observed",
    "Scan",
    "common_type",
    "is_database_url",
    "scan_database",
    "scan_files",
    "type_name",
]
