"""Where a batch transform reads its rows: a stored dataset version or files/globs.

Rows are streamed, never loaded whole: Parquet through ``ParquetFile.iter_batches``
(without pre-buffering, so one row group is never read into memory at once), CSV through
``pyarrow.csv.open_csv`` and JSON Lines through ``pyarrow.json.open_json``, each on a
file opened with fsspec (local paths, ``s3://``, ``memory://`` …). :func:`iter_chunks`
re-cuts the stream into chunks of exactly ``chunk_rows`` rows (the last may be shorter),
so chunk ``k`` always holds input rows ``[k * chunk_rows, (k + 1) * chunk_rows)`` however
the files were written: that numbering is what makes a resumed run skip exactly the
chunks that are done.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from siklus.data import resolve
from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState, NotFound
from siklus.store import WorkspaceContext

FORMATS = ("parquet", "csv", "jsonl")
_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_READ_BATCH = 65_536  # rows per read from a file; chunks are cut from these
_IO_BUFFER = 1 << 20


@dataclass(frozen=True)
class InputSource:
    """A resolved input: what it is, the files in reading order, and their fingerprint.

    Attributes:
        kind: ``"dataset"`` or ``"files"``.
        ref: The dataset reference (``name:version``) or the path/glob as given.
        dataset_version_id: The dataset version read (datasets only).
        format: ``parquet``, ``csv`` or ``jsonl``.
        files: fsspec URLs in reading order (sorted paths); for a dataset, set by the job
            (the artifact's verified local file).
        fingerprint: ``[{path, size, mtime}]`` per file, to refuse a resume over changed
            files (their chunks would no longer line up); empty for datasets, whose
            content is fixed by their hash.
        total_rows: Known for datasets and Parquet, None for CSV/JSON Lines.
        columns: The input columns.
    """

    kind: str
    ref: str
    dataset_version_id: str | None
    format: str
    files: tuple[str, ...]
    fingerprint: tuple[dict[str, Any], ...]
    total_rows: int | None
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "dataset_version_id": self.dataset_version_id,
            "format": self.format,
            "files": list(self.files),
            "fingerprint": list(self.fingerprint),
            "total_rows": self.total_rows,
            "columns": list(self.columns),
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> InputSource:
        return cls(
            kind=body["kind"],
            ref=body["ref"],
            dataset_version_id=body.get("dataset_version_id"),
            format=body["format"],
            files=tuple(body["files"]),
            fingerprint=tuple(body.get("fingerprint") or ()),
            total_rows=body.get("total_rows"),
            columns=tuple(body["columns"]),
        )


def _looks_like_files(text: str) -> bool:
    return (
        "://" in text
        or "/" in text
        or any(ch in text for ch in "*?[")
        or Path(text).exists()
        or Path(text).suffix.lower() in _SUFFIXES
    )


def _format_of(paths: Sequence[str], format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise InvalidParameter(
                f"Input format {format!r} is not supported; use one of {list(FORMATS)}."
            )
        return format
    found = {_SUFFIXES.get(Path(p).suffix.lower()) for p in paths}
    if None in found or len(found) != 1:
        raise InvalidParameter(
            f"Cannot tell the input format from the file names {list(paths)[:3]}; name "
            f"the files .parquet, .csv or .jsonl (all the same), or pass --format {FORMATS}."
        )
    return str(found.pop())


def _expand(text: str) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    """The filesystem and the sorted files a path, folder or glob names."""
    local = "://" not in text
    if local:
        text = str(Path(text).expanduser().resolve()) if not globlib.has_magic(text) else text
    fs, _, paths = fsspec.get_fs_token_paths(text)
    files: list[str] = []
    for path in paths:
        if fs.isdir(path):
            files.extend(
                p for p in fs.find(path) if Path(p).suffix.lower() in _SUFFIXES and fs.isfile(p)
            )
        elif fs.isfile(path):
            files.append(path)
    if not files:
        raise NotFound(
            f"Input {text!r} matches no file. Give a stored dataset (NAME or NAME:VERSION), "
            "a file, a folder or a glob such as 'data/*.parquet' (local or fsspec URL)."
        )
    return fs, sorted(set(files))


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs.unstrip_protocol(path)


def _file_schema(fs: fsspec.AbstractFileSystem, path: str, format: str) -> pa.Schema | None:
    """The columns of one file; None for a text file with nothing to read (see below)."""
    with fs.open(path, "rb") as handle:
        if format == "parquet":
            return pq.ParquetFile(handle).schema_arrow
        reader = _open_text_reader(handle, format, path)
        return None if reader is None else reader.schema


#: What Arrow says of a text file with no rows to read: an empty file, blank lines, or
#: a CSV header without a line end (whose columns it cannot tell).
_NOTHING_TO_READ = ("Empty CSV file", "Empty JSON stream")


def _open_text_reader(handle: Any, format: str, where: str) -> Any:
    """A streaming reader of ``handle``, or None when the file holds no rows at all.

    Such a file adds no rows (as a header-only CSV file adds none), so it is skipped
    rather than failing a transform whose other files have rows.
    """
    try:
        if format == "csv":
            return pacsv.open_csv(
                handle,
                read_options=pacsv.ReadOptions(block_size=_IO_BUFFER * 4),
                convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
            )
        return pajson.open_json(handle, read_options=pajson.ReadOptions(block_size=_IO_BUFFER * 4))
    except pa.ArrowInvalid as exc:
        if any(marker in str(exc) for marker in _NOTHING_TO_READ):
            return None
        raise InvalidInput(f"Cannot read {where} as {format}: {exc}") from None


def resolve_input(ctx: WorkspaceContext, input: str, *, format: str | None = None) -> InputSource:
    """Resolve ``input``: a dataset reference, or a file/folder/glob (local or fsspec URL).

    Raises:
        NotFound: Neither a dataset nor any file matches.
        InvalidParameter: The file format cannot be told, or files mix formats.
        InvalidInput: The input has no rows (a CSV file of only a header line, an empty
            dataset version): refused here, before any job, rather than by the job.
    """
    text = str(input)
    if not _looks_like_files(text):
        version = resolve(ctx, text)
        if version.row_count == 0:
            raise _no_rows(f"Dataset {version.ref}")
        if not ctx.artifacts.exists(version.sha256):
            raise NotFound(
                f"The data of dataset {version.ref} (artifact sha256:{version.sha256}) is "
                f"not in the artifact store at {ctx.artifacts.url}: it was deleted, or "
                "SIKLUS_ARTIFACT_ROOT points elsewhere."
            )
        return InputSource(
            kind="dataset",
            ref=version.ref,
            dataset_version_id=version.id,
            format="parquet",
            # The job finds the file and checks its hash: done here too, a large input
            # would be read (or downloaded, from a remote store) twice.
            files=(),
            fingerprint=(),
            total_rows=version.row_count,
            columns=tuple(c["name"] for c in version.schema),
        )
    fs, paths = _expand(text)
    fmt = _format_of(paths, format)
    schema = next((found for p in paths if (found := _file_schema(fs, p, fmt)) is not None), None)
    if schema is None:  # every file is empty (or blank lines, or a header without line end)
        raise _no_rows(f"Input {text!r} ({len(paths)} {fmt} file(s))")
    fingerprint = []
    total: int | None = 0 if fmt == "parquet" else None
    for path in paths:
        info = fs.info(path)
        fingerprint.append(
            {"path": _url(fs, path), "size": info.get("size"), "mtime": str(info.get("mtime"))}
        )
        if total is not None:
            with fs.open(path, "rb") as handle:
                total += pq.ParquetFile(handle).metadata.num_rows
    if total == 0 or (total is None and not _any_row(fs, paths, fmt)):
        raise _no_rows(f"Input {text!r} ({len(paths)} {fmt} file(s))")
    return InputSource(
        kind="files",
        ref=text,
        dataset_version_id=None,
        format=fmt,
        files=tuple(_url(fs, p) for p in paths),
        fingerprint=tuple(fingerprint),
        total_rows=total,
        columns=tuple(schema.names),
    )


def _any_row(fs: fsspec.AbstractFileSystem, paths: Sequence[str], format: str) -> bool:
    """Whether some CSV/JSON Lines file holds a row; reads only up to the first one."""
    for path in paths:
        for batch in _file_batches(_url(fs, path), format, ()):
            if batch.num_rows:
                return True
    return False


def _no_rows(what: str) -> InvalidInput:
    return InvalidInput(
        f"{what} has no rows (empty, blank lines, or only a header line): there is "
        "nothing to transform. Give an input with rows."
    )


def check_unchanged(source: InputSource) -> None:
    """Refuse to resume over input files that changed since the transform started.

    Raises:
        InvalidState: A file is gone, or its size or modification time differ.
    """
    for entry in source.fingerprint:
        fs, path = fsspec.core.url_to_fs(entry["path"])
        if not fs.exists(path):
            raise InvalidState(
                f"Input file {entry['path']} of this transform is gone; a resume must read "
                "the same files. Restore it, or start a new transform."
            )
        info = fs.info(path)
        if info.get("size") != entry["size"] or str(info.get("mtime")) != entry["mtime"]:
            raise InvalidState(
                f"Input file {entry['path']} changed since the transform started (size or "
                "modification time differ); its chunks would not line up with the finished "
                "ones. Start a new transform instead of resuming."
            )


def _file_batches(url: str, format: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as handle:
        if format == "parquet":
            reader = pq.ParquetFile(handle, pre_buffer=False, buffer_size=_IO_BUFFER)
            yield from reader.iter_batches(batch_size=_READ_BATCH, columns=list(columns))
            return
        stream = _open_text_reader(handle, format, url)
        while stream is not None:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise InvalidInput(
                    f"Cannot read {url} as {format}: {exc}. A value that does not match the "
                    "type of its column's first rows stops the reader; fix the file or "
                    "convert it to Parquet with explicit types."
                ) from None
            yield batch.select(list(columns))


def iter_chunks(
    source: InputSource, chunk_rows: int, columns: Sequence[str]
) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(index, table)`` with exactly ``chunk_rows`` rows per chunk (the last may
    be shorter), reading only ``columns``, across all files in order."""
    pending: list[pa.RecordBatch] = []
    held = 0
    index = 0
    for url in source.files:
        for batch in _file_batches(url, source.format, columns):
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:
                table = _concat(pending)
                yield index, table.slice(0, chunk_rows)
                index += 1
                rest = table.slice(chunk_rows)
                pending = rest.to_batches() if rest.num_rows else []
                held = rest.num_rows
    if held:
        yield index, _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table, without copying unless the schemas differ."""
    if all(b.schema.equals(batches[0].schema) for b in batches[1:]):
        return pa.Table.from_batches(batches)
    tables = [pa.Table.from_batches([b]) for b in batches]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInput(
            f"Input files disagree on column types ({exc}); give all files the same schema."
        ) from None


__all__ = ["FORMATS", "InputSource", "check_unchanged", "iter_chunks", "resolve_input"]
