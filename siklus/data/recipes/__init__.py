"""Recipes: ordered, named, versioned transformation steps, run by DuckDB over Arrow.

A recipe is written in YAML/JSON or built in Python, validated before anything runs,
fitted like a scikit-learn estimator (steps that learn keep what they learned in the
recipe version) and run as a job that streams data larger than memory into a new
dataset version.

Example:
    >>> from siklus.data.recipes import Recipe, Step, run_recipe
    >>> recipe = Recipe("clean", steps=[
    ...     Step("fill_missing", column="age", strategy="median"),
    ...     Step("one_hot", column="city"),
    ...     Step("scale_standard", columns=["age", "income"]),
    ... ])
    >>> job, version = run_recipe(  # doctest: +SKIP
    ...     ctx, recipe, "customers", output_name="customers.clean")

See docs/recipes.md for the step catalogue and the statistics each step uses.
"""

from __future__ import annotations

from siklus.data.recipes._base import Transform, registry
from siklus.data.recipes._engine import default_memory_limit
from siklus.data.recipes._errors import RecipeDataError, RecipeError
from siklus.data.recipes._recipe import FittedRecipe, Recipe, Step
from siklus.data.recipes._run import fit_recipe, preview_recipe, transform_table
from siklus.data.recipes._store import load_recipe, save_recipe, store_parquet_file
from siklus.data.recipes._submit import run_recipe


def available_steps() -> dict[str, type[Transform]]:
    """Every built-in step by name: its class carries ``family``, ``summary()`` and the
    parameter schema (``model_json_schema()``)."""
    return registry()


__all__ = [
    "FittedRecipe",
    "Recipe",
    "RecipeDataError",
    "RecipeError",
    "Step",
    "Transform",
    "available_steps",
    "default_memory_limit",
    "fit_recipe",
    "load_recipe",
    "preview_recipe",
    "run_recipe",
    "save_recipe",
    "store_parquet_file",
    "transform_table",
]
