"""``siklus jobs``: list, describe, logs, stop."""

from __future__ import annotations

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_record, print_table

app = typer.Typer(help="Long-running work: training and other jobs.", no_args_is_help=True)

JOB_COLUMNS = ("id", "kind", "name", "status", "created_at", "wall_seconds", "failure_reason")


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: str = typer.Option(None, help="Only jobs of this kind (e.g. training)."),
    limit: int = typer.Option(50, help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List jobs (a job whose process died is shown Failed, with the reason)."""
    jobs = open_workspace(ctx).jobs.list(kind=kind, limit=limit)
    print_table(jobs, JOB_COLUMNS, as_json=as_json, title="Jobs")


@app.command("describe")
def describe(
    ctx: typer.Context, job_id: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show a job: spec, state, timestamps, usage, outputs."""
    print_record(open_workspace(ctx).jobs.describe(job_id), as_json=as_json)


@app.command("logs")
def logs(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """Print a job's captured stdout and stderr."""
    typer.echo(open_workspace(ctx).jobs.logs(job_id), nl=False)


@app.command("stop")
def stop(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """Stop a pending or running job."""
    job = open_workspace(ctx).jobs.stop(job_id)
    console.print(f"Job {job.id} is {job.status.value}.")
