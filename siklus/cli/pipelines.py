"""``siklus pipelines`` (create, list, start, executions, describe, logs, stop, resume,
schedule, triggers, run-triggers) and ``siklus run`` (the pipeline of ``siklus.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, fmt, print_json, print_table
from siklus.exceptions import InvalidInput, InvalidParameter, JobFailed

app = typer.Typer(help="Pipelines: DAGs of lifecycle steps.", no_args_is_help=True)

_STYLE = {
    "Succeeded": "green",
    "Failed": "red",
    "Executing": "yellow",
    "Stopped": "magenta",
    "Skipped": "dim",
    "Pending": "white",
}


def steps_table(body: dict[str, Any]) -> Table:
    """The execution's steps: status (cached or not), attempts, seconds, jobs, error."""
    table = Table(title=f"{body['id']} — {body['status']}")
    for column in ("step", "type", "status", "tries", "seconds", "jobs", "error"):
        table.add_column(column, no_wrap=column != "error", overflow="fold")
    types = {s["name"]: s["type"] for s in body["definition"]["steps"]}
    for name, step in body["steps"].items():
        status = step["status"]
        label = f"[{_STYLE.get(status, 'white')}]{status}[/]"
        if step.get("cached"):
            label += " [dim](cached)[/]"
        table.add_row(
            name,
            types.get(name, "?"),
            label,
            str(step["attempts"]),
            fmt(step["seconds"]),
            str(len(step["job_ids"])),
            (step.get("error") or "").splitlines()[0][:60] if step.get("error") else "",
        )
    return table


def _parameters(definition: Any, params: list[str] | None) -> dict[str, Any]:
    from siklus.pipelines import parse_parameter_text

    return dict(parse_parameter_text(definition, text) for text in params or [])


def _run_live(work: Any) -> dict[str, Any]:
    """Run ``work(on_change)`` in this (main) thread while a live table shows the steps.

    The work stays on the main thread so that Ctrl-C reaches the execution loop, which
    stops the steps' jobs and records the execution ``Stopped`` (resumable); a daemon
    worker thread would die with the process and leave the execution ``Executing``.
    """
    from rich.text import Text

    latest: dict[str, Any] = {}

    def on_change(body: dict[str, Any]) -> None:
        latest["body"] = body

    def render() -> Any:
        body = latest.get("body")
        return steps_table(body) if body is not None else Text("Starting…")

    try:
        with Live(console=console, refresh_per_second=4, transient=False,
                  get_renderable=render):  # fmt: skip
            body = work(on_change)
            latest["body"] = body
    except KeyboardInterrupt:
        console.print()
        execution = latest.get("body", {}).get("id")
        if execution is None:
            raise
        console.print(f"[yellow]Interrupted: execution {execution} stopped. Go on with "
                      f"`siklus pipelines resume {execution}`.[/]")  # fmt: skip
        raise typer.Exit(130) from None
    console.print()  # Live leaves the cursor at the end of the table's last line
    return body  # type: ignore[no-any-return]


