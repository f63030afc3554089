"""``siklus data load | stream | sources``: bring data in from files, databases and streams.

Thin commands over :mod:`siklus.data.etl`: each load or stream runs as a job, with a
progress bar on stderr (so ``--json`` on stdout stays machine-readable).
"""

from __future__ import annotations

import re
import time
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, err_console, print_json, print_table
from siklus.data.etl import job_error, list_sources, run_load, run_stream_job
from siklus.jobs import LocalExecutor
from siklus.store import Job, JobStatus

_FRACTION = re.compile(r"progress: (\d+)/(\d+) ")
_LOOK_EVERY_S = 0.3


class _JobProgress:
    """A Rich progress bar fed by the job's newest ``progress:`` log line."""

    def __init__(self, executor: LocalExecutor, what: str) -> None:
        self.executor = executor
        self.what = what
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
            console=err_console, transient=True,
        )  # fmt: skip
        self.task = self.progress.add_task(what, total=None)
        self._last = 0.0

    def __enter__(self) -> _JobProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def __call__(self, job: Job) -> None:
        if time.monotonic() - self._last < _LOOK_EVERY_S:
            return
        self._last = time.monotonic()
        tail = self.executor.logs(job.id, tail=1).strip()
        message = tail.split(": ", 1)[1] if ": " in tail else tail
        fraction = _FRACTION.search(tail)
        if fraction:
            self.progress.update(self.task, completed=int(fraction[1]), total=int(fraction[2]))
        text = f"{self.what} (job {job.id}, {job.status.value}): {message[:80]}"
        self.progress.update(self.task, description=escape(text))


def _report(job: Job, as_json: bool) -> None:
    out = dict(job.outputs)
    if as_json:
        print_json({"job_id": job.id, **out})
        return
    if out.get("stopped"):
        console.print(f"Job {job.id} was stopped; nothing was stored.")
        return
    ref = out.get("dataset_version")
    if ref is None:
        console.print(f"Nothing to load yet (job {job.id}).")
        return
    state = "new version" if out.get("created") else "unchanged"
    extra = ""
    if out.get("batches"):
        extra = f", {out['batches']} batch(es), ended: {out.get('stop_reason')}"
    elif out.get("skipped_files"):
        extra = f", {out['skipped_files']} file(s) loaded before"
    if out.get("watermark") is not None:
        extra += f", watermark {out['watermark']}"
    console.print(
        f"Dataset [bold]{ref}[/] ({state}) — {out.get('new_rows', 0)} new rows{escape(extra)}; "
        f"job {job.id} in {job.wall_seconds or 0:.1f}s."
    )


def load(
    ctx: typer.Context,
    source: str = typer.Argument(
        ..., help="File, folder, glob or fsspec URL; or a SQLAlchemy URL with --table/--query."
    ),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset to add the version to."),
    table: str = typer.Option(None, "--table", help="SQL: the table to read."),
    query: str = typer.Option(None, "--query", help="SQL: a SELECT statement to read."),
    watermark: str = typer.Option(
        None, "--watermark", help="SQL: column that grows with new rows (for --incremental)."
    ),
    incremental: bool = typer.Option(
        False, "--incremental", help="Only new files / rows past the watermark; append them."
    ),
    name: str = typer.Option(None, "--name", help="Source name of the incremental state."),
    format: str = typer.Option(None, "--format", help="csv, parquet or jsonl (default: by name)."),
    chunk_size: int = typer.Option(10_000, "--chunk-size", help="SQL: rows fetched at a time."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Load files or a SQL table/query into a new version of --dataset (as a job).

    Ctrl-C stops the job (between files, or between SQL chunks); nothing is stored then.
    """
    ws = open_workspace(ctx)
    executor = LocalExecutor(ws.ctx)
    job, _ = run_load(
        ws.ctx, source, dataset, table=table, query=query, watermark=watermark,
        format=format, incremental=incremental, name=name, chunk_size=chunk_size, wait=False,
    )  # fmt: skip
    with _JobProgress(executor, f"Loading into {dataset}") as progress:
        job = _wait_or_stop(executor, job, progress, "before the next file or chunk")
    if job.status == JobStatus.STOPPED or job.outputs.get("stopped"):
        err_console.print(f"Job {job.id} was stopped; nothing was stored.")
        raise typer.Exit(130)
    if job.status != JobStatus.COMPLETED:
        raise job_error(ws.ctx, job)
    _report(job, as_json)


def _wait_or_stop(executor: LocalExecutor, job: Job, progress: _JobProgress, when: str) -> Job:
    """Wait for ``job``; on Ctrl-C ask it to stop and wait for it to end.

    The job runs in its own session, so without this a Ctrl-C would end only the CLI and
    leave the job running on, storing its result after the user gave up on it.
    """
    try:
        return executor.wait(job.id, on_poll=progress)
    except KeyboardInterrupt:
        err_console.print(f"Stopping job {job.id} {when} …")
        executor.stop(job.id)
        return executor.wait(job.id)


def stream(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="redis://HOST:PORT/DB (with --stream) or a file."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset each batch goes to."),
    stream_key: str = typer.Option(None, "--stream", help="Redis: the stream key."),
    group: str = typer.Option(None, "--group", help="Redis: read through this consumer group."),
    json_field: str = typer.Option(
        None, "--json-field", help="Redis: the field that holds each row as a JSON object."
    ),
    batch_size: int = typer.Option(1000, "--batch-size", help="Rows per micro-batch at most."),
    max_batches: int = typer.Option(None, "--max-batches", help="Stop after this many batches."),
    idle_timeout: float = typer.Option(
        None, "--idle-timeout", help="Stop after this many seconds without data."
    ),
    poll_interval: float = typer.Option(1.0, "--poll-interval", help="Seconds between looks."),
    name: str = typer.Option(None, "--name", help="Source name of the stored position."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Append micro-batches from a Redis stream or a growing JSON Lines file (as a job).

    Ctrl-C stops the job after the batch in progress.
    """
    ws = open_workspace(ctx)
    executor = LocalExecutor(ws.ctx)
    job, _ = run_stream_job(
        ws.ctx, source, dataset, stream=stream_key, group=group, json_field=json_field,
        batch_size=batch_size, max_batches=max_batches, idle_timeout=idle_timeout,
        poll_interval=poll_interval, name=name, wait=False,
    )  # fmt: skip
    with _JobProgress(executor, f"Streaming into {dataset}") as progress:
        job = _wait_or_stop(executor, job, progress, "after the current batch")
    if job.status not in (JobStatus.COMPLETED, JobStatus.STOPPED):
        raise job_error(ws.ctx, job)
    _report(job, as_json)


def sources(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List incremental and streaming sources and what they loaded last."""
    rows: list[dict[str, Any]] = []
    for item in list_sources(open_workspace(ctx).ctx):
        position = item.get("position") or {}
        mark = item.get("watermark") or {}
        rows.append({
            **item,
            "files_loaded": len(item.get("files", {})) if item.get("type") == "files" else None,
            "position": position.get("last_id", position.get("offset")),
            "watermark": mark.get("value") if isinstance(mark, dict) else mark,
        })  # fmt: skip
    print_table(rows, ("name", "type", "dataset", "files_loaded", "watermark", "position",
                       "runs", "updated_at"), as_json=as_json, title="ETL sources")  # fmt: skip


def register(data_app: typer.Typer) -> None:
    """Attach the commands to the ``siklus data`` group."""
    data_app.command("load")(load)
    data_app.command("stream")(stream)
    data_app.command("sources")(sources)


__all__ = ["load", "register", "sources", "stream"]
