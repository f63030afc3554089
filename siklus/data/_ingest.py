"""Ingest a CSV or Parquet file into the workspace as a versioned dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from siklus.data._datasets import store_table
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.store import DatasetVersion, WorkspaceContext

FORMATS = ("csv", "parquet")


def detect_format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise InvalidParameter(f"Format {format!r} is not supported; use one of {FORMATS}.")
        return format
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise InvalidParameter(
        f"Cannot tell the format of {path.name!r} from its extension; pass --format csv "
        "or --format parquet."
    )


def read_file(path: str | os.PathLike[str], format: str | None = None) -> pa.Table:
    """Read a local CSV or Parquet file into an Arrow table with clear errors."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"File {str(path)!r} does not exist. Check the path and try again.")
    if path.is_dir():
        raise InvalidParameter(f"{str(path)!r} is a folder; give a CSV or Parquet file.")
    kind = detect_format(path, format)
    if path.stat().st_size == 0:
        raise InvalidInput(f"File {str(path)!r} is empty: it has no header and no rows.")
    try:
        if kind == "csv":
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            parse = pacsv.ParseOptions(delimiter=delimiter)
            table = pacsv.read_csv(_header_line_end(path), parse_options=parse)
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(
            f"Cannot read {str(path)!r} as {kind.upper()}: {exc}. Fix the file (every row "
            "needs the same number of fields as the header) or pass the right --format."
        ) from exc
    if table.num_columns == 0:
        raise InvalidInput(f"File {str(path)!r} has no columns.")
    if kind == "csv" and table.num_rows == 0:
        table = _header_only(table)
    duplicated = {c for c in table.column_names if table.column_names.count(c) > 1}
    if duplicated:
        raise InvalidInput(f"File {str(path)!r} has duplicate column names: {sorted(duplicated)}.")
    return table


#: Up to this size a CSV file is checked for a missing line end (a header-only file).
_SHORT_CSV = 1 << 16


def _header_line_end(path: Path) -> Path | pa.BufferReader:
    """``path``, or its bytes with a line end when it is one line without one.

    Arrow cannot infer the columns of a file that is a header with no line end
    (``a,b``); ``siklus data load`` (DuckDB) reads it as two columns and no rows, and so
    must ingest. Only short files are looked at: one with rows has a line end.
    """
    if path.stat().st_size > _SHORT_CSV:
        return path
    raw = path.read_bytes()
    if b"\n" in raw or b"\r" in raw:
        return path
    return pa.BufferReader(raw + b"\n")


def _header_only(table: pa.Table) -> pa.Table:
    """A CSV with a header and no rows, its columns typed ``string`` instead of ``null``.

    Arrow types a column without values ``null``, which no recipe step, split or model
    accepts; ``string`` is what ``siklus data load``, an empty SQL query and a recipe
    reading the file give the same columns, so all of them agree.
    """
    schema = pa.schema(
        [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    )
    return schema.empty_table()


def ingest(
    ctx: WorkspaceContext,
    path: str | os.PathLike[str],
    name: str,
    *,
    format: str | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Load a CSV/Parquet file as a new version of dataset ``name``.

    Example:
        >>> version, created = ingest(ctx, "data.csv", "customers")  # doctest: +SKIP

    Returns:
        ``(version, created)``; identical content maps to the existing version.

    Raises:
        NotFound: The file does not exist.
        InvalidInput: The file cannot be parsed (the message quotes the parser's row).
    """
    table = read_file(path, format)
    return store_table(ctx, table, name, source=f"file:{Path(path).name}", tags=tags)
