"""``siklus scheduler`` (the loop), ``siklus monitor schedule …`` (monitoring schedules)
and ``siklus monitor retrain GROUP``.

The scheduler runs in the foreground; Ctrl-C (or SIGTERM) stops it between ticks, never
in the middle of recording an execution.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Any

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table
from siklus.exceptions import InvalidParameter, SiklusError

schedule_app = typer.Typer(
    help="Monitoring schedules: cron or interval, plus on demand; each execution a job.",
    no_args_is_help=True,
)

SCHEDULE_COLUMNS = ("name", "cadence", "source", "baseline", "enabled", "last_run", "next_run")


def _scheduler() -> Any:
    from siklus.monitoring import scheduler

    return scheduler


def parse_time(value: str | None, what: str) -> float | None:
    """Epoch seconds or ISO 8601 (UTC when no offset is given)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(
            f"{what} {value!r} is not a time: give epoch seconds or ISO 8601 such as "
            "2026-05-01T10:00:00."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@schedule_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Schedule name."),
    baseline: str = typer.Option(..., "--baseline", help="Baseline the checks compare with."),
    endpoint: str = typer.Option(None, "--endpoint", help="Monitor this endpoint's capture."),
    dataset: str = typer.Option(None, "--dataset", help="Or this dataset: NAME[@VERSION]."),
    cron: str = typer.Option(None, "--cron", help="Cron expression in UTC, e.g. '0 * * * *'."),
    interval_seconds: int = typer.Option(None, "--interval-seconds", help="Or an interval."),
    kind: list[str] = typer.Option(
        None, "--kind", help="Checks (repeat): data_quality, data_drift, model_quality."
    ),
    label: str = typer.Option(None, "--label", help="Ground-truth column for model_quality."),
    disabled: bool = typer.Option(False, "--disabled", help="Create it paused."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a monitoring schedule (its first run is the first slot after now)."""
    sched = _scheduler()
    schedule = sched.create_schedule(
        open_workspace(ctx).ctx, name, baseline=baseline, endpoint=endpoint, dataset=dataset,
        cron=cron, interval_seconds=interval_seconds, kinds=kind or sched.DEFAULT_KINDS,
        label=label, enabled=not disabled,
    )  # fmt: skip
    if as_json:
        print_json(schedule.to_dict())
        return
    view = schedule.to_dict()
    console.print(
        f"Schedule [bold]{name}[/]: {view['cadence']} over {view['source']}; next run "
        f"{view['next_run'] or '- (disabled)'}.",
        highlight=False,
    )


@schedule_app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List monitoring schedules."""
    schedules = _scheduler().list_schedules(open_workspace(ctx).ctx)
    print_table([s.to_dict() for s in schedules], SCHEDULE_COLUMNS, title="Monitoring schedules",
                as_json=as_json)  # fmt: skip


@schedule_app.command("describe")
def describe(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    executions: int = typer.Option(10, "--executions", help="Show the newest N executions."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a schedule and its recent executions."""
    sched = _scheduler()
    ws = open_workspace(ctx).ctx
    view = sched.get_schedule(ws, name).to_dict()
    runs = [e.body for e in sched.executions(ws, name, limit=executions)]
    if as_json:
        print_json({**view, "executions": runs})
        return
    print_record(view, as_json=False)
    print_table(runs, ("slot_iso", "trigger", "job_id", "missed_slots"), title="Executions",
                as_json=False)  # fmt: skip


@schedule_app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Delete a schedule (running executions finish; the history stays)."""
    _scheduler().delete_schedule(open_workspace(ctx).ctx, name)
    console.print(f"Deleted monitoring schedule {name}.")


@schedule_app.command("enable")
def enable(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Resume a paused schedule."""
    _scheduler().set_enabled(open_workspace(ctx).ctx, name, True)
    console.print(f"Monitoring schedule {name} is enabled.")


@schedule_app.command("disable")
def disable(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Pause a schedule (run-now still works)."""
    _scheduler().set_enabled(open_workspace(ctx).ctx, name, False)
    console.print(f"Monitoring schedule {name} is disabled.")


@schedule_app.command("run-now")
def run_now(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    window_start: str = typer.Option(None, "--window-start", help="Epoch or ISO 8601."),
    window_end: str = typer.Option(None, "--window-end", help="Epoch or ISO 8601 (default now)."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the execution job."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run one execution now, outside the cadence."""
    workspace = open_workspace(ctx)
    job = _scheduler().run_now(
        workspace.ctx, name, window_start=parse_time(window_start, "--window-start"),
        window_end=parse_time(window_end, "--window-end"),
    )  # fmt: skip
    if wait:
        with console.status(f"Monitoring job {job.id} ...") as status:
            job = workspace.jobs.wait(
                job.id, poll_interval=0.5,
                on_poll=lambda j: status.update(f"Monitoring job {j.id}: {j.status.value}"),
            )  # fmt: skip
    if as_json:
        print_json(job)
        return
    console.print(f"Execution job {job.id} is {job.status.value}.")
    if job.status.value == "Failed":
        console.print(f"[red]{job.failure_reason}[/]  (log: siklus jobs logs {job.id})")
        raise typer.Exit(1)


def retrain(
    ctx: typer.Context,
    group: str = typer.Argument(..., help="Model package group to retrain."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait and print the comparison."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Retrain a group's current model on the latest data and register a new version
    (PendingManualApproval) with its evaluation beside the current one."""
    from siklus.monitoring.retrain import format_comparison, get_comparison, start_retraining

    workspace = open_workspace(ctx)
    job = start_retraining(workspace.ctx, group)
    if not wait:
        console.print(f"Retraining job {job.id} submitted.")
        return
    with console.status(f"Retraining {group} (job {job.id}) ...") as status:
        job = workspace.jobs.wait(
            job.id, poll_interval=0.5,
            on_poll=lambda j: status.update(f"Retraining {group} (job {j.id}): {j.status.value}"),
        )  # fmt: skip
    if job.status.value != "Completed":
        console.print(f"[red]Retraining job {job.id} ended {job.status.value}:[/] "
                      f"{job.failure_reason} (log: siklus jobs logs {job.id})")  # fmt: skip
        raise typer.Exit(1)
    comparison = get_comparison(workspace.ctx, job.outputs["package"])
    if as_json:
        print_json(comparison)
        return
    console.print(format_comparison(comparison), highlight=False)


def scheduler(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one tick and exit."),
    interval: float = typer.Option(30.0, "--interval", help="Seconds between ticks."),
) -> None:
    """Run monitoring schedules and evaluate alarms every --interval seconds (Ctrl-C stops).

    After downtime a missed schedule runs once; several schedulers on one workspace never
    run the same execution twice.
    """
    sched = _scheduler()
    ws = open_workspace(ctx).ctx
    stop = threading.Event()
    previous = {}
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
        console.print(f"Scheduler on {ws.root}: a tick every {interval:g} s; Ctrl-C stops.")

    def on_tick(result: Any) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        # Pipeline triggers (cron, new dataset version) share the loop: monitoring cannot
        # import pipelines (a higher layer), the CLI can.
        from siklus.pipelines import run_due_triggers

        try:
            fired = run_due_triggers(ws)
        except SiklusError as exc:
            console.print(f"{stamp} pipeline triggers failed: {exc}")
            fired = []
        for f in fired:
            console.print(f"{stamp} pipeline trigger {f['trigger']}: execution "
                          f"{f['execution_id']} ({f['reason']})")  # fmt: skip
        for e in result.executions:
            skipped = f", {e.missed_slots} missed slot(s) skipped" if e.missed_slots else ""
            console.print(f"{stamp} schedule {e.schedule}: job {e.job_id}{skipped}")
        for r in result.alarms:
            if r.changed:
                console.print(f"{stamp} alarm {r.alarm.name}: {r.alarm.state_previous} -> "
                              f"{r.alarm.state.value}")  # fmt: skip
        if once:
            console.print(f"{len(result.executions)} execution(s) started, "
                          f"{len(result.alarms)} alarm(s) evaluated.")  # fmt: skip

    try:
        ticks = sched.run_scheduler(ws, interval=interval, once=once, stop=stop, on_tick=on_tick)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not once:
        console.print(f"Scheduler stopped after {ticks} tick(s).")


def register(root: typer.Typer) -> None:
    """Attach ``siklus scheduler`` and, when the ``monitor`` group exists, ``siklus monitor
    schedule …`` and ``siklus monitor retrain``."""
    root.command("scheduler")(scheduler)
    try:
        from siklus.cli import monitor  # type: ignore[attr-defined]
    except ImportError:  # the monitor group is not there: `siklus monitor` does not exist
        return
    monitor.app.add_typer(schedule_app, name="schedule")
    monitor.app.command("retrain")(retrain)
