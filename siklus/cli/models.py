"""``siklus models``: register, approve, reject, list, describe."""

from __future__ import annotations

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table

app = typer.Typer(help="Model registry: package groups, versions, approval.", no_args_is_help=True)

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
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a model as the next version of GROUP (PendingManualApproval)."""
    package = open_workspace(ctx).models.register(model_id, group=group, description=description)
    if as_json:
        print_json(package)
        return
    console.print(
        f"Registered [bold]{package.ref}[/] ({package.approval_status.value}). Approve it with "
        f"`siklus models approve {package.ref} --reason '...'`."
    )


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
    """Show a model version with its metrics and approval history."""
    print_record(open_workspace(ctx).models.get(ref), as_json=as_json)
