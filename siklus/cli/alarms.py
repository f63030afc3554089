"""``siklus alarms``: CloudWatch-style metric alarms (put, list, describe, history,
delete, evaluate, set-state)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table
from siklus.exceptions import InvalidParameter

app = typer.Typer(
    help="Metric alarms: threshold over evaluation periods, states OK / ALARM / "
    "INSUFFICIENT_DATA, actions (log, webhook, retrain, pipeline).",
    no_args_is_help=True,
)

ALARM_COLUMNS = ("name", "state", "condition", "state_updated_at", "actions")


def _alarms() -> Any:
    from siklus.monitoring import alarms

    return alarms


def parse_dimensions(items: list[str] | None) -> dict[str, str]:
    """``["feature=age", "schedule=hourly"]`` → a dict; a bad item is a clear error."""
    dims: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameter(f"Dimension {item!r} is not KEY=VALUE, e.g. feature=age.")
        dims[key.strip()] = value.strip()
    return dims


def _row(alarm: Any) -> dict[str, Any]:
    d = alarm.to_dict()
    d["actions"] = ", ".join(a["type"] for a in d["alarm_actions"]) or "-"
    return d


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("put")
def put(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Alarm name."),
    metric: str = typer.Option(..., "--metric", help="Metric name, e.g. feature_psi."),
    threshold: float = typer.Option(..., "--threshold", help="The value compared with."),
    comparison: str = typer.Option(
        ...,
        "--comparison",
        help="GreaterThanThreshold, GreaterThanOrEqualToThreshold, "
        "LessThanThreshold or LessThanOrEqualToThreshold.",
    ),
    namespace: str = typer.Option("siklus/monitoring", "--namespace", help="Metric namespace."),
    dimension: list[str] = typer.Option(None, "--dimension", "-d", help="KEY=VALUE (repeat)."),
    statistic: str = typer.Option(
        "Average", "--statistic", help="Average, Sum, Minimum, Maximum, SampleCount or pNN."
    ),
    period: int = typer.Option(300, "--period", help="Seconds per datapoint."),
    evaluation_periods: int = typer.Option(1, "--evaluation-periods", help="N: periods read."),
    datapoints_to_alarm: int = typer.Option(
        None, "--datapoints-to-alarm", help="M: breaching periods of N that alarm (default N)."
    ),
    treat_missing_data: str = typer.Option(
        "missing", "--treat-missing-data", help="missing, notBreaching, breaching or ignore."
    ),
    action: list[str] = typer.Option(
        None, "--action", help="On ALARM (repeat): log, webhook:URL, retrain:GROUP, pipeline:NAME."
    ),
    ok_action: list[str] = typer.Option(None, "--ok-action", help="On OK (repeat)."),
    insufficient_data_action: list[str] = typer.Option(
        None, "--insufficient-data-action", help="On INSUFFICIENT_DATA (repeat)."
    ),
    description: str = typer.Option("", "--description"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an alarm or replace its definition (its state is kept)."""
    alarm = _alarms().put_alarm(
        open_workspace(ctx).ctx, name, namespace=namespace, metric=metric,
        threshold=threshold, comparison=comparison, period=period, statistic=statistic,
        dimensions=parse_dimensions(dimension), evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm, treat_missing_data=treat_missing_data,
        description=description, alarm_actions=action or [], ok_actions=ok_action or [],
        insufficient_data_actions=insufficient_data_action or [],
    )  # fmt: skip
    if as_json:
        print_json(alarm.to_dict())
        return
    console.print(
        f"Alarm [bold]{alarm.name}[/] ({alarm.state.value}): "
        f"{alarm.definition.describe_condition()}.",
        highlight=False,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    state: str = typer.Option(None, "--state", help="Only OK, ALARM or INSUFFICIENT_DATA."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List alarms and their states."""
    alarms = _alarms().list_alarms(open_workspace(ctx).ctx, state=state)
    print_table([_row(a) for a in alarms], ALARM_COLUMNS, title="Alarms", as_json=as_json)


@app.command("describe")
def describe(ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPTION):
    """Show an alarm's definition and state."""
    print_record(_alarms().get_alarm(open_workspace(ctx).ctx, name).to_dict(), as_json=as_json)


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    type_: list[str] = typer.Option(
        None, "--type", help="StateUpdate, Action or ConfigurationUpdate (repeat)."
    ),
    limit: int = typer.Option(None, "--limit", help="Only the newest N entries."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The alarm's history: state changes, actions and configuration updates."""
    events = _alarms().alarm_history(open_workspace(ctx).ctx, name, types=type_, limit=limit)
    rows = []
    for event in events:
        body = event.body
        if body["type"] == "StateUpdate":
            summary = f"{body['old_state']} -> {body['new_state']}: {body['reason']}"
        elif body["type"] == "Action":
            action = body["action"]
            target = action.get("url") or action.get("group") or action.get("pipeline") or ""
            summary = f"{body['action']['type']} {target} {body['status']}".strip()
            summary += f" (job {body['job_id']})" if body.get("job_id") else ""
            summary += f": {body['error']}" if body.get("error") else ""
        else:
            summary = body.get("action", "")
        rows.append({"seq": event.seq, "time": _when(body.get("timestamp")),
                     "type": body["type"], "summary": summary, **body})  # fmt: skip
    print_table(rows, ("time", "type", "summary"), title=f"History of {name}", as_json=as_json)


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Delete an alarm (its history stays)."""
    _alarms().delete_alarm(open_workspace(ctx).ctx, name)
    console.print(f"Deleted alarm {name}.")


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="One alarm (default: all)."),
    at: float = typer.Option(None, "--at", help="Evaluate as of this epoch time (default now)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate alarms now (the scheduler does this every tick) and fire their actions."""
    alarms = _alarms()
    ws = open_workspace(ctx).ctx
    now = time.time() if at is None else at
    if name:
        results = [alarms.evaluate_alarm(ws, name, now=now)]
    else:
        results = alarms.evaluate_alarms(ws, now=now)
    rows = [
        {"name": r.alarm.name, "state": r.alarm.state.value, "changed": r.changed,
         "fired": ", ".join(f"{f['action']['type']}:{f['status']}" for f in r.fired) or "-",
         "reason": r.evaluation.reason}
        for r in results
    ]  # fmt: skip
    print_table(rows, ("name", "state", "changed", "fired", "reason"), title="Evaluated",
                as_json=as_json)  # fmt: skip


@app.command("set-state")
def set_state(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    state: str = typer.Argument(..., help="OK, ALARM or INSUFFICIENT_DATA."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the history)."),
) -> None:
    """Force a state to test the actions; the next evaluation sets it from the data."""
    result = _alarms().set_alarm_state(open_workspace(ctx).ctx, name, state, reason=reason)
    fired = ", ".join(f"{f['action']['type']}:{f['status']}" for f in result.fired) or "none"
    console.print(f"Alarm {name} is {result.alarm.state.value}; actions fired: {fired}.")
