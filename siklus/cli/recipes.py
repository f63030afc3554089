"""``siklus data recipe``: run, validate, list the steps, show a recipe version."""

from __future__ import annotations

import json
import time
import types
import typing
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_table
from siklus.data.recipes import (
    FittedRecipe,
    Recipe,
    available_steps,
    load_recipe,
    preview_recipe,
    run_recipe,
)
from siklus.exceptions import InvalidParameter
from siklus.jobs import LocalExecutor
from siklus.store import Job

app = typer.Typer(
    help="Recipes: ordered, versioned transformation steps, run by DuckDB as jobs.",
    no_args_is_help=True,
)

_LOG_EVERY_S = 0.5


def _short(value: Any, width: int = 70) -> str:
    """Compact JSON for a table cell, escaped: a regex like ``[a-z]`` is not Rich markup."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return escape(text if len(text) <= width else text[: width - 1] + "…")


def _steps_table(recipe: Recipe | FittedRecipe, title: str) -> Table:
    plain = recipe.recipe if isinstance(recipe, FittedRecipe) else recipe
    table = Table(title=title)
    for column in ("#", "step", "parameters", "learned" if plain is not recipe else "learns"):
        table.add_column(column)
    for index, (step, transform) in enumerate(
        zip(plain.steps, plain.transforms, strict=True), start=1
    ):
        if isinstance(recipe, FittedRecipe):
            state = recipe.learned(index)
            last = _short(state) if state is not None else "-"
        else:
            last = "yes" if transform.needs_fit() else "-"
        table.add_row(str(index), step.name, _short(step.params), last)
    return table


def _status_line(executor: LocalExecutor, job: Job) -> str:
    """The job's newest log message, without timestamp and logger name."""
    tail = executor.logs(job.id, tail=1).strip()
    message = tail.split(": ", 1)[1] if ": " in tail else tail
    return f"Recipe job {job.id} {job.status.value}: {message[:100]}"


@app.command("run")
def run(
    ctx: typer.Context,
    recipe: str = typer.Argument(..., help="RECIPE.yaml/.json, or a stored version (sha256)."),
    data: str = typer.Option(
        ..., "--data", "-d", help="Dataset NAME[:VERSION] or a CSV/Parquet file."
    ),
    output: str = typer.Option(..., "--output", "-o", help="Dataset the result is added to."),
    no_fit: bool = typer.Option(
        False, "--no-fit", help="Do not learn from this data: apply a fitted recipe version."
    ),
    memory_limit: str = typer.Option(
        None, "--memory-limit", help="DuckDB memory limit, e.g. 512MB (default: 1/4 of RAM)."
    ),
    threads: int = typer.Option(None, "--threads", help="DuckDB threads (default: all cores)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run RECIPE over --data as a job; store the result as a new version of --output."""
    ws = open_workspace(ctx)
    executor = LocalExecutor(ws.ctx)
    last_look = 0.0

    with console.status("Submitting the recipe job …", spinner="dots") as status:

        def on_poll(job: Job) -> None:
            nonlocal last_look
            if time.monotonic() - last_look >= _LOG_EVERY_S:
                last_look = time.monotonic()
                status.update(_status_line(executor, job))

        job, version = run_recipe(
            ws.ctx, recipe, data, output_name=output, fit=not no_fit,
            memory_limit=memory_limit, threads=threads, on_poll=on_poll,
        )  # fmt: skip
    if as_json:
        print_json({"job": job, "dataset": version})
        return
    state = "new version" if job.outputs.get("created") else "unchanged: identical content is"
    console.print(
        f"Dataset [bold]{version.ref}[/] ({state}) — {version.row_count} rows, "
        f"{len(version.schema)} columns, recipe version {job.outputs['recipe_version'][:12]}, "
        f"job {job.id} in {job.wall_seconds or 0:.1f}s (peak RSS "
        f"{(job.peak_rss_bytes or 0) / 2**20:.0f} MiB)"
    )


@app.command("validate")
def validate(
    ctx: typer.Context,
    recipe: Path = typer.Argument(..., help="RECIPE.yaml or .json."),
    data: str = typer.Option(
        None, "--data", "-d", help="Also dry-run it on the first rows of this dataset or file."
    ),
    rows: int = typer.Option(1000, "--rows", help="Rows for the dry run."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a recipe file: steps, parameters and (with --data) columns and types."""
    loaded = Recipe.from_file(recipe)
    result: dict[str, Any] = {"valid": True, "name": loaded.name, "version": loaded.version,
                              "steps": len(loaded.transforms)}  # fmt: skip
    output = None
    if data is not None:
        if rows < 1:
            raise InvalidParameter(f"--rows must be at least 1, got {rows}.")
        output, _ = preview_recipe(open_workspace(ctx).ctx, loaded, data, rows=rows)
        result["dry_run"] = {
            "rows_in": rows, "rows_out": output.num_rows,
            "columns": [{"name": f.name, "type": str(f.type)} for f in output.schema],
        }  # fmt: skip
    if as_json:
        print_json(result)
        return
    console.print(_steps_table(loaded, f"Recipe {loaded.name} ({loaded.version[:12]})"))
    count = len(loaded.transforms)
    console.print(f"[green]Valid[/]: {count} step{'' if count == 1 else 's'}.")
    if output is not None:
        console.print(
            escape(
                f"Dry run on the first {rows} rows of {data}: {output.num_rows} rows out, "
                "columns " + ", ".join(f"{f.name} ({f.type})" for f in output.schema)
            )
        )


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _parameters(cls: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "type": escape(_type_name(info.annotation)),
            "default": "(required)" if info.is_required() else info.default,
            "description": info.description or "",
        }
        for name, info in cls.model_fields.items()
    ]


@app.command("steps")
def steps(
    name: str = typer.Argument(None, help="Show the parameters of this step."),
    family: str = typer.Option(None, "--family", help="Only steps of this family."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the built-in steps with their parameters."""
    catalogue = available_steps()
    if name is not None:
        if name not in catalogue:
            raise InvalidParameter(f"Unknown step {name!r}. Known steps: {', '.join(catalogue)}.")
        cls = catalogue[name]
        if as_json:
            print_json({"step": name, "family": cls.family, "summary": cls.summary(),
                        "schema": cls.model_json_schema()})  # fmt: skip
            return
        console.print(f"[bold]{name}[/] ({cls.family}): {cls.summary()}")
        print_table(_parameters(cls), ("name", "type", "default", "description"), as_json=False)
        return
    rows = [
        {
            "step": step,
            "family": cls.family,
            "learns": "yes" if cls.learns else "-",
            "summary": cls.summary(),
            "parameters": ", ".join(cls.model_fields),
        }
        for step, cls in catalogue.items()
        if family is None or cls.family == family
    ]
    rows.sort(key=lambda r: (r["family"], r["step"]))
    if as_json:
        print_json(rows)
        return
    print_table(rows, ("step", "family", "learns", "summary", "parameters"),
                as_json=False, title=f"{len(rows)} recipe steps")  # fmt: skip


@app.command("show")
def show(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="Recipe version: sha256 or a unique prefix."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a stored recipe version: its steps and, when fitted, what each learned."""
    recipe = load_recipe(open_workspace(ctx).ctx, version)
    if as_json:
        print_json({"version": recipe.version, **recipe.document()})
        return
    title = f"Recipe {recipe.name} — version {recipe.version}"
    if isinstance(recipe, FittedRecipe):
        console.print(f"Fitted on {_short(dict(recipe.fitted_on), 200)}; "
                      f"unfitted version {recipe.recipe.version}")  # fmt: skip
    console.print(_steps_table(recipe, title))
