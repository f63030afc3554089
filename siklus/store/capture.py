"""Data capture: the file format that real-time endpoints write and monitoring reads.

An endpoint records a sampled share of its requests and responses; monitoring compares
them with the training baseline and joins ground-truth labels on the inference id. Both
sides use this module, so the format has one definition and ``serving`` and
``monitoring`` never import each other.

Layout (rotated files, one JSON object per line, UTF-8)::

    <workspace>/.siklus/data-capture/<endpoint>/<variant>/YYYY/MM/DD/HH/<ms>-<pid>-<rand>.jsonl

One line is one request::

    {"inference_id": "…", "time": 1764230400.123, "endpoint": "e", "variant": "v1",
     "model": "group:3", "columns": ["a", "b"], "rows": [[1.0, "x"], …],
     "row_ids": ["…", …], "predictions": [0, …]}

``row_ids`` gives every row its own id (the inference id for a single-row request,
``<inference id>:<i>`` otherwise); ground truth is uploaded per row id. A file is
rotated when it passes ``max_file_bytes`` or the hour changes. Each line is written with
one ``write`` and flushed, so a reader sees whole lines; a line cut short by a killed
process is reported by :func:`read_capture` and skipped.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from siklus.exceptions import InvalidParameter

CAPTURE_DIR = Path(".siklus") / "data-capture"


def capture_root(workspace_root: str | os.PathLike[str], endpoint: str) -> Path:
    """The folder holding every captured file of ``endpoint``."""
    return Path(workspace_root) / CAPTURE_DIR / endpoint


def row_ids_for(inference_id: str, n_rows: int) -> list[str]:
    """Per-row ids of a request: the inference id itself for one row, ``id:i`` for more."""
    if n_rows == 1:
        return [inference_id]
    return [f"{inference_id}:{i}" for i in range(n_rows)]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return value


@dataclass(frozen=True)
class CaptureRecord:
    """One captured request (see the module docstring for the fields)."""

    inference_id: str
    time: float
    endpoint: str
    variant: str
    model: str
    columns: list[str]
    rows: list[list[Any]]
    row_ids: list[str]
    predictions: list[Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "inference_id": self.inference_id,
                "time": self.time,
                "endpoint": self.endpoint,
                "variant": self.variant,
                "model": self.model,
                "columns": self.columns,
                "rows": [[_json_safe(v) for v in row] for row in self.rows],
                "row_ids": self.row_ids,
                "predictions": [_json_safe(p) for p in self.predictions],
            },
            separators=(",", ":"),
            allow_nan=False,
            default=str,
        )

    @classmethod
    def from_json(cls, line: str) -> CaptureRecord:
        """Parse one line; raises ``ValueError`` saying what is wrong with it."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [
            k for k in ("inference_id", "time", "columns", "rows", "predictions") if k not in data
        ]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        columns, rows = data["columns"], data["rows"]
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise ValueError("'columns' and 'rows' must be lists")
        if any(not isinstance(row, list) or len(row) != len(columns) for row in rows):
            raise ValueError(f"every row must be a list of {len(columns)} values")
        if not isinstance(data["predictions"], list) or len(data["predictions"]) != len(rows):
            raise ValueError("'predictions' must hold one value per row")
        row_ids = data.get("row_ids") or row_ids_for(str(data["inference_id"]), len(rows))
        return cls(
            inference_id=str(data["inference_id"]),
            time=float(data["time"]),
            endpoint=str(data.get("endpoint", "")),
            variant=str(data.get("variant", "")),
            model=str(data.get("model", "")),
            columns=[str(c) for c in columns],
            rows=rows,
            row_ids=[str(r) for r in row_ids],
            predictions=data["predictions"],
        )


