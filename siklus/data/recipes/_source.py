"""Where a recipe's rows come from: a dataset version, a CSV/Parquet file, an Arrow table.

Files are read by DuckDB directly, never loaded into Python. A CSV file is first copied
into a Parquet file in the run's scratch folder: that one streaming pass parses and
type-checks every line before any step runs (a malformed line fails fast, naming its line
number), gives every row a stable number, and lets the learning steps rescan columnar
data instead of re-parsing text.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from siklus.data._datasets import resolve
from siklus.data.recipes._errors import RecipeDataError, RecipeError
from siklus.data.recipes._sql import RESERVED_PREFIX, ROW_ID, ident, text
from siklus.exceptions import InvalidParameter, NotFound, SiklusError
from siklus.store import DatasetVersion, WorkspaceContext

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
ROW = ident(ROW_ID)

_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line: (.*)")
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERT = re.compile(r'Error when converting column "(.+?)"\. (Could not convert .*)')


@dataclass(frozen=True)
class Source:
    """The input of a run: a dataset version, or a file path (CSV or Parquet)."""

    version: DatasetVersion | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"dataset {self.version.ref}"
        return f"file {str(self.path)!r}"

    def describe(self) -> dict[str, Any]:
        """JSON for ``fitted_on`` and job inputs."""
        if self.version is not None:
            return {
                "dataset": self.version.ref,
                "dataset_version_id": self.version.id,
                "sha256": self.version.sha256,
            }
        return {"file": str(self.path)}


def is_file_reference(ref: str | os.PathLike[str]) -> bool:
    """Whether ``ref`` names a file rather than a dataset (``NAME[:VERSION]``)."""
    if isinstance(ref, os.PathLike):
        return True
    return os.sep in ref or "/" in ref or ref.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)


def open_source(
    ctx: WorkspaceContext | None, ref: str | os.PathLike[str] | DatasetVersion
) -> Source:
    """Resolve a dataset reference or a file path into a :class:`Source`.

    Raises:
        NotFound: No such file, or no such dataset/version.
        InvalidParameter: A folder, or a file type other than CSV/Parquet.
    """
    if isinstance(ref, DatasetVersion):
        return Source(version=ref)
    if is_file_reference(ref):
        path = Path(ref).expanduser().resolve()
        if not path.exists():
            raise NotFound(f"Input file {str(path)!r} does not exist. Check the path.")
        if path.is_dir():
            raise InvalidParameter(f"Input {str(path)!r} is a folder; give a CSV or Parquet file.")
        if not path.name.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
            raise InvalidParameter(
                f"Input {str(path)!r} is neither CSV ({', '.join(CSV_SUFFIXES)}) nor Parquet "
                f"({', '.join(PARQUET_SUFFIXES)}); rename it or ingest it first."
            )
        return Source(path=path)
    if ctx is None:
        raise InvalidParameter(f"Dataset {ref!r} needs a workspace; pass a file path instead.")
    return Source(version=resolve(ctx, str(ref)))


def has_no_rows(source: Source) -> bool:
    """Whether ``source`` surely holds no rows, known without reading it: a dataset version
    of 0 rows, a Parquet file whose footer says 0 rows, a CSV file of one header line."""
    if source.version is not None:
        return source.version.row_count == 0
    assert source.path is not None
    if source.path.name.lower().endswith(PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(source.path).metadata.num_rows == 0
        except (OSError, ValueError):
            return False  # not readable as Parquet: the job reports that, naming the file
    with open(source.path, encoding="utf-8", errors="replace") as handle:
        handle.readline()  # the header
        return not any(line.strip() for line in handle)


def parquet_relation(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """SQL reading a Parquet file with the hidden row id (its row number in the file)."""
    names = [
        r[0]
        for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({text(str(path))})").fetchall()
    ]
    if "file_row_number" in names:
        # The file has a real column of that name; number rows in scan order instead.
        return f"(SELECT *, row_number() OVER () - 1 AS {ROW} FROM read_parquet({text(str(path))}))"
    return (
        f"(SELECT * EXCLUDE (file_row_number), file_row_number AS {ROW} "
        f"FROM read_parquet({text(str(path))}, file_row_number = true))"
    )


def csv_reader(path: Path, **options: str) -> str:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else None
    args = [text(str(path))]
    if delimiter:
        args.append(f"delim = {text(delimiter)}")
    args.extend(f"{k} = {v}" for k, v in options.items())
    return f"read_csv({', '.join(args)})"


def csv_error(path: Path, message: str) -> RecipeDataError | None:
    line = _CSV_LINE.search(message)
    if line is None:
        return None
    number = int(line[1])
    original = _ORIGINAL.search(message)
    shown = f" (the line reads {original[1][:200]!r})" if original else ""
    counts = _EXPECTED.search(message)
    convert = _CONVERT.search(message)
    column = None
    if counts:
        what = f"it has {counts[2]} fields where the header has {counts[1]}"
    elif convert:
        column = convert[1]
        what = (
            f"column {column!r}: {convert[2].rstrip('.')}; the type was inferred from the first "
            "rows of the file"
        )
    else:
        what = message.split("\n", 1)[0].removeprefix("Invalid Input Error: ")
    return RecipeDataError(
        f"Reading input {path.name!r} (before step 1): line {number} is malformed: {what}"
        f"{shown}. Fix that line (or its quoting) and run the recipe again.",
        step=0,
        step_name="read",
        column=column,
        row=max(number - 1, 1),
    )


def _header_fields(path: Path) -> tuple[str, list[str]]:
    """The delimiter that splits the header line into the most fields, and those fields."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    candidates = ["\t"] if path.suffix.lower() == ".tsv" else [",", ";", "|", "\t"]
    splits = {d: next(csv.reader([header], delimiter=d), []) for d in candidates}
    delimiter = max(candidates, key=lambda d: len(splits[d]))
    return delimiter, splits[delimiter]


