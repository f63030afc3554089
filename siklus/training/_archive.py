"""Deterministic ``.tar.gz`` archives of folders: a script's source and the model it writes.

The same files always give the same bytes (sorted entries, fixed timestamps, owners and
permissions, no file name or time in the gzip header), so an archive's sha256 in the
content-addressed artifact store identifies the folder's content: training the same model
twice stores it once, and the hash in a manifest names exactly one set of files.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from siklus.exceptions import InvalidParameter

#: Folder names never part of a source snapshot (caches, VCS data, environments).
_SOURCE_SKIP = frozenset({"__pycache__", "node_modules"})


@dataclass(frozen=True)
class ArchiveInfo:
    """What went into an archive.

    Attributes:
        files: ``[{"path": "relative/posix/path", "size": bytes}, ...]``, sorted by path.
        total_bytes: Sum of the file sizes (before compression).
    """

    files: list[dict[str, int | str]]
    total_bytes: int


def _skipped(name: str, skip_hidden: bool) -> bool:
    return skip_hidden and (name.startswith(".") or name in _SOURCE_SKIP)


def list_files(
    folder: Path, *, skip_hidden: bool = False
) -> tuple[list[tuple[str, Path]], list[str]]:
    """``([(relative path, file), ...], [relative folder, ...])`` under ``folder``, sorted.

    Symbolic links to files are followed (their content is archived); links to folders
    are not descended into, so a link cannot pull in a whole tree by accident.
    """
    files: list[tuple[str, Path]] = []
    folders: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped(d, skip_hidden))
        here = Path(root)
        for d in dirs:
            folders.append((here / d).relative_to(folder).as_posix())
        for name in sorted(names):
            path = here / name
            if _skipped(name, skip_hidden) or not path.is_file():
                continue
            files.append((path.relative_to(folder).as_posix(), path))
    return sorted(files), sorted(folders)


def _info(name: str, kind: bytes, size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack_directory(
    folder: Path, dest: Path, *, skip_hidden: bool = False, max_bytes: int | None = None
) -> ArchiveInfo:
    """Write ``folder``'s files (and empty folders) to ``dest`` as a deterministic tar.gz.

    Args:
        folder: What to archive; paths inside the archive are relative to it.
        dest: The archive to write.
        skip_hidden: Leave out names starting with ``.`` and caches (``__pycache__``);
            for source snapshots.
        max_bytes: Refuse folders whose files add up to more than this.

    Raises:
        InvalidParameter: The files exceed ``max_bytes``.
    """
    files, folders = list_files(folder, skip_hidden=skip_hidden)
    sizes = [(name, path, path.stat().st_size) for name, path in files]
    total = sum(size for _, _, size in sizes)
    if max_bytes is not None and total > max_bytes:
        largest = sorted(sizes, key=lambda item: -item[2])[:3]
        listing = ", ".join(f"{name} ({size / 2**20:.1f} MiB)" for name, _, size in largest)
        raise InvalidParameter(
            f"{folder} holds {total / 2**20:.1f} MiB of files, more than the "
            f"{max_bytes / 2**20:.0f} MiB a source snapshot may hold (largest: {listing}). "
            "Keep data out of the source folder and pass it as a dataset channel instead."
        )
    with (
        open(dest, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in folders:
            tar.addfile(_info(name, tarfile.DIRTYPE, mode=0o755))
        for name, path, size in sizes:
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            with open(path, "rb") as handle:
                tar.addfile(_info(name, tarfile.REGTYPE, size, mode), handle)
    listing = [{"path": name, "size": size} for name, _, size in sizes]
    return ArchiveInfo(files=listing, total_bytes=total)  # type: ignore[arg-type]


def unpack_archive(archive: Path, dest: Path) -> None:
    """Extract a siklus archive into ``dest``, refusing unsafe members.

    The ``data`` filter rejects absolute paths, ``..`` and links that leave ``dest``, so
    even a tampered archive cannot write outside the folder.
    """
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, mode="r:gz") as tar:
        tar.extractall(dest, filter="data")


__all__ = ["ArchiveInfo", "list_files", "pack_directory", "unpack_archive"]