class CaptureWriter:
    """Append sampled requests of one endpoint variant to rotated JSONL files.

    Thread-safe: one writer is shared by all request handlers of a server process. Files
    are named with the process id, so several worker processes never share a file.

    Args:
        workspace_root: The workspace folder.
        endpoint: Endpoint name.
        variant: Variant name.
        sampling_percentage: Share of requests recorded, 0 to 100.
        max_file_bytes: Rotate after a file reaches this size.
        seed: Seed of the sampling draw (tests).
    """

    def __init__(
        self,
        workspace_root: str | os.PathLike[str],
        endpoint: str,
        variant: str,
        *,
        sampling_percentage: float = 100.0,
        max_file_bytes: int = 16 * 1024 * 1024,
        seed: int | None = None,
    ) -> None:
        if not 0 <= float(sampling_percentage) <= 100:
            raise InvalidParameter(
                f"sampling_percentage must be between 0 and 100, got {sampling_percentage!r}."
            )
        if max_file_bytes < 1024:
            raise InvalidParameter(f"max_file_bytes must be at least 1024, got {max_file_bytes}.")
        self.folder = capture_root(workspace_root, endpoint) / variant
        self.endpoint = endpoint
        self.variant = variant
        self.sampling_percentage = float(sampling_percentage)
        self.max_file_bytes = int(max_file_bytes)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._hour: str = ""
        self._written = 0

    def sampled(self) -> bool:
        """Draw whether the next request is recorded."""
        if self.sampling_percentage >= 100:
            return True
        with self._lock:
            return self._random.random() * 100 < self.sampling_percentage

    def write(
        self,
        *,
        inference_id: str,
        model: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        predictions: Sequence[Any],
        when: float | None = None,
    ) -> CaptureRecord:
        """Record one request unconditionally (call :meth:`sampled` first to sample)."""
        record = CaptureRecord(
            inference_id=inference_id,
            time=time.time() if when is None else float(when),
            endpoint=self.endpoint,
            variant=self.variant,
            model=model,
            columns=list(columns),
            rows=[list(row) for row in rows],
            row_ids=row_ids_for(inference_id, len(rows)),
            predictions=list(predictions),
        )
        line = record.to_json() + "\n"
        with self._lock:
            handle = self._handle(record.time, len(line))
            handle.write(line)
            handle.flush()
            self._written += len(line.encode())
        return record

    def _handle(self, when: float, incoming: int) -> IO[str]:
        hour = time.strftime("%Y/%m/%d/%H", time.gmtime(when))
        if self._file is not None and (
            hour != self._hour or self._written + incoming > self.max_file_bytes
        ):
            self._file.close()
            self._file = None
        if self._file is None:
            folder = self.folder / hour
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{int(when * 1000):013d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            self._file = (folder / name).open("a", encoding="utf-8")
            self._hour = hour
            self._written = 0
        return self._file

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass
class CaptureScan:
    """What :func:`read_capture` found: the records and the lines it had to skip."""

    records: list[CaptureRecord] = field(default_factory=list)
    #: ``(file, line number, reason)`` of every corrupt line.
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    files: int = 0


def capture_files(
    workspace_root: str | os.PathLike[str], endpoint: str, *, variant: str | None = None
) -> list[Path]:
    """Captured files of an endpoint (one variant or all), oldest first."""
    base = capture_root(workspace_root, endpoint)
    if variant is not None:
        base = base / variant
    if not base.exists():
        return []
    return sorted(base.rglob("*.jsonl"), key=lambda p: (p.name, str(p)))


def iter_capture(
    files: Sequence[Path], errors: list[tuple[str, int, str]]
) -> Iterator[CaptureRecord]:
    """Records of ``files``, streaming; corrupt lines are appended to ``errors`` and skipped."""
    for path in files:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield CaptureRecord.from_json(line)
                except (ValueError, TypeError) as exc:
                    errors.append((str(path), number, f"{exc.__class__.__name__}: {exc}"))


def read_capture(
    workspace_root: str | os.PathLike[str],
    endpoint: str,
    *,
    variant: str | None = None,
    start: float | None = None,
    end: float | None = None,
) -> CaptureScan:
    """Every captured request of ``endpoint`` with ``start <= time < end``.

    Corrupt lines (bad JSON, a cut-off last line, wrong shapes) are skipped and listed in
    :attr:`CaptureScan.errors` with their file and line number; they are never fatal.
    """
    scan = CaptureScan()
    files = capture_files(workspace_root, endpoint, variant=variant)
    scan.files = len(files)
    for record in iter_capture(files, scan.errors):
        if start is not None and record.time < start:
            continue
        if end is not None and record.time >= end:
            continue
        scan.records.append(record)
    scan.records.sort(key=lambda r: r.time)
    return scan
