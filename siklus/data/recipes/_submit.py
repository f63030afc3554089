"""``run_recipe``: a recipe run is a job, and its result is a new dataset version."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from siklus.data._datasets import check_dataset_name
from siklus.data.recipes._engine import default_memory_limit, memory_limit_mib
from siklus.data.recipes._errors import RecipeDataError, error_from_record, step_label
from siklus.data.recipes._recipe import FittedRecipe, Recipe
from siklus.data.recipes._run import RecipeLike, _check_fittable, as_recipe
from siklus.data.recipes._source import Source, has_no_rows, open_source
from siklus.data.recipes._store import save_recipe
from siklus.exceptions import JobFailed
from siklus.jobs import JobSpec, LocalExecutor, job_dir_for
from siklus.store import DatasetVersion, Job, JobStatus, WorkspaceContext

ENTRYPOINT = "siklus.data.recipes._job:run"
JOB_KIND = "recipe"
#: Written by the job next to its log when it fails with a siklus error, so the caller
#: can raise the same error (class, step, column, row) instead of a generic JobFailed.
ERROR_FILE = "error.json"
#: Memory a recipe job needs besides DuckDB's buffers (measured: about 300 MiB).
PROCESS_OVERHEAD_MIB = 512


def recipe_spec(
    ctx: WorkspaceContext,
    recipe: RecipeLike,
    dataset_ref: str | os.PathLike[str] | DatasetVersion,
    *,
    output_name: str,
    fit: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
    tags: dict[str, str] | None = None,
) -> JobSpec:
    """Validate everything that can be checked without data, store the recipe, build the spec.

    Raises:
        RecipeError: Invalid recipe, or ``fit=False`` for a recipe that must learn.
        NotFound: No such input dataset, input file or stored recipe.
        InvalidParameter: A bad output name.
    """
    loaded = as_recipe(ctx, recipe)
    check_dataset_name(output_name)
    _check_fittable(loaded, fit)
    source = open_source(ctx, dataset_ref)
    _check_has_rows_to_learn_from(loaded, source, fit)
    version = save_recipe(ctx, loaded)
    if isinstance(loaded, FittedRecipe):
        save_recipe(ctx, loaded.recipe)
    inputs: dict[str, Any] = {"recipe": version}
    if source.version is not None:
        inputs["dataset"] = source.version.id
    else:
        inputs["file"] = str(source.path)
    limit = memory_limit or default_memory_limit()
    cpus = int(threads) if threads else (os.cpu_count() or 1)
    return JobSpec(
        kind=JOB_KIND,
        entrypoint=ENTRYPOINT,
        name=f"recipe-{loaded.name}"[:200],
        inputs=inputs,
        parameters={
            "output_name": output_name,
            "fit": fit,
            "memory_limit": limit,
            "threads": cpus,
            "input": source.label,
        },
        # What the job holds while it runs: DuckDB's threads, and its memory limit plus
        # what the Python process itself needs (imports, Arrow buffers).
        resources={"cpus": cpus, "memory_mb": memory_limit_mib(limit) + PROCESS_OVERHEAD_MIB},
        tags=dict(tags or {}),
    )


def _check_has_rows_to_learn_from(recipe: Recipe | FittedRecipe, source: Source, fit: bool) -> None:
    """Refuse, before any job, to fit learning steps on an input with no rows.

    A recipe without learning steps (or an already fitted one) runs over an empty input
    and gives an empty version; a step that learns has nothing to learn from.

    Raises:
        RecipeDataError: The input has no rows and the recipe must learn from it.
    """
    if not (fit and isinstance(recipe, Recipe) and recipe.learning_steps()):
        return
    if not has_no_rows(source):
        return
    first = recipe.learning_steps()[0]
    name = recipe.transforms[first - 1].step
    raise RecipeDataError(
        f"Input {source.label} has no rows, so {step_label(first, name)} has nothing to learn "
        "from. Run the recipe on data with rows, or apply a recipe version fitted elsewhere "
        "(from `siklus data recipe show` or a previous run).",
        step=first,
        step_name=name,
    )


def run_recipe(
    ctx: WorkspaceContext,
    recipe_or_ref: RecipeLike,
    dataset_ref: str | os.PathLike[str] | DatasetVersion,
    *,
    output_name: str,
    fit: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
    tags: dict[str, str] | None = None,
    on_poll: Callable[[Job], None] | None = None,
) -> tuple[Job, DatasetVersion]:
    """Run a recipe as a job and return it with the dataset version it produced.

    The job streams ``dataset_ref`` through the steps with DuckDB (within
    ``memory_limit``, spilling to the job folder beyond it), writes Parquet to a
    temporary file, and only when every step succeeded stores it as a version of
    ``output_name``, with lineage to the input version(s) and to the recipe version. A
    failure leaves no dataset version and no temporary file behind.

    Example:
        >>> job, version = run_recipe(  # doctest: +SKIP
        ...     ctx, "clean.yaml", "customers", output_name="customers.clean")
        >>> job.outputs["recipe_version"]  # doctest: +SKIP

    Args:
        ctx: The workspace.
        recipe_or_ref: A :class:`Recipe` or :class:`FittedRecipe`, a ``.yaml``/``.json``
            file, or a stored recipe version (sha256 or a unique prefix).
        dataset_ref: ``NAME[:VERSION]``, a :class:`DatasetVersion`, or a CSV/Parquet path.
        output_name: Dataset to add the new version to.
        fit: For a plain recipe, learn the steps' state from this data; False refuses a
            recipe that has learning steps. A fitted recipe is always applied as fitted.
        memory_limit: DuckDB memory limit, e.g. ``"512MB"`` (default: a quarter of RAM,
            at most 4 GB); the job asks the executor for this plus 512 MiB.
        threads: DuckDB threads, and the CPUs the job asks for (default: all cores).
        tags: Tags of the job (cost allocation).
        on_poll: Called with the job record while waiting (progress display).

    Raises:
        RecipeError: The recipe is wrong for this data; names the step and column.
        RecipeDataError: The data is wrong (malformed CSV line, failing cast); names the
            step, the column and the row.
        NotFound: The input dataset, file or recipe version does not exist.
        JobFailed: The job failed for another reason (the message has the log path).
    """
    spec = recipe_spec(
        ctx, recipe_or_ref, dataset_ref, output_name=output_name, fit=fit,
        memory_limit=memory_limit, threads=threads, tags=tags,
    )  # fmt: skip
    job = LocalExecutor(ctx).run(spec, on_poll=on_poll)
    if job.status != JobStatus.COMPLETED:
        raise job_error(ctx, job)
    return job, ctx.store.get_dataset_version_by_id(job.outputs["dataset_version_id"])


def job_error(ctx: WorkspaceContext, job: Job) -> Exception:
    """The error a failed or stopped recipe job should raise in its caller."""
    where = f"recipe job {job.id}; log: {job.log_path}"
    suffix = f" ({where})"
    path = job_dir_for(ctx, job.id) / ERROR_FILE
    if job.status == JobStatus.FAILED and path.is_file():
        try:
            return error_from_record(json.loads(path.read_text(encoding="utf-8")), suffix)
        except (OSError, ValueError):
            pass  # fall back to the recorded reason
    reason = job.failure_reason or "no reason was recorded"
    return JobFailed(f"Recipe job {job.id} ended {job.status.value}: {reason} ({where}).")


__all__ = ["ENTRYPOINT", "ERROR_FILE", "JOB_KIND", "job_error", "recipe_spec", "run_recipe"]
