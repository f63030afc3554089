"""Fitting and running recipes: in this process (small data, fitting) or as a job.

:func:`run_recipe` is the main entry point: it submits a ``recipe`` job that streams the
input through DuckDB into a new Parquet file and records it as a dataset version, with
lineage to its input and to the recipe version. :func:`fit_recipe` learns a recipe's
state without producing data; :func:`transform_table` runs a recipe over an in-memory
Arrow table (previews, tests, notebooks).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from siklus.data.recipes._base import Frame
from siklus.data.recipes._engine import Engine
from siklus.data.recipes._errors import RecipeError
from siklus.data.recipes._recipe import FittedRecipe, Recipe
from siklus.data.recipes._source import Source, open_source
from siklus.data.recipes._store import load_recipe, record_lineage, save_recipe
from siklus.store import DatasetVersion, WorkspaceContext

RecipeLike = Recipe | FittedRecipe | str | os.PathLike[str]
RECIPE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class Outcome:
    """What one pass of a recipe over a source produced.

    Attributes:
        applied: The version the output was made with: a new :class:`FittedRecipe` when
            something was learned (or a join pinned), the given one otherwise.
        table: The output rows, when asked for as Arrow.
        joined: The datasets/files joined, pinned.
    """

    applied: Recipe | FittedRecipe
    table: pa.Table | None = None
    joined: list[dict[str, Any]] = field(default_factory=list)


def as_recipe(ctx: WorkspaceContext | None, recipe: RecipeLike) -> Recipe | FittedRecipe:
    """A recipe object, a recipe file (``.yaml``/``.json``), or a stored version (sha256).

    Raises:
        NotFound: No such file or stored version.
        RecipeError: The file is not a valid recipe.
    """
    if isinstance(recipe, Recipe | FittedRecipe):
        return recipe
    text = os.fspath(recipe)
    if isinstance(recipe, os.PathLike) or text.lower().endswith(RECIPE_SUFFIXES) or os.sep in text:
        return Recipe.from_file(text)
    if ctx is None:
        raise RecipeError(f"Recipe {text!r} looks like a stored version; that needs a workspace.")
    return load_recipe(ctx, text)


def _check_fittable(recipe: Recipe | FittedRecipe, fit: bool) -> None:
    if isinstance(recipe, Recipe) and not fit and recipe.learning_steps():
        labels = ", ".join(
            f"step {i} ({recipe.transforms[i - 1].step})" for i in recipe.learning_steps()
        )
        raise RecipeError(
            f"Recipe {recipe.name!r} is not fitted, and {labels} learn from data. Run it with "
            "fitting (leave out --no-fit / fit=False), or pass a fitted recipe version "
            "(from `siklus data recipe show` or a previous run).",
            step=recipe.learning_steps()[0],
        )


def load(
    engine: Engine,
    ctx: WorkspaceContext | None,
    source: Source | pa.Table,
    *,
    limit: int | None = None,
) -> tuple[Frame, dict[str, Any]]:
    """Open ``source`` as the engine's input view; return it and its ``fitted_on`` JSON."""
    if isinstance(source, pa.Table):
        return engine.load_arrow(source), {"table": f"{source.num_rows} rows"}
    if source.version is not None:
        if ctx is None:
            raise RecipeError("Reading a dataset needs a workspace.")
        path = ctx.artifacts.local_path(source.version.sha256)
        return engine.load_parquet(path, source.label, limit=limit), source.describe()
    assert source.path is not None
    return engine.load_file(source.path, source.label, limit=limit), source.describe()


def execute(
    ctx: WorkspaceContext | None,
    recipe: Recipe | FittedRecipe,
    source: Source | pa.Table,
    *,
    fit: bool,
    work_dir: Path,
    output: Path | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    log: logging.Logger | None = None,
    stop: Callable[[], bool] | None = None,
    limit: int | None = None,
) -> Outcome:
    """Run ``recipe`` over ``source``: write Parquet to ``output``, or return Arrow.

    A :class:`FittedRecipe` is applied with its learned state; ``fit`` only decides
    whether a plain recipe may learn from this data.
    """
    _check_fittable(recipe, fit)
    plain = recipe.recipe if isinstance(recipe, FittedRecipe) else recipe
    states = list(recipe.states) if isinstance(recipe, FittedRecipe) else None
    with Engine(
        work_dir, ctx=ctx, memory_limit=memory_limit, threads=threads, log=log, stop=stop
    ) as engine:
        frame, fitted_on = load(engine, ctx, source, limit=limit)
        last, learned = engine.compile(plain, frame, states=states, fit=fit)
        if isinstance(recipe, FittedRecipe):
            applied: Recipe | FittedRecipe = recipe
        elif any(state is not None for state in learned):
            applied = FittedRecipe(plain, tuple(learned), fitted_on)
        else:
            applied = plain
        outcome = Outcome(applied=applied, joined=list(engine.inputs.used))
        if output is not None:
            engine.write_parquet(last, output)
        else:
            outcome.table = engine.to_arrow(last)
    return outcome


