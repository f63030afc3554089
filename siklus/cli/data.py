"""``siklus data``: ingest, split, list and describe datasets."""

from __future__ import annotations

from pathlib import Path

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table

app = typer.Typer(help="Versioned datasets: ingest files, split, inspect.", no_args_is_help=True)

DATASET_COLUMNS = ("name", "version", "row_count", "size_bytes", "sha256", "source", "created_at")


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CSV or Parquet file."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    format: str = typer.Option(None, "--format", help="csv or parquet (default: by extension)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Store FILE as a new version of dataset NAME (same content → same version)."""
    ws = open_workspace(ctx)
    version, created = ws.data.ingest(file, name=name, format=format)
    if as_json:
        print_json({**version.to_dict(), "created": created})
        return
    state = "new version" if created else "unchanged: identical content is already"
    console.print(
        f"Dataset [bold]{version.ref}[/] ({state}) — {version.row_count} rows, "
        f"{len(version.schema)} columns, sha256 {version.sha256[:12]}…"
    )


@app.command("split")
def split(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    train: float = typer.Option(0.8, help="Share of rows for training."),
    validation: float = typer.Option(0.1, help="Share of rows for validation."),
    test: float = typer.Option(0.1, help="Share of rows for the final test."),
    seed: int = typer.Option(42, help="Seed of the shuffle."),
    stratify: str = typer.Option(None, help="Keep this column's class proportions in each part."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Split a dataset into NAME.train / NAME.validation / NAME.test (80/10/10 by default)."""
    ws = open_workspace(ctx)
    parts = ws.data.split(
        dataset, fractions=(train, validation, test), seed=seed, stratify=stratify
    )
    print_table(
        parts.values(),
        ("name", "version", "row_count", "sha256"),
        as_json=as_json,
        title=f"Split of {dataset}",
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Only versions of this dataset."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List dataset versions."""
    ws = open_workspace(ctx)
    print_table(ws.data.list(name), DATASET_COLUMNS, as_json=as_json, title="Datasets")


@app.command("describe")
def describe(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a dataset version: schema, rows, hash, lineage parent."""
    ws = open_workspace(ctx)
    print_record(ws.data.get(dataset), as_json=as_json)
