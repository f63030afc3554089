"""A transform's work folder and its manifest of finished chunks.

``<workspace>/.siklus/transforms/<transform_id>/`` holds ``parts/`` (one Parquet file
per finished chunk), ``skipped/`` (rows left out under ``on_error="skip"``),
``chunks/`` (chunks handed to pool workers, deleted once predicted) and
``manifest.jsonl``: one line per finished chunk, appended and fsynced by the job process
only after the chunk's part file was renamed into place. A chunk counts as done when its
line is in the manifest *and* its part file exists; a torn last line (a crash while
appending) is ignored, so that chunk is simply done again. Done chunks are skipped on a
resume; anything else is (re)computed and its part file replaced whole, which is why a
killed and resumed transform has each input row exactly once.

The folder is locked (``flock``) while an attempt runs, so two attempts of one transform
never write it at the same time; the kernel drops the lock when the process dies.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidState
from siklus.serving.batch._predict import ChunkResult, part_path
from siklus.store import WorkspaceContext


@dataclass(frozen=True)
class DoneChunk:
    index: int
    rows_in: int
    rows_out: int
    skipped: int


def work_dir(ctx: WorkspaceContext, transform_id: str) -> Path:
    """The transform's folder (created with ``parts/``, ``skipped/`` and ``chunks/``)."""
    path = ctx.state_dir / "transforms" / transform_id
    for sub in ("parts", "skipped", "chunks"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def read_manifest(folder: Path) -> dict[int, DoneChunk]:
    """Finished chunks by index: manifest lines whose part file exists."""
    manifest = folder / "manifest.jsonl"
    done: dict[int, DoneChunk] = {}
    if not manifest.exists():
        return done
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            entry: dict[str, Any] = json.loads(line)
            chunk = DoneChunk(
                int(entry["chunk"]), int(entry["rows_in"]), int(entry["rows_out"]),
                int(entry["skipped"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue  # a line torn by a crash: that chunk is done again
        if part_path(folder / "parts", chunk.index).exists():
            done[chunk.index] = chunk
    return done


class Manifest:
    """Appends finished chunks to ``manifest.jsonl``, durably, one line each."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "manifest.jsonl"
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def record(self, result: ChunkResult) -> None:
        entry = {
            "chunk": result.index,
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "skipped": result.skipped,
        }
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


@contextmanager
def locked(folder: Path, transform_id: str) -> Iterator[None]:
    """Hold the transform's folder lock for one attempt.

    Raises:
        InvalidState: Another attempt of this transform is running.
    """
    with open(folder / "lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidState(
                f"Transform {transform_id} is already running in another job; wait for it "
                "or stop it before resuming."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


__all__ = ["DoneChunk", "Manifest", "locked", "read_manifest", "work_dir"]
