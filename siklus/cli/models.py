"""``siklus models``: import, register, approve, reject, list, describe, card, history,
export-onnx."""

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
from siklus.exceptions import InvalidParameter, NotFound

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


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A .skops file of a fitted estimator or pipeline."),
    name: str = typer.Option(..., "--name", "-n", help="The model's name."),
    example: str = typer.Option(
        ...,
        "--example",
        "-e",
        help="Rows of the model's input: a dataset (NAME[:VERSION]) or a CSV/Parquet file.",
    ),
    target: str | None = typer.Option(
        None, "--target", help="The predicted column (dropped from the example)."
    ),
    positive_label: str | None = typer.Option(
        None, "--positive-label", help="The positive class of a binary classifier."
    ),
    group: str | None = typer.Option(
        None, "--register", "-g", help="Also register it as the next version of this group."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Bring in a model fitted outside siklus (a notebook, another tool).

    The file is loaded through siklus' type allow-list (a skops file, never a pickle),
    its input signature is inferred from the example rows, and it is stored like a model
    siklus trained: it can then be registered, approved, served and batch-scored.
    """
    from siklus.training import load_estimator, log_model

    ws = open_workspace(ctx)
    if not path.is_file():
        raise NotFound(f"No model file at {path}: give the path of a .skops file.")
    if group is not None:
        registry.parse_package_ref(group)  # a bad group fails before anything is stored
    estimator = load_estimator(path)
    rows = _example_rows(ws.ctx, example)
    # log_model turns the text into the class it spells (1 for "1", True for "true").
    model = log_model(
        ws.ctx, estimator, rows, name=name, target=target, positive_label=positive_label,
        training_dataset=example if _is_dataset(ws.ctx, example) else None,
    )  # fmt: skip
    package = registry.register_model(ws.ctx, model.id, group) if group else None
    if as_json:
        print_json({"model": model, "package": package})
        return
    console.print(
        f"Stored model [bold]{model.id}[/] ({model.name}, "
        f"{model.manifest['task'].replace('_', ' ')}, "
        f"{len(model.manifest['input_signature'])} input columns)."
    )
    if package is not None:
        console.print(
            f"Registered [bold]{package.ref}[/] ({package.approval_status.value}). Approve "
            f"it with `siklus models approve {package.ref} --reason '...'`."
        )
        console.print(_onnx_line(registry.get_onnx_export(ws.ctx, package)))
    else:
        console.print(f"Register it with `siklus models register {model.id} --group GROUP`.")


_EXAMPLE_ROWS = 10_000  # enough to tell which columns may be missing; read no more


def _is_dataset(ctx: Any, ref: str) -> bool:
    from siklus.data import resolve

    if Path(ref).suffix.lower() in (".csv", ".parquet", ".pq") and Path(ref).is_file():
        return False
    try:
        resolve(ctx, ref)
    except (NotFound, InvalidParameter):  # e.g. a path like data/rows.tsv: not a name
        return False
    return True


def _example_rows(ctx: Any, ref: str) -> Any:
    """The first rows of a dataset or of a CSV/Parquet file (never the whole of it)."""
    import pandas as pd
    import pyarrow.parquet as pq

    if _is_dataset(ctx, ref):
        from siklus.data import resolve

        path = ctx.artifacts.local_path(resolve(ctx, ref).sha256)
    else:
        path = Path(ref)
        if not path.is_file():
            raise NotFound(
                f"--example {ref!r} is neither a dataset of this workspace nor a file; give "
                "a dataset (NAME or NAME:VERSION) or a CSV/Parquet file."
            )
        if path.suffix.lower() not in (".parquet", ".pq"):
            return pd.read_csv(path, nrows=_EXAMPLE_ROWS)
    first = next(pq.ParquetFile(path).iter_batches(batch_size=_EXAMPLE_ROWS), None)
    return first.to_pandas() if first is not None else pd.DataFrame()  # refused as empty


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
