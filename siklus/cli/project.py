"""``siklus init``: scaffold a ``siklus.yaml`` with the business goal and success criteria."""

from __future__ import annotations

from pathlib import Path

import typer

from siklus.cli._output import console
from siklus.project import load_project, scaffold_project


def init(
    folder: Path = typer.Argument(Path("."), help="Workspace folder to create or use."),
    name: str = typer.Option(None, "--name", help="Project name (default: the folder's name)."),
    problem_type: str = typer.Option(
        "binary_classification",
        "--type",
        help="binary_classification, multiclass_classification or regression.",
    ),
    target: str = typer.Option("target", "--target", help="Target column."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing siklus.yaml."),
) -> None:
    """Create siklus.yaml: problem, business goal, success criteria, business metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = (name or folder.resolve().name).lower().replace(" ", "-")
    path = scaffold_project(
        folder, slug, problem_type=problem_type, target=target, overwrite=overwrite
    )
    load_project(path)
    (folder / ".siklus").mkdir(exist_ok=True)
    console.print(f"Created {path}. Edit the business goal and success criteria, then ingest data.")
