"""Where asynchronous requests and results live, and how a worker reads a payload.

Everything an async endpoint writes stays under ``<workspace>/.siklus/async/<name>/<uid>/``
(``uid`` is one incarnation of the endpoint, so a recreated endpoint never picks up the
queue or results of an earlier one): ``inputs/`` holds inline payloads, ``results/`` one
JSON file per inference, written to a temporary name and renamed, so a reader never sees
half a result.

Payloads by reference (``input_location``) are read where they are: a path (absolute or
relative to the workspace folder) or an fsspec URL (``s3://…``, ``file://…``). A large
CSV is predicted in chunks of :data:`CHUNK_ROWS` rows and its result written chunk by
chunk (:class:`ResultWriter`), so memory is bounded by the chunk, not the file.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from siklus.exceptions import InvalidInput
from siklus.serving import PARQUET_TYPES, UnsupportedMediaType, parse_payload
from siklus.store import WorkspaceContext

#: Rows per predict call when a referenced CSV is streamed.
CHUNK_ROWS = 50_000
_BY_SUFFIX = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".parquet": "application/x-parquet",
    ".pq": "application/x-parquet",
}


def endpoint_dir(ctx: WorkspaceContext, name: str, uid: str) -> Path:
    """``<workspace>/.siklus/async/<name>/<uid>``: one incarnation's queue, inputs, results."""
    return ctx.state_dir / "async" / name / uid


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_url(location: str) -> bool:
    return "://" in location


def resolve_location(ctx: WorkspaceContext, location: Any) -> str:
    """Check that ``input_location`` names a readable file; return it absolute.

    Raises:
        InvalidInput: Not a non-empty string, or nothing readable is there (HTTP 400).
    """
    if not isinstance(location, str) or not location.strip():
        raise InvalidInput(
            '"input_location" must be a non-empty string: a file path (absolute or relative '
            "to the workspace folder) or an fsspec URL such as s3://bucket/key.csv."
        )
    if is_url(location):
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(location)
            found = fs.isfile(path)
        except Exception as exc:  # unknown protocol, missing driver, no credentials
            raise InvalidInput(
                f"input_location {location!r} cannot be opened: {type(exc).__name__}: {exc}."
            ) from None
        if not found:
            raise InvalidInput(f"input_location {location!r} does not exist (no such file).")
        return location
    path = Path(location).expanduser()
    if not path.is_absolute():
        path = ctx.root / path
    if path.is_dir():
        raise InvalidInput(
            f"input_location {location!r} is a folder ({path}), not a file; give one CSV or "
            "JSON file (send one request per file)."
        )
    if not path.is_file():
        raise InvalidInput(
            f"input_location {location!r} does not exist: no file at {path}. Give a path "
            "readable by the endpoint (absolute, or relative to the workspace folder)."
        )
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"input_location {location!r} is not readable (permissions).")
    return str(path)


def content_type_for(location: str, given: Any) -> str:
    """The payload's content type: as given, else by the file suffix.

    Raises:
        InvalidInput: Neither is known.
    """
    if given is not None:
        if not isinstance(given, str):
            raise InvalidInput('"content_type" must be a string such as "text/csv".')
        media = given.split(";", 1)[0].strip().lower()
        if media not in {*_BY_SUFFIX.values(), "application/csv", "text/json", *PARQUET_TYPES}:
            raise UnsupportedMediaType(
                f"content_type {given!r} of input_location {location!r} is not one a worker "
                'reads; use "text/csv", "application/json" or "application/x-parquet".'
            )
        _encoding(given)  # an unknown charset is refused now (415), not by the worker
        return given
    suffix = Path(location.split("?", 1)[0]).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise UnsupportedMediaType(
        f"Cannot tell the format of input_location {location!r} from its suffix; name it "
        '.csv, .json or .parquet, or add "content_type": "text/csv" (or '
        '"application/json", "application/x-parquet").'
    )


@contextlib.contextmanager
def _open(location: str) -> Iterator[Any]:
    if is_url(location):
        import fsspec

        with fsspec.open(location, "rb") as handle:
            yield handle
    else:
        with open(location, "rb") as handle:
            yield handle


class NotPlainNumbers(Exception):
    """A number column of a CSV read with ``typed=True`` holds something else: read the
    file again with ``typed=False``, where :func:`siklus.training.conform` names it."""


