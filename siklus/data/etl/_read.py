"""Read one data file into a Parquet part, streaming, with errors that name file and line.

DuckDB parses CSV and JSON Lines out of core and writes Parquet directly, so a file
larger than memory never passes through Python. Files on other filesystems (fsspec URLs)
are first copied, in blocks, into the scratch folder. Hive ``key=value`` folders become
string columns, so a partitioned folder loads into one table.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import uuid
from pathlib import Path

import duckdb

from siklus.data.etl._locate import FileEntry, filesystem, is_remote
from siklus.exceptions import InvalidInput, NotFound

_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line: (.*)")
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERT = re.compile(r'Error when converting column "(.+?)"\. (Could not convert .*)')


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def local_copy(entry: FileEntry, scratch: Path) -> Path:
    """The file as a local path: itself, or a block-wise copy into ``scratch``."""
    fs = filesystem(entry.url)
    if not is_remote(fs):
        path = Path(entry.path)
        if not path.exists():
            raise NotFound(f"File {entry.url!r} disappeared while loading. Run the load again.")
        return path
    target = scratch / f"download-{uuid.uuid4().hex}{Path(entry.path).suffix}"
    try:
        with fs.open(entry.path, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
    except FileNotFoundError:
        raise NotFound(
            f"File {entry.url!r} disappeared while loading. Run the load again."
        ) from None
    return target


def _split_header(header: str, tsv: bool) -> tuple[str, list[str]]:
    candidates = ["\t"] if tsv else [",", ";", "|", "\t"]
    splits = {d: next(csv.reader([header], delimiter=d), []) for d in candidates}
    delimiter = max(candidates, key=lambda d: len(splits[d]))
    return delimiter, splits[delimiter]


def csv_delimiter(header: str, *, tsv: bool = False) -> str:
    """The delimiter of a CSV file from its header line: the one of ``,;|\\t`` that splits
    it into the most fields (``tsv``: always a tab). The crawler and the loader agree."""
    return _split_header(header.lstrip("\ufeff"), tsv)[0]


def _header(path: Path) -> tuple[str, list[str]]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return _split_header(header, path.suffix.lower() == ".tsv")


def _csv_error(label: str, message: str) -> InvalidInput | None:
    line = _CSV_LINE.search(message)
    if line is None:
        return None
    original = _ORIGINAL.search(message)
    shown = f" (the line reads {original[1][:200]!r})" if original else ""
    counts = _EXPECTED.search(message)
    convert = _CONVERT.search(message)
    if counts:
        what = f"it has {counts[2]} fields where the header has {counts[1]}"
    elif convert:
        what = (
            f"column {convert[1]!r}: {convert[2].rstrip('.')} (the type was inferred from the "
            "first rows of the file)"
        )
    else:
        what = message.split("\n", 1)[0]
    return InvalidInput(
        f"{label}: line {line[1]} is malformed: {what}{shown}. Fix that line (or its quoting) "
        "and load again; nothing was stored."
    )


def _diagnose_csv(con: duckdb.DuckDBPyConnection, path: Path, label: str) -> InvalidInput | None:
    """Re-read every column as text with the header's own dialect to find the bad line.

    In a short file one malformed line can make DuckDB's dialect sniffer settle for a
    single column instead of failing; read with explicit options the same file fails on
    that line, with its number.
    """
    delimiter, names = _header(path)
    if len(names) < 2:
        return None
    columns = "{" + ", ".join(f"{sql_text(n)}: 'VARCHAR'" for n in names) + "}"
    reader = (
        f"read_csv({sql_text(str(path))}, auto_detect = false, header = true, "
        f"delim = {sql_text(delimiter)}, quote = '\"', escape = '\"', columns = {columns})"
    )
    try:
        con.execute(f"SELECT count(*) FROM {reader}").fetchall()
    except duckdb.Error as exc:
        return _csv_error(label, str(exc))
    return None


def _diagnose_jsonl(path: Path, label: str) -> InvalidInput | None:
    """The first line that is not one JSON object, by number."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                return InvalidInput(
                    f"{label}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}; "
                    f"the line reads {line.strip()[:200]!r}). Each line must be one JSON object; "
                    "fix it and load again; nothing was stored."
                )
            if not isinstance(value, dict):
                return InvalidInput(
                    f"{label}: line {number} is a JSON {type(value).__name__}, not an object. "
                    "Each line must be one JSON object; nothing was stored."
                )
    return None


