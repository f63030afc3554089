"""The recipe job: what runs inside the job's own process.

Submitted by :func:`siklus.data.recipes.run_recipe`; the job runner imports
``siklus.data.recipes._job:run`` by name, so ``siklus.jobs`` never imports ``data``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from siklus.data.recipes._engine import RecipeStopped
from siklus.data.recipes._errors import error_record
from siklus.data.recipes._recipe import FittedRecipe
from siklus.data.recipes._run import execute
from siklus.data.recipes._source import Source, open_source
from siklus.data.recipes._store import load_recipe, record_lineage, save_recipe, store_parquet_file
from siklus.data.recipes._submit import ERROR_FILE
from siklus.exceptions import SiklusError
from siklus.jobs import JobContext


def _source(job: JobContext) -> Source:
    store = job.workspace.store
    if job.inputs.get("dataset"):
        return Source(version=store.get_dataset_version_by_id(job.inputs["dataset"]))
    return open_source(None, Path(job.inputs["file"]))


def _run(job: JobContext) -> dict[str, Any]:
    ws = job.workspace
    params = job.parameters
    recipe = load_recipe(ws, job.inputs["recipe"])
    source = _source(job)
    plain = recipe.recipe if isinstance(recipe, FittedRecipe) else recipe
    job.log.info(
        "recipe %r (%s%s, %d steps) on %s → dataset %r",
        recipe.name, recipe.version[:12], ", fitted" if plain is not recipe else "",
        len(plain.transforms), source.label, params["output_name"],
    )  # fmt: skip
    # A hidden name in the job folder: removed in every outcome, never seen as a dataset.
    output = job.job_dir / f".output-{uuid.uuid4().hex}.parquet"
    try:
        outcome = execute(
            ws, recipe, source, fit=bool(params.get("fit", True)), work_dir=job.job_dir,
            output=output, memory_limit=params.get("memory_limit"),
            threads=params.get("threads"), log=job.log, stop=job.should_stop,
        )  # fmt: skip
        applied = outcome.applied
        save_recipe(ws, applied)
        version, created = store_parquet_file(
            ws, output, params["output_name"],
            source=f"recipe:{applied.name}@{applied.version[:12]}",
            parent_id=source.version.id if source.version else None,
            tags={"recipe": applied.name, "recipe_version": applied.version},
        )  # fmt: skip
    finally:
        output.unlink(missing_ok=True)
    record_lineage(
        ws, applied=applied, job_id=job.job_id,
        input_id=source.version.id if source.version else None, output_id=version.id,
        joined=outcome.joined,
    )  # fmt: skip
    job.log.info(
        "stored %s: %d rows, %d bytes (%s)", version.ref, version.row_count, version.size_bytes,
        "new version" if created else "identical to an existing version",
    )  # fmt: skip
    return {
        "dataset_version_id": version.id,
        "dataset": version.ref,
        "created": created,
        "rows": version.row_count,
        "size_bytes": version.size_bytes,
        "recipe_version": applied.version,
    }


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: run the recipe and store its output as a dataset version."""
    try:
        return _run(job)
    except RecipeStopped:
        job.log.info("stopped on request; nothing was stored")
        return {"stopped": True}
    except SiklusError as exc:
        # The caller rebuilds this error (same class, step, column, row) from the file.
        (job.job_dir / ERROR_FILE).write_text(json.dumps(error_record(exc)), encoding="utf-8")
        raise


__all__ = ["run"]
