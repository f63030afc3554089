"""``siklus transform``: batch transform jobs (run, resume, list, describe).

A thin layer over :mod:`siklus.serving.batch`; while a transform runs the command shows
a progress bar of input rows done out of the total (read from the transform's manifest).
"""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from siklus.cli._app import open_workspace
from siklus.cli._output import (
    JSON_OPTION,
    RUNTIME_OPTION,
    console,
    print_json,
    print_record,
    print_table,
)
from siklus.exceptions import JobFailed
from siklus.serving.batch import (
    DEFAULT_CHUNK_ROWS,
    BatchTransform,
    describe_transform,
    list_transforms,
    resume_transform,
    transform,
)
from siklus.store import WorkspaceContext

app = typer.Typer(help="Batch transform: offline predictions over large datasets and files.",
                  no_args_is_help=True)  # fmt: skip

COLUMNS = ("id", "status", "model_package", "input", "output_dataset", "rows")
_FINAL = ("Completed", "Failed", "Stopped")
_POLL_S = 0.25


def _watch(ctx: WorkspaceContext, started: BatchTransform, *, quiet: bool) -> BatchTransform:
    """Poll the transform until its job ends, drawing rows done / total."""
    current = started
    if quiet:
        while current.status not in _FINAL:
            time.sleep(_POLL_S)
            current = describe_transform(ctx, started.id)
        return current
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("rows"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(started.id, total=current.total_rows, completed=current.rows_done)
        while current.status not in _FINAL:
            time.sleep(_POLL_S)
            current = describe_transform(ctx, started.id)
            progress.update(task, completed=current.rows_done, total=current.total_rows)
        progress.update(task, completed=current.rows_done, total=current.total_rows)
    return current


def _finish(current: BatchTransform, *, as_json: bool) -> None:
    if current.status != "Completed":
        reason = current.failure_reason or "no reason recorded"
        raise JobFailed(
            f"Transform {current.id} ended {current.status} after {current.rows_done} rows "
            f"(job {current.job_id}): {reason.rstrip('.')}. "
            "If the cause was not the input (the job was stopped or killed, the disk was "
            f"full), continue with `siklus transform resume {current.id}`; a fixed input "
            "needs a new `siklus transform run` (resume refuses files that changed)."
        )
    if as_json:
        print_json(current.to_dict())
        return
    outputs = current.outputs
    console.print(
        f"Transform [bold]{current.id}[/] completed: [bold]{current.output_dataset}[/] "
        f"({outputs.get('rows_out')} rows, {current.skipped_rows} skipped, "
        f"{outputs.get('rows_per_second')} rows/s)."
    )
    if outputs.get("skipped_file"):
        console.print(f"Skipped rows are listed in {outputs['skipped_file']}")


def _split(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


@app.command("run")
def run(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model package GROUP[:VERSION]."),
    input: str = typer.Option(
        ..., "--input", "-i", help="Dataset NAME[:VERSION], or a file/folder/glob (fsspec URL ok)."
    ),
    output: str = typer.Option(..., "--output", "-o", help="Dataset name for the output."),
    id_column: str = typer.Option(None, "--id-column", help="Input column to join on."),
    keep_columns: str = typer.Option(
        None, "--keep-columns", help="Input columns copied to the output, e.g. a,b."
    ),
    chunk_rows: int = typer.Option(DEFAULT_CHUNK_ROWS, "--chunk-rows", help="Rows per chunk."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (CPUs reserved)."),
    runtime: str = RUNTIME_OPTION,
    on_error: str = typer.Option(
        "fail", "--on-error", help="fail: stop at a bad row; skip: leave it out and list it."
    ),
    no_probabilities: bool = typer.Option(
        False, "--no-probabilities", help="Only the prediction, no probability_<class> columns."
    ),
    input_format: str = typer.Option(None, "--format", help="parquet, csv or jsonl."),
    force: bool = typer.Option(False, "--force", help="Use a package that is not Approved."),
    detach: bool = typer.Option(False, "--detach", help="Start the job and return at once."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Predict every row of a dataset or files with a registered model, as a job."""
    ws = open_workspace(ctx).ctx
    started = transform(
        ws, model, input, output, id_column=id_column, keep_columns=_split(keep_columns),
        chunk_rows=chunk_rows, workers=workers, runtime=runtime, on_error=on_error,
        probabilities=not no_probabilities, input_format=input_format, force=force,
        wait=False,
    )  # fmt: skip
    if detach:
        print_record(started.to_dict(), as_json=as_json)
        return
    _finish(_watch(ws, started, quiet=as_json), as_json=as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    transform_id: str = typer.Argument(..., help="Transform id (bt-…) or one of its job ids."),
    detach: bool = typer.Option(False, "--detach", help="Start the job and return at once."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Continue a failed, stopped or killed transform; finished chunks are skipped."""
    ws = open_workspace(ctx).ctx
    started = resume_transform(ws, transform_id, wait=False)
    if detach:
        print_record(started.to_dict(), as_json=as_json)
        return
    _finish(_watch(ws, started, quiet=as_json), as_json=as_json)


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List batch transforms, newest first."""
    found = list_transforms(open_workspace(ctx).ctx)
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    rows = [
        {**t.to_dict(), "rows": f"{t.rows_done}/{'?' if t.total_rows is None else t.total_rows}"}
        for t in found
    ]
    print_table(rows, COLUMNS, as_json=False, title="Batch transforms")


@app.command("describe")
def describe(
    ctx: typer.Context,
    transform_id: str = typer.Argument(..., help="Transform id (bt-…) or one of its job ids."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one transform: options, attempts, progress and outputs."""
    print_record(
        describe_transform(open_workspace(ctx).ctx, transform_id).to_dict(), as_json=as_json
    )