def _reader(path: Path, format: str) -> str:
    literal = sql_text(str(path))
    if format == "csv":
        delim = ", delim = '\t'" if path.suffix.lower() == ".tsv" else ""
        return f"read_csv({literal}, hive_partitioning = false{delim})"
    if format == "jsonl":
        return f"read_json({literal}, format = 'newline_delimited', hive_partitioning = false)"
    return f"read_parquet({literal}, hive_partitioning = false)"


def _columns(con: duckdb.DuckDBPyConnection, path: Path, format: str) -> str:
    """The select list: ``*``, except that JSON Lines columns of mixed types come as text.

    DuckDB types a key whose values mix numbers, strings or objects as ``JSON``; written
    as is, the string ``"s"`` would be stored *with* its quotes. ``->> '$'`` gives the
    value itself as text (``s``, ``1``, ``{"x":1}``) and JSON null as NULL.
    """
    if format != "jsonl":
        return "*"
    described = con.execute(f"DESCRIBE SELECT * FROM {_reader(path, format)}").fetchall()
    if not any(row[1] == "JSON" for row in described):
        return "*"
    return ", ".join(
        f"{ident(row[0])} ->> '$' AS {ident(row[0])}" if row[1] == "JSON" else ident(row[0])
        for row in described
    )


def _not_utf8(path: Path, label: str) -> InvalidInput | None:
    """The first line that is not UTF-8, by number (DuckDB's report names the wrong line)."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return InvalidInput(
                    f"{label}: line {number} is not UTF-8 (byte {line[exc.start]:#04x} at "
                    f"column {exc.start + 1}); the file is probably in another encoding such as "
                    "Latin-1 or Windows-1252. Convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) "
                    "and load again; nothing was stored."
                )
    return None


def stage_file(
    con: duckdb.DuckDBPyConnection, entry: FileEntry, scratch: Path, target: Path
) -> int:
    """Write ``entry``'s rows (plus its partition columns) to Parquet at ``target``.

    Returns:
        The number of rows (0 for an empty JSON Lines file, which writes nothing).

    Raises:
        InvalidInput: A malformed CSV line or JSON line, an empty CSV file, an unreadable
            Parquet file; the message names the file and, where known, the line.
        NotFound: The file disappeared.
    """
    label = f"File {entry.url!r}"
    path = local_copy(entry, scratch)
    try:
        if path.stat().st_size == 0:
            if entry.format == "jsonl":
                return 0
            raise InvalidInput(f"{label} is empty: it has no header and no rows.")
        if entry.format == "jsonl":
            bad = _diagnose_jsonl(path, label)  # one streaming pass; DuckDB's line numbers drift
            if bad is not None:
                raise bad
        extra = "".join(
            f", {sql_text(value)} AS {ident(key)}" for key, value in entry.partitions.items()
        )
        try:
            relation = f"SELECT {_columns(con, path, entry.format)}{extra} FROM " + _reader(
                path, entry.format
            )
            con.execute(f"COPY ({relation}) TO {sql_text(str(target))} (FORMAT parquet)")
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            target.unlink(missing_ok=True)
            message = str(exc)
            lowered = message.lower()
            encoding = "unicode" in lowered or "utf-8" in lowered
            error = _not_utf8(path, label) if encoding else None
            if error is None and entry.format == "csv":
                error = _csv_error(label, message)
            if error is None and entry.format == "csv":
                error = _diagnose_csv(con, path, label)
            if error is not None:
                raise error from None
            raise InvalidInput(
                f"{label} cannot be read as {entry.format}: {message.splitlines()[0]}. Check "
                "the file or pass the right format; nothing was stored."
            ) from None
        if entry.format == "csv":
            staged = sql_text(str(target))
            columns = con.execute(
                f"SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet({staged}))"
            ).fetchall()
            _, names = _header(path)
            found = int(columns[0][0])
            if found - len(entry.partitions) != len(names):
                target.unlink(missing_ok=True)
                raise _diagnose_csv(con, path, label) or InvalidInput(
                    f"{label}: DuckDB found {found} column(s) but the header line has "
                    f"{len(names)} fields. Check the delimiter, the quoting, and that the first "
                    "line is a header; nothing was stored."
                )
        row = con.execute(f"SELECT count(*) FROM read_parquet({sql_text(str(target))})").fetchall()
        return int(row[0][0])
    finally:
        if path.parent == scratch:
            path.unlink(missing_ok=True)


__all__ = ["csv_delimiter", "ident", "local_copy", "sql_text", "stage_file"]
