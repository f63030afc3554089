"""Streaming sources: micro-batches appended to a dataset, one new version per batch.

Each micro-batch is appended to the dataset as a new version (the previous rows plus the
batch) and only then is the source's position (the last stream entry id, or the file's
byte offset) stored. A crash between the two re-reads the same batch onto the same
previous version, which gives identical content and therefore the same version: nothing
is stored twice. A run ends after ``max_batches`` batches, after ``idle_timeout`` seconds
without data, or when ``should_stop`` says so (a stopped job). The readers live in
``_redis.py`` (Redis streams) and ``_tail.py`` (a growing JSON Lines file).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from siklus.data._datasets import check_dataset_name
from siklus.data.etl._files import PROGRESS
from siklus.data.etl._result import LoadResult
from siklus.data.etl._state import check_same_source, load_state, save_state
from siklus.data.etl._write import append_version, connect, scratch_dir
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext


class BatchReader(Protocol):
    """Reads the next micro-batch after ``position``; nothing is consumed until
    :meth:`commit` (called after the batch is stored)."""

    def read(
        self, position: dict[str, Any], wait_s: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = []
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed types across rows: keep the column as text (JSON for nested values).
            arrays.append(pa.array(
                [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
                type=pa.string(),
            ))  # fmt: skip
    return pa.Table.from_arrays(arrays, names=list(names))


def run_stream(
    ctx: WorkspaceContext,
    reader: BatchReader,
    dataset: str,
    *,
    source: str,
    config: dict[str, Any],
    max_batches: int | None = None,
    idle_timeout: float | None = None,
    poll_interval: float = 1.0,
    should_stop: Callable[[], bool] | None = None,
    tags: dict[str, str] | None = None,
    job_id: str | None = None,
    log: logging.Logger | None = None,
    work_dir: Path | None = None,
) -> LoadResult:
    """Append micro-batches from ``reader`` to ``dataset`` until a stop condition holds."""
    check_dataset_name(dataset)
    if max_batches is not None and max_batches < 1:
        raise InvalidParameter(f"max_batches must be at least 1, got {max_batches}.")
    if poll_interval <= 0:
        raise InvalidParameter(f"poll_interval must be > 0 seconds, got {poll_interval}.")
    state = load_state(ctx, source)
    check_same_source(state, {**config, "dataset": dataset})
    previous: DatasetVersion | None = state.previous_version(ctx)
    batches, rows_total, created_any = 0, 0, False
    idle_since = time.monotonic()
    reason = "stopped"
    try:
        while True:
            if should_stop is not None and should_stop():
                reason = "stopped"
                break
            if max_batches is not None and batches >= max_batches:
                reason = "max_batches"
                break
            wait = poll_interval
            if idle_timeout is not None:
                left = idle_timeout - (time.monotonic() - idle_since)
                if left <= 0:
                    reason = "idle"
                    break
                wait = min(wait, left)
            got = reader.read(dict(state.body.get("position", {})), wait)
            if got is None:
                continue
            rows, position = got
            idle_since = time.monotonic()
            if rows:
                previous, created = _append(ctx, rows, dataset, previous, source, tags, job_id,
                                            work_dir, config)  # fmt: skip
                created_any = created_any or created
            state.body.update({**config, "dataset": dataset, "position": position,
                               "version_id": previous.id if previous else None})  # fmt: skip
            state = save_state(ctx, state, {"version_id": state.body["version_id"],
                                            "new_rows": len(rows), "position": position,
                                            "job_id": job_id})  # fmt: skip
            reader.commit()
            batches += 1
            rows_total += len(rows)
            if log:
                log.info("%s batch %d: %d rows → %s", PROGRESS, batches, len(rows),
                         previous.ref if previous else "-")  # fmt: skip
    finally:
        reader.close()
    return LoadResult(dataset, previous, created_any, rows_total, source=source,
                      batches=batches, stop_reason=reason)  # fmt: skip


def _append(
    ctx: WorkspaceContext,
    rows: list[dict[str, Any]],
    dataset: str,
    previous: DatasetVersion | None,
    source: str,
    tags: dict[str, str] | None,
    job_id: str | None,
    work_dir: Path | None,
    config: dict[str, Any],
) -> tuple[DatasetVersion, bool]:
    def lineage(version: DatasetVersion) -> None:
        ctx.store.add_lineage(("etl-source", source), ("dataset", version.id), "loaded")
        if job_id:
            ctx.store.add_lineage(("job", job_id), ("dataset", version.id), "output")

    with scratch_dir(ctx, work_dir) as scratch:
        part = scratch / "batch.parquet"
        pq.write_table(_table(rows), part)
        con = connect(scratch)
        try:
            return append_version(ctx, con, scratch, [part], dataset, previous=previous,
                                  source=f"stream:{config['location']}", tags=tags,
                                  lineage=lineage)  # fmt: skip
        finally:
            con.close()


__all__ = ["BatchReader", "run_stream"]
