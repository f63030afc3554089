"""``siklus models``: register, approve, reject, list, describe, card, history, export-onnx."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markdown import Markdown
from rich.table import Table

from siklus import registry
from siklus.cli._app import open_workspace
from siklus.cli._output import (
    JSON_OPTION,
    console,
    fmt,
    print_json,
    print_record,
    print_table,
)
from siklus.exceptions import NotFound

app = typer.Typer(
    help="Model registry: versions, approval and its history, model cards, lineage, ONNX.",
    no_args_is_help=True,
)

PACKAGE_COLUMNS = (
    "group",
    "version",
    "model_id",
    "approval_status",
    "status_by",
    "status_reason",
    "created_at",
)


@app.command("register")
def register(
    ctx: typer.Context,
    model_id: str = typer.Argument(..., help="Model id from `siklus train`."),
    group: str = typer.Option(..., "--group", "-g", help="Model package group."),
    description: str = typer.Option("", "--description", help="What this version changes."),
    onnx: bool = typer.Option(
        True, "--onnx/--no-onnx", help="Try the ONNX export now (best effort)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a model as the next version of GROUP (PendingManualApproval).

    Also writes the model card and, unless --no-onnx, tries the ONNX export.
    """
    ws = open_workspace(ctx)
    package = registry.register_model(ws.ctx, model_id, group, description=description, onnx=onnx)
    if as_json:
        print_json(package)
        return
    console.print(
        f"Registered [bold]{package.ref}[/] ({package.approval_status.value}). Approve it with "
        f"`siklus models approve {package.ref} --reason '...'`."
    )
    if onnx:
        console.print(_onnx_line(registry.get_onnx_export(ws.ctx, package)))


def _onnx_line(record: dict[str, Any]) -> str:
    if record.get("status") == "exported":
        gaps = {
            "any": "missing values in any column",
            "nullable": "missing values only where the training data had them",
        }.get(record.get("missing_values"), "missing values not checked: re-export")
        return (
            f"ONNX export: [green]exported[/] (sha256 {record['sha256'][:12]}, checked on "
            f"{record.get('verified_rows', 0)} rows against scikit-learn; {gaps})."
        )
    return f"ONNX export: [yellow]unavailable[/] ({record.get('reason')})."


def _decide(
    ctx: typer.Context, ref: str, reason: str, by: str | None, approve: bool, as_json: bool
) -> None:
    models = open_workspace(ctx).models
    package = (models.approve if approve else models.reject)(ref, reason=reason, by=by)
    if as_json:
        print_json(package)
        return
    console.print(
        f"[bold]{package.ref}[/] is now {package.approval_status.value} "
        f"(by {package.status_by}: {package.status_reason})."
    )


@app.command("approve")
def approve(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why it may be deployed."),
    by: str = typer.Option(None, "--by", help="Who decides (default: the OS user)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve a model version for deployment."""
    _decide(ctx, ref, reason, by, True, as_json)


@app.command("reject")
def reject(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why it must not be deployed."),
    by: str = typer.Option(None, "--by", help="Who decides (default: the OS user)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Reject a model version."""
    _decide(ctx, ref, reason, by, False, as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    group: str = typer.Argument(None, help="Only this group."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List registered model versions."""
    print_table(
        open_workspace(ctx).models.list(group),
        PACKAGE_COLUMNS,
        as_json=as_json,
        title="Model packages",
    )


@app.command("describe")
def describe(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a model version: metrics, approval, lineage (data, job, evaluations), ONNX."""
    ws = open_workspace(ctx)
    package = registry.get_package(ws.ctx, ref)
    lineage = registry.package_lineage(ws.ctx, package)
    try:
        onnx: dict[str, Any] | None = registry.get_onnx_export(ws.ctx, package)
    except NotFound:
        onnx = None
    if as_json:
        print_json({**package.to_dict(), "lineage": lineage, "onnx": onnx})
        return
    print_record(package, as_json=False)
    table = Table(title=f"Lineage of {package.ref}")
    for column in ("link", "id", "detail"):
        table.add_column(column)
    model = lineage["model"]
    table.add_row("model", model["id"], f"{model['name']} (sha256 {model['sha256'][:12]})")
    job = lineage["training_job"]
    if job:
        table.add_row("training job", job["id"], f"{job['name']} ({job['status']})")
    for data in lineage["datasets"]:
        table.add_row(
            f"dataset ({data['channel']})",
            fmt(data["id"]),
            f"{data['ref']}, {fmt(data['rows'])} rows",
        )
    for evaluation in lineage["evaluations"]:
        verdict = {True: "criteria passed", False: "criteria FAILED", None: "no criteria"}
        table.add_row(
            f"evaluation ({evaluation['split']})",
            evaluation["id"],
            f"on {evaluation['dataset']}, {verdict[evaluation['passed']]}",
        )
    for artifact in lineage["artifacts"]:
        table.add_row(f"artifact ({artifact['relation']})", artifact["sha256"][:12], "")
    console.print(table)
    if onnx is not None:
        console.print(_onnx_line(onnx))


@app.command("card")
def card(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    set_: list[str] = typer.Option(
        None, "--set", help="Set a field: --set intended_use='Rank renewals' (repeatable)."
    ),
    from_file: Path = typer.Option(
        None, "--from-file", help="YAML file with fields to set (intended_use, limitations, …)."
    ),
    by: str = typer.Option(None, "--by", help="Who edits (default: the OS user)."),
    output: str = typer.Option("markdown", "--format", help="markdown or json."),
) -> None:
    """Show a version's model card, or edit it with --set / --from-file."""
    ws = open_workspace(ctx)
    package = registry.get_package(ws.ctx, ref)
    if output not in ("markdown", "json"):
        registry.render_model_card({}, output)  # raises the error with the known formats
    changes: dict[str, Any] = {}
    if from_file is not None:
        changes.update(registry.read_card_file(from_file))
    if set_:
        changes.update(registry.parse_assignments(set_))
    if changes:
        body = registry.update_model_card(ws.ctx, package, changes, by=by)
    else:
        body = registry.get_model_card(ws.ctx, package)
    text = registry.render_model_card(body, output)
    if output == "json":
        typer.echo(text)
    else:
        console.print(Markdown(text))


@app.command("history")
def history(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Who registered, approved, rejected, edited and exported a version, when and why."""
    ws = open_workspace(ctx)
    package = registry.get_package(ws.ctx, ref)
    events = registry.package_history(ws.ctx, package)
    rows = [
        {
            "at": datetime.fromisoformat(event["at"]) if event.get("at") else None,
            "action": event.get("action"),
            "by": event.get("by"),
            "change": (
                f"{event.get('from', '-')} → {event.get('to')}"
                if event.get("action") == "approval"
                else event.get("to") or event.get("status") or ", ".join(event.get("fields", []))
            ),
            "reason": event.get("reason"),
        }
        for event in events
    ]
    if as_json:
        print_json(events)
        return
    print_table(
        rows,
        ("at", "action", "by", "change", "reason"),
        title=f"History of {package.ref}",
        as_json=False,
    )


@app.command("export-onnx")
def export_onnx(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Convert a version to ONNX (skl2onnx), check it against scikit-learn and store it."""
    ws = open_workspace(ctx)
    with console.status("Converting to ONNX …", spinner="dots"):
        record = registry.export_onnx(ws.ctx, ref)
    if as_json:
        print_json(record)
    else:
        console.print(_onnx_line(record))
    if record["status"] != "exported":
        raise typer.Exit(1)