def _diagnose(con: duckdb.DuckDBPyConnection, path: Path) -> RecipeDataError | None:
    """Re-read with the header's own dialect (every column text) to find a malformed line.

    DuckDB's sniffer guesses the dialect from a sample; in a short file one bad line can
    make it give up, or settle for a single column, instead of reporting the line. Read
    with explicit options, the same file fails on that line, with its number.
    """
    delimiter, names = _header_fields(path)
    if len(names) < 2:
        return None
    columns = "{" + ", ".join(f"{text(n)}: 'VARCHAR'" for n in names) + "}"
    reader = (
        f"read_csv({text(str(path))}, auto_detect = false, header = true, "
        f"delim = {text(delimiter)}, quote = '\"', escape = '\"', columns = {columns})"
    )
    try:
        con.execute(f"SELECT count(*) FROM {reader}").fetchall()
    except duckdb.Error as exc:
        return csv_error(path, str(exc))
    return None


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, target: Path) -> None:
    """Copy a CSV file into Parquet at ``target`` (streaming), with line-numbered errors.

    Raises:
        RecipeDataError: A malformed line or a value that does not fit its column's type.
    """
    sql = f"COPY (SELECT * FROM {csv_reader(path)}) TO {text(str(target))} (FORMAT parquet)"
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, duckdb.InterruptException):
            raise
        message = str(exc)
        error = csv_error(path, message)
        if error is None and "sniffing" in message:
            error = _diagnose(con, path)
        if error is not None:
            raise error from None
        raise RecipeDataError(
            f"Reading input {path.name!r} (before step 1) failed: "
            f"{message.split(chr(10), 1)[0]}. Check that it is a CSV file with a header line.",
            step=0,
            step_name="read",
        ) from None
    staged = con.execute(f"DESCRIBE SELECT * FROM read_parquet({text(str(target))})").fetchall()
    try:
        check_sniffed(con, path, [r[0] for r in staged])
    except RecipeDataError:
        target.unlink(missing_ok=True)
        raise


def check_sniffed(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> None:
    """Raise when the columns DuckDB read are not the header line's fields.

    That happens when a malformed line fools the dialect sniffer: it reads each line as
    one text column, or decides there is no header. Re-reading with the header's own
    dialect names the line.
    """
    _, names = _header_fields(path)
    if len(columns) != len(names):
        raise _diagnose(con, path) or RecipeDataError(
            f"Reading input {path.name!r} (before step 1): DuckDB found {len(columns)} "
            f"column(s) but the header line has {len(names)} fields. Check the delimiter, "
            "the quoting, and that the first line is a header.",
            step=0,
            step_name="read",
        )


def check_input_columns(columns: Mapping[str, str], label: str) -> None:
    for name in columns:
        if name.startswith(RESERVED_PREFIX):
            raise RecipeDataError(
                f"Input {label} has a column {name!r}; names starting with {RESERVED_PREFIX!r} "
                "are reserved for siklus. Rename it before running a recipe.",
                step=0,
                step_name="read",
                column=name,
            )
    if not columns:
        raise RecipeDataError(f"Input {label} has no columns.", step=0, step_name="read")


class WorkspaceInputs:
    """Finds the other side of a join: a dataset in the workspace, or a file.

    Implements :class:`~siklus.data.recipes._base.Inputs` for the engine.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, ctx: WorkspaceContext | None) -> None:
        self.con = con
        self.ctx = ctx
        self.used: list[dict[str, Any]] = []

    def pin(self, dataset: str | None, path: str | None, where: str) -> dict[str, Any]:
        try:
            if dataset is not None:
                if self.ctx is None:
                    raise InvalidParameter("joining a dataset needs a workspace")
                return Source(version=resolve(self.ctx, dataset)).describe()
            return open_source(None, Path(str(path))).describe()
        except SiklusError as exc:
            raise RecipeError(f"{where}: {exc.message}") from None

    def relation(self, pinned: Mapping[str, Any], where: str) -> tuple[str, dict[str, str]]:
        if "sha256" in pinned:
            if self.ctx is None:
                raise RecipeError(f"{where}: joining a dataset needs a workspace.")
            path = self.ctx.artifacts.local_path(str(pinned["sha256"]))
            sql = parquet_relation(self.con, path)
        else:
            path = Path(str(pinned["file"]))
            if not path.exists():
                raise RecipeError(f"{where}: file {str(path)!r} to join does not exist.")
            if path.name.lower().endswith(PARQUET_SUFFIXES):
                sql = parquet_relation(self.con, path)
            else:
                sql = f"(SELECT *, row_number() OVER () - 1 AS {ROW} FROM {csv_reader(path)})"
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * EXCLUDE ({ROW}) FROM {sql}").fetchall()
        except duckdb.Error as exc:
            raise RecipeError(
                f"{where}: cannot read {path.name!r}: {str(exc).splitlines()[0]}"
            ) from None
        self.used.append(dict(pinned))
        return sql, {r[0]: str(r[1]) for r in rows}


__all__ = [
    "Source",
    "WorkspaceInputs",
    "check_input_columns",
    "check_sniffed",
    "csv_error",
    "csv_reader",
    "is_file_reference",
    "open_source",
    "parquet_relation",
    "stage_csv",
]
