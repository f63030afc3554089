"""Turn a location (path, glob, folder or fsspec URL) into the data files it names.

A location is resolved once, up front, into :class:`FileEntry` records with a size and a
fingerprint: incremental loads compare fingerprints to know which files are new, and a
load reads exactly the files it listed even if more arrive while it runs.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from siklus.exceptions import InvalidParameter, NotFound

FORMATS = ("csv", "parquet", "jsonl")
_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
_SQL_SCHEMES = frozenset(
    {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "duckdb"}
)
_GLOB = re.compile(r"[*?\[]")
_PARTITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class FileEntry:
    """One data file of a location.

    Attributes:
        url: How to open it again (a local path, or ``protocol://path``).
        path: The path inside its filesystem (what fsspec lists).
        relative: The path below the location's root folder (posix separators).
        size: Bytes.
        format: ``csv``, ``parquet`` or ``jsonl``.
        fingerprint: ``{"size", "mtime"}`` or, where the filesystem has no mtime,
            ``{"size", "sha256"}``: a file whose fingerprint changed counts as new.
    """

    url: str
    path: str
    relative: str
    size: int
    format: str
    fingerprint: dict[str, Any]

    @property
    def partitions(self) -> dict[str, str]:
        """Hive-style ``key=value`` folders between the root and the file."""
        found: dict[str, str] = {}
        for part in PurePosixPath(self.relative).parts[:-1]:
            match = _PARTITION.match(part)
            if match:
                found[match[1]] = match[2]
        return found


def format_of(name: str, format: str | None = None) -> str | None:
    """The format given (checked) or inferred from the extension; None when unknown."""
    if format is not None:
        if format not in FORMATS:
            raise InvalidParameter(
                f"Format {format!r} is not supported; use one of {', '.join(FORMATS)}."
            )
        return format
    return _SUFFIXES.get(PurePosixPath(name.lower()).suffix)


def is_remote(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol not in ("file", "local")


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs.unstrip_protocol(path) if is_remote(fs) else path


def _fingerprint(fs: fsspec.AbstractFileSystem, path: str, info: dict[str, Any]) -> dict[str, Any]:
    size = int(info.get("size") or 0)
    for key in ("mtime", "LastModified", "last_modified", "updated"):
        if info.get(key) is not None:
            value = info[key]
            return {"size": size, "mtime": value if isinstance(value, int | float) else str(value)}
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def list_files(location: str, format: str | None = None) -> list[FileEntry]:
    """Every data file of ``location``, sorted by path.

    Args:
        location: A file, a folder (searched recursively), or a glob (``data/*.csv``,
            ``memory://raw/**/*.jsonl``); local paths or any fsspec URL.
        format: Force one format for every file; otherwise each file's extension decides
            and files with other extensions in a folder are ignored.

    Raises:
        NotFound: Nothing exists at ``location`` or the glob matches no file.
        InvalidParameter: A single file whose format cannot be told from its name.
    """
    fs, root = open_location(location)
    if _GLOB.search(root):
        paths = sorted(p for p in fs.glob(root) if fs.isfile(p))
        base = root[: _GLOB.search(root).start()].rsplit("/", 1)[0]  # type: ignore[union-attr]
        explicit = False
    elif fs.isdir(root):
        paths = sorted(fs.find(root))
        base = root.rstrip("/")
        explicit = False
    elif fs.exists(root):
        paths = [root]
        base = root.rsplit("/", 1)[0] if "/" in root else ""
        explicit = True
    else:
        raise NotFound(f"Nothing exists at {location!r}. Check the path or URL.")
    entries = []
    for path in paths:
        name = PurePosixPath(path).name
        inside = path[len(base) :] if base and path.startswith(base) else name
        if not explicit and any(p.startswith((".", "_")) for p in PurePosixPath(inside).parts):
            continue  # hidden files and folders, _SUCCESS markers, Spark's _temporary/
        kind = format_of(name, format)
        if kind is None:
            if explicit:
                raise InvalidParameter(
                    f"Cannot tell the format of {location!r} from its extension; pass "
                    f"format= (one of {', '.join(FORMATS)})."
                )
            continue
        info = fs.info(path)
        relative = path[len(base) :].lstrip("/") if base and path.startswith(base) else name
        entries.append(
            FileEntry(
                url=_url(fs, path),
                path=path,
                relative=relative,
                size=int(info.get("size") or 0),
                format=kind,
                fingerprint=_fingerprint(fs, path, info),
            )
        )
    if not entries:
        raise NotFound(
            f"No CSV, Parquet or JSON Lines file found at {location!r} (extensions: "
            f"{', '.join(sorted(_SUFFIXES))}); check the location or pass a format."
        )
    return entries


def normalize(location: str) -> str:
    """Local paths absolute (so state and catalog entries do not depend on the cwd)."""
    if "://" in location:
        return location
    return os.path.abspath(os.path.expanduser(location))


def open_location(location: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of ``location`` and the path inside it, with clear errors."""
    scheme = location.split("://", 1)[0].split("+", 1)[0] if "://" in location else ""
    if scheme in _SQL_SCHEMES:
        raise InvalidParameter(
            f"{location.split('@')[-1]!r} is a database URL: name what to read with "
            "table= or query= (--table / --query)."
        )
    try:
        return url_to_fs(location)
    except ImportError as exc:
        raise InvalidParameter(f"Reading {location!r} needs another package: {exc}") from None
    except ValueError as exc:
        raise InvalidParameter(
            f"{location!r} is not a path or a URL fsspec knows ({exc}). Give a local path, a "
            "glob, or a URL such as s3://bucket/prefix/*.csv."
        ) from None


def filesystem(location: str) -> fsspec.AbstractFileSystem:
    return open_location(location)[0]


__all__ = [
    "FORMATS",
    "FileEntry",
    "filesystem",
    "format_of",
    "is_remote",
    "list_files",
    "normalize",
    "open_location",
]