def _scratch(ctx: WorkspaceContext | None) -> Path:
    if ctx is None:
        return Path(tempfile.gettempdir())
    path = ctx.state_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fit_recipe(
    ctx: WorkspaceContext,
    recipe: RecipeLike,
    dataset_ref: str | os.PathLike[str] | DatasetVersion,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> FittedRecipe:
    """Learn what the recipe's steps learn from a dataset, store it, and return it.

    Each learning step runs one aggregate query over the rows as the steps before it
    leave them; no output is written. The fitted recipe is stored as a recipe version
    (its ``version``) with lineage from the dataset version.

    Example:
        >>> fitted = fit_recipe(ctx, "clean.yaml", "customers:1")  # doctest: +SKIP
        >>> fitted.learned(1)  # doctest: +SKIP
        {'values': {'age': 41.0}}

    Raises:
        RecipeError: A step does not fit this data (the message names it).
        RecipeDataError: A value stopped a learning query (step, column, row named).
        NotFound: No such dataset, file or stored recipe.
    """
    loaded = as_recipe(ctx, recipe)
    plain = loaded.recipe if isinstance(loaded, FittedRecipe) else loaded
    source = open_source(ctx, dataset_ref)
    work_dir = Path(tempfile.mkdtemp(prefix="fit-", dir=_scratch(ctx)))
    try:
        with Engine(work_dir, ctx=ctx, memory_limit=memory_limit, threads=threads) as engine:
            frame, _ = load(engine, ctx, source)
            _, learned = engine.compile(plain, frame, fit=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    fitted = FittedRecipe(plain, tuple(learned), source.describe())
    save_recipe(ctx, plain)
    save_recipe(ctx, fitted)
    record_lineage(ctx, applied=fitted, job_id=None, input_id=None, output_id=None, joined=[])
    return fitted


def transform_table(
    recipe: RecipeLike,
    table: pa.Table,
    *,
    fit: bool = True,
    ctx: WorkspaceContext | None = None,
    memory_limit: str | None = None,
) -> tuple[pa.Table, Recipe | FittedRecipe]:
    """Run a recipe over an in-memory Arrow table in this process; return rows and version.

    Meant for data that fits in memory (previews, tests, notebooks); use
    :func:`run_recipe` for datasets, which streams and records lineage. Nothing is stored.

    Example:
        >>> recipe = Recipe("r", [Step("abs", column="x")])
        >>> out, applied = transform_table(recipe, table)  # doctest: +SKIP

    Returns:
        ``(output, applied)``: the rows, and the recipe as applied (fitted when it learned).
    """
    loaded = as_recipe(ctx, recipe)
    work_dir = Path(tempfile.mkdtemp(prefix="siklus-recipe-", dir=_scratch(ctx)))
    try:
        outcome = execute(
            ctx, loaded, table, fit=fit, work_dir=work_dir, memory_limit=memory_limit or "1GB"
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    assert outcome.table is not None
    return outcome.table, outcome.applied


def preview_recipe(
    ctx: WorkspaceContext | None,
    recipe: RecipeLike,
    dataset_ref: str | os.PathLike[str] | DatasetVersion,
    *,
    rows: int = 1000,
) -> tuple[pa.Table, Recipe | FittedRecipe]:
    """Dry-run a recipe on the first ``rows`` rows of a dataset or file; store nothing.

    Shows what the output will look like and catches wrong columns and types quickly;
    statistics learned from a few rows are not those of the full run.
    """
    loaded = as_recipe(ctx, recipe)
    source = open_source(ctx, dataset_ref)
    work_dir = Path(tempfile.mkdtemp(prefix="preview-", dir=_scratch(ctx)))
    try:
        outcome = execute(ctx, loaded, source, fit=True, work_dir=work_dir, limit=rows)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    assert outcome.table is not None
    return outcome.table, outcome.applied


__all__ = [
    "Outcome",
    "as_recipe",
    "execute",
    "fit_recipe",
    "load",
    "preview_recipe",
    "transform_table",
]
