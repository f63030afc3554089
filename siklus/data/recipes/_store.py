"""Recipe versions as content-addressed artifacts; Parquet files as dataset versions.

There is no table for recipes: a recipe version *is* its JSON artifact, and its version
id is that artifact's sha256 (so storing the same recipe twice stores nothing new).
Lineage edges (``("recipe", sha256)``) tie versions to the datasets and jobs around them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from siklus.data._datasets import check_dataset_name, schema_of
from siklus.data.recipes._recipe import FittedRecipe, Recipe, canonical_json, from_document
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.store import DatasetVersion, WorkspaceContext

LINEAGE_TYPE = "recipe"


def save_recipe(ctx: WorkspaceContext, recipe: Recipe | FittedRecipe) -> str:
    """Store a recipe (fitted or not) as a JSON artifact; return its version (sha256).

    Example:
        >>> recipe = Recipe("clean", steps=[Step("trim", column="name")])
        >>> version = save_recipe(ctx, recipe)  # doctest: +SKIP
    """
    digest = ctx.artifacts.put_bytes(canonical_json(recipe.document()))
    if digest != recipe.version:  # canonical_json is the definition of the version
        raise RuntimeError(f"stored recipe hashes to {digest}, expected {recipe.version}")
    return digest


def _full_version(ctx: WorkspaceContext, version: str) -> str:
    """Expand a unique prefix (at least 8 hex digits) to a full sha256."""
    version = version.strip().lower().removeprefix("sha256:")
    if len(version) == 64:
        return version
    if len(version) < 8 or any(c not in "0123456789abcdef" for c in version):
        raise InvalidParameter(
            f"Recipe version {version!r} is not a sha256 or a prefix of at least 8 hex digits."
        )
    store = ctx.artifacts
    pattern = f"{store.root}/sha256/{version[:2]}/{version}*"
    matches = [Path(p).name for p in store.fs.glob(pattern)]
    if not matches:
        raise NotFound(f"No recipe version starts with {version!r} in this workspace.")
    if len(matches) > 1:
        raise InvalidParameter(
            f"Recipe version prefix {version!r} is ambiguous ({len(matches)} artifacts); give "
            "more digits."
        )
    return matches[0]


def load_recipe(ctx: WorkspaceContext, version: str) -> Recipe | FittedRecipe:
    """Load a stored recipe version (a sha256 or a unique prefix of one).

    Raises:
        NotFound: No such artifact.
        InvalidInput: The artifact is not a recipe.
    """
    digest = _full_version(ctx, version)
    try:
        document = json.loads(ctx.artifacts.get_bytes(digest))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"Artifact {digest} is not a recipe (not JSON).") from None
    return from_document(document)


def store_parquet_file(
    ctx: WorkspaceContext,
    path: Path,
    name: str,
    *,
    source: str,
    parent_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Record an already-written Parquet file as a version of dataset ``name``.

    Schema and row count come from the file's footer, so the rows are never read.

    Returns:
        ``(version, created)``; ``created`` is False when identical content existed.
    """
    check_dataset_name(name)
    metadata = pq.read_metadata(path)
    schema = pq.read_schema(path)
    digest = ctx.artifacts.put_file(path)
    return ctx.store.add_dataset_version(
        name,
        sha256=digest,
        schema=schema_of(schema),
        row_count=metadata.num_rows,
        size_bytes=path.stat().st_size,
        source=source,
        parent_id=parent_id,
        tags=ctx.with_tags(tags),
    )


def record_lineage(
    ctx: WorkspaceContext,
    *,
    applied: Recipe | FittedRecipe,
    job_id: str | None,
    input_id: str | None,
    output_id: str | None,
    joined: list[dict[str, Any]],
) -> None:
    """Link the input, the recipe versions, the job and the output (docs/recipes.md).

    Edges: recipe → fitted recipe ``fitted``; dataset → fitted recipe ``fit``; recipe
    version → job ``recipe``; dataset → job ``input``; job → dataset ``output``; recipe
    version → dataset ``transformed``; input dataset → output dataset ``recipe``; joined
    dataset → output dataset ``joined``.
    """
    add = ctx.store.add_lineage
    node = (LINEAGE_TYPE, applied.version)
    if isinstance(applied, FittedRecipe):
        add((LINEAGE_TYPE, applied.recipe.version), node, "fitted")
        fitted_on = applied.fitted_on.get("dataset_version_id")
        if fitted_on:
            add(("dataset", str(fitted_on)), node, "fit")
    if job_id is not None:
        add(node, ("job", job_id), "recipe")
        if input_id is not None:
            add(("dataset", input_id), ("job", job_id), "input")
        if output_id is not None:
            add(("job", job_id), ("dataset", output_id), "output")
    if output_id is not None:
        add(node, ("dataset", output_id), "transformed")
        if input_id is not None:
            add(("dataset", input_id), ("dataset", output_id), "recipe")
        for pinned in joined:
            if pinned.get("dataset_version_id"):
                add(
                    ("dataset", str(pinned["dataset_version_id"])), ("dataset", output_id), "joined"
                )


__all__ = ["LINEAGE_TYPE", "load_recipe", "record_lineage", "save_recipe", "store_parquet_file"]
