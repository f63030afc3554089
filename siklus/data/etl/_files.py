"""Load files and globs of CSV, Parquet and JSON Lines into a versioned dataset."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from siklus.data._datasets import check_dataset_name
from siklus.data.etl._locate import FileEntry, list_files, normalize
from siklus.data.etl._read import stage_file
from siklus.data.etl._result import LoadResult
from siklus.data.etl._state import SourceState, check_same_source, load_state, save_state
from siklus.data.etl._write import append_version, connect, scratch_dir
from siklus.exceptions import InvalidInput, InvalidState
from siklus.store import DatasetVersion, WorkspaceContext

PROGRESS = "progress:"


class LoadStopped(Exception):
    """Raised inside a load when its job was asked to stop; nothing is stored."""


def _new_files(entries: list[FileEntry], state: SourceState) -> list[FileEntry]:
    seen: dict[str, Any] = state.body.get("files", {})
    return [e for e in entries if seen.get(e.url) != e.fingerprint]


def load_files(
    ctx: WorkspaceContext,
    location: str,
    dataset: str,
    *,
    format: str | None = None,
    incremental: bool = False,
    source: str | None = None,
    tags: dict[str, str] | None = None,
    memory_limit: str | None = None,
    job_id: str | None = None,
    log: logging.Logger | None = None,
    stop: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
) -> LoadResult:
    """Load every file of ``location`` (or, incrementally, the new ones) into ``dataset``.

    Runs in this process; :func:`~siklus.data.etl.run_load` runs the same as a job.

    Example:
        >>> result = load_files(ctx, "raw/*.csv", "events", incremental=True)  # doctest: +SKIP
        >>> result.version.ref, result.new_rows  # doctest: +SKIP

    Args:
        ctx: The workspace.
        location: A file, folder, glob or fsspec URL (``memory://``, ``s3://`` …).
        dataset: Dataset to add the version to.
        format: ``csv``, ``parquet`` or ``jsonl`` for every file (default: by extension).
        incremental: Load only files not loaded before by source ``source``, and store
            the previous rows plus the new ones as the new version. Without it, every
            file is loaded and the version holds exactly their rows.
        source: Name of the incremental state (default: the dataset name).
        tags: Tags of the new dataset version.
        memory_limit: DuckDB memory limit (default: a quarter of RAM, at most 4 GB).
        job_id: The job running the load (for lineage).
        log: Progress lines go here.
        stop: Polled between files; True abandons the load (nothing stored).
        work_dir: Where the scratch folder goes (default: the workspace state folder).

    Raises:
        NotFound: No file at ``location``.
        InvalidInput: A malformed file; the message names the file and the line.
        InvalidParameter: Bad dataset or source name, unknown format, or a source name
            used before for another location.
    """
    check_dataset_name(dataset)
    location = normalize(location)
    name = source or dataset
    state = load_state(ctx, name) if incremental else SourceState(name)
    check_same_source(state, {"type": "files", "location": location, "dataset": dataset})
    entries = list_files(location, format)
    todo = _new_files(entries, state) if incremental else entries
    previous = state.previous_version(ctx) if incremental else None
    if incremental and state.revision and previous is None and state.body.get("version_id"):
        raise InvalidState(
            f"Source {name!r} remembers dataset version {state.body['version_id']}, which no "
            "longer exists; delete the source state to start over."
        )
    if log:
        log.info("%s %d file(s) at %s, %d to load", PROGRESS, len(entries), location, len(todo))
    if not todo:
        if incremental and state.revision:  # a run that found nothing new is still a run
            save_state(ctx, state, {"version_id": previous.id if previous else None,
                                    "files": [], "new_rows": 0, "job_id": job_id})  # fmt: skip
        return LoadResult(
            dataset, previous, False, 0, source=name if incremental else None,
            skipped_files=len(entries),
        )  # fmt: skip
    with scratch_dir(ctx, work_dir) as scratch:
        con = connect(scratch, memory_limit=memory_limit)
        try:
            parts, headers_only, rows = [], [], 0
            for index, entry in enumerate(todo, start=1):
                if stop is not None and stop():
                    raise LoadStopped(f"stopped after {index - 1} of {len(todo)} files")
                part = scratch / f"part-{index:06d}.parquet"
                count = stage_file(con, entry, scratch, part)
                if count:
                    parts.append(part)
                elif part.exists() and entry.format != "jsonl":
                    # No rows but columns: a CSV header (typed string) or an empty Parquet
                    # file's schema. Blank JSON lines have no columns; DuckDB's stand-in
                    # column "json" is not one of the data.
                    headers_only.append(part)
                rows += count
                if log:
                    log.info("%s %d/%d files, %d rows (%s)", PROGRESS, index, len(todo), rows,
                             entry.relative)  # fmt: skip
            version: DatasetVersion | None
            if not parts and previous is not None:
                version, created = previous, False
            elif not parts and not headers_only:
                raise InvalidInput(
                    f"The files at {location!r} hold no rows (and no header line to take "
                    "columns from); nothing was stored."
                )
            elif not parts and incremental:  # as SQL: no first version without rows
                version, created = None, False
            else:
                # No rows, only columns: an empty version with them, as an empty SQL
                # table or query gives. Files with rows never mix with these, so a
                # header-only CSV cannot turn other files' typed columns into strings.
                parts = parts or headers_only

                def lineage(version: DatasetVersion) -> None:
                    if incremental:
                        ctx.store.add_lineage(
                            ("etl-source", name), ("dataset", version.id), "loaded"
                        )
                    if job_id:
                        ctx.store.add_lineage(("job", job_id), ("dataset", version.id), "output")

                version, created = append_version(
                    ctx, con, scratch, parts, dataset, previous=previous,
                    source=f"files:{location}", tags=tags, lineage=lineage,
                )  # fmt: skip
        finally:
            con.close()
    if incremental and version is not None:
        files = dict(state.body.get("files", {}))
        files.update({e.url: e.fingerprint for e in todo})
        state.body.update(
            {"type": "files", "location": location, "dataset": dataset, "files": files,
             "version_id": version.id, "format": format}
        )  # fmt: skip
        save_state(ctx, state, {"version_id": version.id, "files": [e.url for e in todo],
                                "new_rows": rows, "job_id": job_id})  # fmt: skip
    if log and version is not None:
        log.info("stored %s: %d rows (%d new)", version.ref, version.row_count, rows)
    return LoadResult(
        dataset, version, created, rows, source=name if incremental else None,
        files=[e.url for e in todo], skipped_files=len(entries) - len(todo),
    )  # fmt: skip


__all__ = ["PROGRESS", "LoadStopped", "load_files"]