def _finish(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(body)
    if body["status"] == "Succeeded":
        console.print(f"[green]Execution {body['id']} succeeded.[/]")
        return
    if body["status"] in ("Pending", "Executing"):
        console.print(f"Execution {body['id']} is {body['status']} (runner job "
                      f"{body.get('runner_job_id')}).")  # fmt: skip
        return
    raise JobFailed(
        f"Execution {body['id']} ended {body['status']}: {body['failure_reason']}. "
        f"Logs: siklus pipelines logs {body['id']}; resume: siklus pipelines resume {body['id']}"
    )


def _read_definition(path: Path) -> Any:
    import yaml

    from siklus.pipelines import parse_definition

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read pipeline file {str(path)!r}: {exc.strerror}.") from None
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML/JSON: {exc}") from None
    return parse_definition(data, source=str(path))


@app.command("create")
def create(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Pipeline definition (.yaml or .json)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate and store a pipeline (a changed definition becomes a new version)."""
    from siklus.pipelines import save_pipeline

    body = save_pipeline(open_workspace(ctx).ctx, _read_definition(file))
    if as_json:
        print_json(body)
    else:
        console.print(f"Pipeline [bold]{body['name']}[/] version {body['version']} stored.")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List stored pipelines."""
    from siklus.pipelines import list_pipelines

    rows = [
        {**b, "steps": len(b["definition"]["steps"])}
        for b in list_pipelines(open_workspace(ctx).ctx)
    ]
    print_table(rows, ("name", "version", "steps", "updated_at"), title="Pipelines",
                as_json=as_json)  # fmt: skip


@app.command("start")
def start(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A stored pipeline."),
    param: list[str] = typer.Option(None, "--param", "-p", help="NAME=VALUE (repeatable)."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run here with live progress."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start an execution of a stored pipeline."""
    from siklus.pipelines import get_pipeline, start_execution

    workspace = open_workspace(ctx).ctx
    definition, _ = get_pipeline(workspace, name)
    values = _parameters(definition, param)
    if not wait:
        _finish(start_execution(workspace, name, values, wait=False), as_json)
        return
    body = _run_live(lambda on_change: start_execution(workspace, name, values,
                                                       on_change=on_change))  # fmt: skip
    _finish(body, as_json)


@app.command("executions")
def executions(
    ctx: typer.Context,
    pipeline: str = typer.Argument(None, help="Only this pipeline's executions."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List executions, newest first."""
    from siklus.pipelines import list_executions

    rows = list_executions(open_workspace(ctx).ctx, pipeline)
    print_table(rows, ("id", "pipeline", "status", "created_at", "ended_at", "failure_reason"),
                title="Pipeline executions", as_json=as_json)  # fmt: skip


@app.command("describe")
def describe(
    ctx: typer.Context, execution_id: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show an execution: per-step status, attempts, timing, jobs, outputs."""
    from siklus.pipelines import describe_execution

    body = describe_execution(open_workspace(ctx).ctx, execution_id)
    if as_json:
        print_json(body)
        return
    console.print(steps_table(body))
    console.print(f"parameters: {body['parameters']}  trigger: {body['trigger']}")
    if body.get("failure_reason"):
        console.print(f"[red]{body['failure_reason']}[/]")
    for name, step in body["steps"].items():
        if step["outputs"]:
            console.print(f"[bold]{name}[/] outputs: {fmt(step['outputs'])}", soft_wrap=True)


@app.command("logs")
def logs(
    ctx: typer.Context,
    execution_id: str = typer.Argument(...),
    step: str = typer.Option(None, "--step", help="Only this step's logs."),
) -> None:
    """Print the step logs and the logs of the jobs the steps ran."""
    from siklus.pipelines import describe_execution

    body = describe_execution(open_workspace(ctx).ctx, execution_id)
    if step is not None and step not in body["steps"]:
        raise InvalidParameter(f"Execution {execution_id} has no step {step!r}.")
    for name, entry in body["steps"].items():
        if step is not None and name != step:
            continue
        for path in entry["log_paths"]:
            typer.echo(f"==> {name}: {path} <==")
            try:
                typer.echo(Path(path).read_text(encoding="utf-8", errors="replace"), nl=False)
            except OSError:
                typer.echo("(log file missing)")


@app.command("stop")
def stop(ctx: typer.Context, execution_id: str = typer.Argument(...)) -> None:
    """Stop a running execution (its step jobs are stopped; resume it later)."""
    from siklus.pipelines import stop_execution

    body = stop_execution(open_workspace(ctx).ctx, execution_id)
    console.print(f"Stop requested for {execution_id} (status {body['status']}).")


@app.command("resume")
def resume(
    ctx: typer.Context,
    execution_id: str = typer.Argument(...),
    wait: bool = typer.Option(True, "--wait/--no-wait"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-run a failed or stopped execution from the steps that did not succeed."""
    from siklus.pipelines import resume_execution

    workspace = open_workspace(ctx).ctx
    if not wait:
        _finish(resume_execution(workspace, execution_id, wait=False), as_json)
        return
    body = _run_live(lambda on_change: resume_execution(workspace, execution_id,
                                                        on_change=on_change))  # fmt: skip
    _finish(body, as_json)


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The pipeline."),
    cron: str = typer.Option(None, "--cron", help="5-field cron expression (UTC)."),
    on_dataset: str = typer.Option(None, "--on-dataset", help="Run on each new version."),
    dataset_param: str = typer.Option(
        None, "--dataset-param", help="String parameter that receives the new version's ref."
    ),
    trigger_name: str = typer.Option(None, "--name", help="Trigger name (default: generated)."),
    param: list[str] = typer.Option(None, "--param", "-p", help="NAME=VALUE (repeatable)."),
) -> None:
    """Run a pipeline on a cron schedule or whenever a dataset gets a new version."""
    from siklus.pipelines import create_dataset_trigger, create_schedule, get_pipeline

    if (cron is None) == (on_dataset is None):
        raise InvalidParameter("Give exactly one of --cron '0 2 * * *' or --on-dataset NAME.")
    workspace = open_workspace(ctx).ctx
    definition, _ = get_pipeline(workspace, name)
    values = _parameters(definition, param)
    if cron is not None:
        label = trigger_name or f"{name}-cron"
        create_schedule(workspace, label, name, cron, parameters=values)
        console.print(f"Trigger {label}: {name} at '{cron}' (UTC).")
    else:
        label = trigger_name or f"{name}-on-{on_dataset}".replace(".", "-")
        create_dataset_trigger(workspace, label, name, on_dataset, parameter=dataset_param,
                               parameters=values)  # fmt: skip
        console.print(f"Trigger {label}: {name} on each new version of {on_dataset}.")
    console.print("Triggers fire when `siklus pipelines run-triggers` (or a scheduler) runs.")


@app.command("triggers")
def triggers(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List schedules and dataset triggers."""
    from siklus.pipelines import list_triggers

    rows = list_triggers(open_workspace(ctx).ctx)
    print_table(rows, ("name", "type", "pipeline", "cron", "dataset", "enabled"),
                title="Pipeline triggers", as_json=as_json)  # fmt: skip


@app.command("run-triggers")
def run_triggers(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Start what the triggers owe now (each in a background job); for cron or a loop."""
    from siklus.pipelines import run_due_triggers

    started = run_due_triggers(open_workspace(ctx).ctx)
    print_table(started, ("trigger", "execution_id", "reason"), title="Started",
                as_json=as_json)  # fmt: skip


def run(
    ctx: typer.Context,
    param: list[str] = typer.Option(None, "--param", "-p", help="NAME=VALUE (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the pipeline declared in siklus.yaml (live progress; resumable on failure)."""
    body = run_project_pipeline(open_workspace(ctx), param)
    _finish(body, as_json)


def run_project_pipeline(ws: Any, param: list[str] | None = None, **overrides: Any) -> Any:
    """Store and run the ``pipeline:`` of the workspace's project with a live table."""
    from siklus.pipelines import parse_definition, start_execution

    if ws.project is None or ws.project.pipeline is None:
        raise InvalidParameter(
            f"{ws.root / 'siklus.yaml'} declares no pipeline: add a pipeline: section with "
            "steps (see docs/pipelines.md), or use `siklus pipelines start NAME`."
        )
    definition = parse_definition(
        ws.project.pipeline_definition(), source="pipeline in siklus.yaml"
    )
    values = {**_parameters(definition, param), **overrides}
    return _run_live(
        lambda on_change: start_execution(ws.ctx, definition, values, on_change=on_change,
                                          trigger={"type": "siklus run"})
    )  # fmt: skip
