"""Where asynchronous requests and results live, and how a worker reads a payload.

Everything an async endpoint writes stays under ``<workspace>/.siklus/async/<name>/<uid>/``
(``uid`` is one incarnation of the endpoint, so a recreated endpoint never picks up the
queue or results of an earlier one): ``inputs/`` holds inline payloads, ``results/`` one
JSON file per inference, written to a temporary name and renamed, so a reader never sees
half a result.

Payloads by reference (``input_location``) are read where they are: a path (absolute or
relative to the workspace folder) or an fsspec URL (``s3://…``, ``file://…``). A large
CSV is predicted in chunks of :data:`CHUNK_ROWS` rows, so memory is bounded by the chunk,
not the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from siklus.exceptions import InvalidInput
from siklus.serving import UnsupportedMediaType, parse_payload
from siklus.store import WorkspaceContext

#: Rows per predict call when a referenced CSV is streamed.
CHUNK_ROWS = 50_000
_BY_SUFFIX = {".csv": "text/csv", ".json": "application/json"}


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
        return given
    suffix = Path(location.split("?", 1)[0]).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise UnsupportedMediaType(
        f"Cannot tell the format of input_location {location!r} from its suffix; name it "
        '.csv or .json, or add "content_type": "text/csv" (or "application/json").'
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


def read_frames(
    location: str, content_type: str, signature: Sequence[Mapping[str, Any]]
) -> Iterator[pd.DataFrame]:
    """The payload at ``location`` as DataFrames (one for JSON, chunks for CSV).

    Raises:
        InvalidInput / UnsupportedMediaType: As :func:`siklus.serving.parse_payload`.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in ("text/csv", "application/csv"):
        with _open(location) as handle:
            yield parse_payload(handle.read(), content_type, signature)
        return
    names = [str(column["name"]) for column in signature]
    with _open(location) as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    header = _is_header(first.split(","), names)
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "chunksize": CHUNK_ROWS,
        "encoding": "utf-8-sig",
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


def _is_header(fields: list[str], names: list[str]) -> bool:
    """As :func:`siklus.serving.parse_payload`: mostly model column names → a header."""
    fields = [field.strip().strip('"') for field in fields]
    known = set(names)
    hits = sum(1 for field in fields if field in known)
    return hits > 0 and hits * 2 >= len(fields)


def write_result(path: Path, answer: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(answer).encode())


__all__ = [
    "CHUNK_ROWS",
    "content_type_for",
    "endpoint_dir",
    "read_frames",
    "resolve_location",
    "write_atomic",
    "write_result",
]