def read_frames(
    location: str,
    content_type: str,
    signature: Sequence[Mapping[str, Any]],
    *,
    typed: bool = False,
) -> Iterator[pd.DataFrame]:
    """The payload at ``location`` as DataFrames (one for JSON, chunks for CSV).

    Args:
        typed: Parse the CSV's integer and number columns as floats straight away (the
            C parser, about three times faster than text that ``conform`` converts
            value by value). A value that is not a plain number raises
            :class:`NotPlainNumbers`: the caller starts again untyped, so that what is
            accepted and what the message says stay exactly ``conform``'s.

    Raises:
        InvalidInput / UnsupportedMediaType: As :func:`siklus.serving.parse_payload`.
        NotPlainNumbers: See ``typed``.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media in PARQUET_TYPES:
        yield from _parquet_chunks(location)
        return
    if media not in ("text/csv", "application/csv"):
        with _open(location) as handle:
            yield parse_payload(handle.read(), content_type, signature)
        return
    names = [str(column["name"]) for column in signature]
    encoding = _encoding(content_type)
    with _open(location) as handle:
        first = _first_line(handle).decode(encoding, errors="replace")
    header = _is_header(first.split(","), names)
    numbers = [str(c["name"]) for c in signature if c.get("type") in ("integer", "number")]
    if typed and numbers and encoding == "utf-8-sig":  # Arrow reads UTF-8 only
        yield from _typed_csv_chunks(location, header, names, set(numbers))
        return
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "chunksize": CHUNK_ROWS,
        "encoding": encoding,
    }
    if not header:
        options.update(header=None, names=names)
    try:
        with _open(location) as handle:
            any_rows = False
            for chunk in pd.read_csv(handle, **options):
                if chunk.empty:  # a header-only file still yields one empty chunk
                    continue
                any_rows = True
                yield chunk.astype(object).where(chunk.notna(), None)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"The CSV at {location!r} is malformed: {exc}") from None
    if not any_rows:
        raise InvalidInput(f"The CSV at {location!r} holds zero data rows.")


def _first_line(handle: Any, block: int = 1 << 16) -> bytes:
    """The bytes before the first line end, LF, CRLF or a lone CR as pandas (and
    ``parse_payload``) also end lines; read in blocks, so a file of CR-ended lines is not
    read whole."""
    data = b""
    while chunk := handle.read(block):
        data += chunk
        ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
        if ends:
            return data[: min(ends)]
    return data


class _QuoteCounter:
    """A binary file that counts the double quotes read through it: Arrow accepts a file
    that ends inside a quoted field (cut short), pandas refuses it. An odd count at the
    end sends the file to the general path (a lone quote inside an unquoted field also
    makes it odd: then the general path reads it as it would anyway)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.quotes = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.quotes += data.count(b'"')
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _encoding(content_type: str) -> str:
    """The Python codec for the content type's ``charset`` (UTF-8 by default, a byte-order
    mark dropped), as :func:`siklus.serving.parse_payload` decodes an inline body.

    Raises:
        UnsupportedMediaType: A charset Python does not know.
    """
    import codecs

    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise UnsupportedMediaType(
            f"Unknown charset {charset!r} in content_type {content_type!r}; send UTF-8."
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def _parquet_chunks(location: str) -> Iterator[pd.DataFrame]:
    """A Parquet file in chunks of :data:`CHUNK_ROWS` rows (typed already: ``conform``
    checks them as it does an inline Parquet body)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    any_rows = False
    try:
        with _open(location) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=CHUNK_ROWS):
                if batch.num_rows:
                    any_rows = True
                    yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput(
            f"The file at {location!r} is not a readable Parquet file "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if not any_rows:
        raise InvalidInput(f"The Parquet file at {location!r} holds zero rows.")


def _typed_csv_chunks(
    location: str, header: bool, names: list[str], numbers: set[str]
) -> Iterator[pd.DataFrame]:
    """The CSV in chunks of :data:`CHUNK_ROWS` rows, number columns parsed as float64 by
    Arrow's CSV reader (multithreaded), every other column as text, empty cells missing.

    Arrow reads a number as ``conform`` does, except that it refuses booleans and a few
    spellings, reads the text ``nan`` (which ``conform`` refuses) as NaN, trims ``inf ``
    (refused too) and keeps the sign of ``-0`` (``conform``: 0.0). So anything it refuses,
    any file it cannot parse, a NaN, an infinity or a negative zero in a number column,
    and a header with a column twice or one the model lacks (pandas renames or decodes
    those differently) raise :class:`NotPlainNumbers`, and the caller reads the file the
    general way: what the worker answers is always the general path's.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(block_size=4 << 20, column_names=None if header else names)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    types = {name: pa.float64() if name in numbers else pa.string() for name in names}
    convert = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
    pending: list[pa.RecordBatch] = []
    held = 0
    any_rows = False
    try:
        with _open(location) as raw:
            handle = _QuoteCounter(raw)
            reader = pacsv.open_csv(
                handle, read_options=read, parse_options=parse, convert_options=convert
            )
            found = reader.schema.names
            if len(set(found)) != len(found) or not set(found) <= set(names):
                raise NotPlainNumbers(f"columns {found} are not the model's {names}")
            for batch in reader:
                _check_plain(batch, numbers)
                pending.append(batch)
                held += batch.num_rows
                any_rows = any_rows or batch.num_rows > 0
                while held >= CHUNK_ROWS:
                    table = pa.Table.from_batches(pending)
                    yield _frame(table.slice(0, CHUNK_ROWS), numbers)
                    rest = table.slice(CHUNK_ROWS)
                    pending, held = rest.to_batches(), rest.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise NotPlainNumbers(str(exc)) from None
    if handle.quotes % 2:
        raise NotPlainNumbers("an odd number of double quotes: a quote left open?")
    if held:
        yield _frame(pa.Table.from_batches(pending), numbers)
    elif not any_rows:
        raise InvalidInput(f"The CSV at {location!r} holds zero data rows.")


def _check_plain(batch: Any, numbers: set[str]) -> None:
    """Raise :class:`NotPlainNumbers` where a number column holds a NaN, an infinity or a
    negative zero (see :func:`_typed_csv_chunks`); empty cells are nulls, not NaN."""
    import numpy as np
    import pyarrow.compute as pc

    for name in numbers & set(batch.schema.names):
        column = batch.column(name)
        if pc.any(pc.invert(pc.is_finite(column))).as_py():
            raise NotPlainNumbers(f"column {name!r} holds a NaN or an infinity")
        zeros = column.filter(pc.equal(column, 0.0))
        if len(zeros) and np.signbit(zeros.to_numpy(zero_copy_only=False)).any():
            raise NotPlainNumbers(f"column {name!r} holds a negative zero")


def _frame(table: Any, numbers: set[str]) -> pd.DataFrame:
    """A chunk as pandas: number columns float64, text columns object with None missing
    (as the general path and a JSON payload give them)."""
    frame = table.to_pandas()
    text = [c for c in frame.columns if c not in numbers]
    if text:
        frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
    return frame


def _is_header(fields: list[str], names: list[str]) -> bool:
    """As :func:`siklus.serving.parse_payload`: mostly model column names → a header."""
    fields = [field.strip().strip('"') for field in fields]
    known = set(names)
    hits = sum(1 for field in fields if field in known)
    return hits > 0 and hits * 2 >= len(fields)


class ResultWriter:
    """Writes a result file chunk by chunk, so memory holds one chunk's answers, never the
    whole payload's (a referenced file of hundreds of MB has millions of rows).

    The file is the JSON object ``{"predictions": [...], "probabilities": [...],
    "classes": [...], "model_id": ..., "inference_id": ...}``, as
    ``json.dumps`` of the whole answer would give. Predictions go straight into a
    temporary file beside ``path``, probabilities into a second one that is appended at
    the end; :meth:`commit` fsyncs and renames it into place, :meth:`discard` removes
    both. Use as a context manager: leaving it without :meth:`commit` discards.

    A worker killed while writing leaves both temporary files; the next writer of the same
    result (the worker that takes the message over once its visibility timeout passed)
    removes them first, so they do not pile up until the endpoint is deleted.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        self._main = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in commit/discard
            "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
            encoding="utf-8",
        )  # fmt: skip
        self._proba = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", dir=path.parent, prefix=f".{path.name}.", suffix=".proba.tmp", delete=False,
            encoding="utf-8",
        )  # fmt: skip
        self._main.write('{"predictions": [')
        self._rows = 0
        self._classes: list[Any] | None = None
        self._done = False

    def add(self, part: Mapping[str, Any]) -> None:
        """Append one chunk's ``predictions`` (and ``probabilities``, ``classes``)."""
        for handle, values in ((self._main, part["predictions"]),
                               (self._proba, part.get("probabilities"))):  # fmt: skip
            if values:
                handle.write((", " if self._rows else "") + json.dumps(values)[1:-1])
        if "probabilities" in part:
            self._classes = list(part["classes"])
        self._rows += len(part["predictions"])

    def commit(self, **extra: Any) -> None:
        """Finish the object with ``classes`` and ``extra`` keys; rename it into place."""
        main = self._main
        main.write("]")
        if self._classes is not None:
            main.write(', "probabilities": [')
            self._proba.close()
            with open(self._proba.name, encoding="utf-8") as side:
                shutil.copyfileobj(side, main)
            main.write("]")
            extra = {"classes": self._classes, **extra}
        for key, value in extra.items():
            main.write(f", {json.dumps(key)}: {json.dumps(value)}")
        main.write("}")
        main.flush()
        os.fsync(main.fileno())
        main.close()
        os.replace(main.name, self.path)
        self._done = True
        self.discard()

    def discard(self) -> None:
        for handle in (self._main, self._proba):
            handle.close()
            if not (self._done and handle is self._main):
                with contextlib.suppress(OSError):
                    os.unlink(handle.name)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.discard()


__all__ = [
    "CHUNK_ROWS",
    "NotPlainNumbers",
    "ResultWriter",
    "content_type_for",
    "endpoint_dir",
    "read_frames",
    "resolve_location",
    "write_atomic",
]
