"""A growing JSON Lines file as a streaming source: complete lines after a byte offset."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from siklus.data.etl._result import LoadResult
from siklus.data.etl._stream import run_stream
from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState
from siklus.store import WorkspaceContext

#: Largest block read from a tailed file per look (a longer line is read in several).
_BLOCK = 8 << 20


class JsonlTailReader:
    """Complete lines appended to a JSON Lines file since the stored byte offset.

    A last line without its newline is still being written: it is left for a later look.
    """

    def __init__(self, path: str | os.PathLike[str], *, batch_size: int) -> None:
        self.path = Path(path)
        self.batch_size = batch_size

    def read(
        self, position: dict[str, Any], wait_s: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        batch = self._read_now(position)
        if batch is None and wait_s > 0:
            time.sleep(wait_s)
            batch = self._read_now(position)
        return batch

    def _read_now(
        self, position: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        offset, line_no = int(position.get("offset", 0)), int(position.get("line", 0))
        if not self.path.exists():
            return None  # not created yet: idle
        size = self.path.stat().st_size
        if size < offset:
            raise InvalidState(
                f"File {str(self.path)!r} is shorter ({size} bytes) than the {offset} bytes "
                "already loaded: it was truncated or replaced. Tail a new file under a new "
                "source name, or delete this source's state to start over."
            )
        if size == offset:
            return None
        data = b""
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while b"\n" not in data:
                block = handle.read(_BLOCK)
                if not block:
                    return None  # only a half-written line so far
                data += block
        lines = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1][: self.batch_size]
        rows = []
        for index, raw in enumerate(lines, start=line_no + 1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:  # replacing the bytes would store wrong text
                raise InvalidInput(
                    f"File {str(self.path)!r}: line {index} is not UTF-8 (byte "
                    f"{raw[exc.start]:#04x} at column {exc.start + 1}). Nothing of this batch "
                    "was stored; write the file as UTF-8 to go on."
                ) from None
            if not text:
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise InvalidInput(
                    f"File {str(self.path)!r}: line {index} is not valid JSON ({exc}; the line "
                    f"reads {text[:200]!r}). Nothing of this batch was stored; fix the line or "
                    "remove it to go on."
                ) from None
            if not isinstance(row, dict):
                raise InvalidInput(f"File {str(self.path)!r}: line {index} is not a JSON object.")
            rows.append(row)
        consumed = sum(len(raw) + 1 for raw in lines)
        return rows, {"offset": offset + consumed, "line": line_no + len(lines)}

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


def stream_jsonl(
    ctx: WorkspaceContext,
    path: str | os.PathLike[str],
    dataset: str,
    *,
    batch_size: int = 1000,
    source: str | None = None,
    **options: Any,
) -> LoadResult:
    """Tail a growing JSON Lines file: append each micro-batch of new lines to ``dataset``.

    The byte offset of the last complete line loaded is stored, so a later run goes on
    where this one stopped; a half-written last line waits until its newline arrives.

    Example:
        >>> stream_jsonl(ctx, "events.jsonl", "events", max_batches=5)  # doctest: +SKIP

    Args:
        path: The file (it may not exist yet: that counts as idle).
        dataset: Dataset each batch is appended to (one new version per batch).
        batch_size: Lines per micro-batch at most.
        source: Name of the stored offset (default: the dataset name).
        **options: ``max_batches`` (stop after that many batches), ``idle_timeout``
            (seconds without new lines), ``poll_interval`` (seconds between looks,
            default 1), ``should_stop`` (callable), ``tags``, ``job_id``, ``log``,
            ``work_dir``.

    Raises:
        InvalidInput: A complete line that is not a JSON object (names file and line).
        InvalidState: The file shrank below the stored offset (truncated or replaced).
    """
    if batch_size < 1:
        raise InvalidParameter(f"batch_size must be at least 1, got {batch_size}.")
    resolved = Path(path).expanduser().resolve()
    reader = JsonlTailReader(resolved, batch_size=batch_size)
    config = {"type": "jsonl-tail", "location": str(resolved)}
    return run_stream(ctx, reader, dataset, source=source or dataset, config=config, **options)


__all__ = ["JsonlTailReader", "stream_jsonl"]
