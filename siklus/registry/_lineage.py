"""Lineage of a model package: the data, job, evaluations and exports behind a version.

Read from the lineage edges the stages record (dataset → training job → model →
package, model/dataset → evaluation, package → ONNX artifact), so "which data trained
the model behind this version?" has one answer everywhere: ``siklus models describe``,
the model card and the REST API.
"""

from __future__ import annotations

from typing import Any

from siklus.exceptions import NotFound
from siklus.registry._refs import resolve_package
from siklus.store import ModelPackage, WorkspaceContext


def _dataset(ctx: WorkspaceContext, version_id: str) -> dict[str, Any]:
    try:
        version = ctx.store.get_dataset_version_by_id(version_id)
    except NotFound:
        return {"id": version_id, "ref": None, "rows": None}
    return {"id": version.id, "ref": version.ref, "rows": version.row_count}


def package_lineage(ctx: WorkspaceContext, package: ModelPackage | str) -> dict[str, Any]:
    """Links of ``package``: model, training job, its input datasets, evaluations, exports.

    Returns:
        ``{"model": {...}, "training_job": {...} | None, "datasets": [{"channel", "id",
        "ref", "rows"}], "evaluations": [{"id", "split", "dataset", "metrics"}],
        "artifacts": [{"relation", "sha256"}]}``.
    """
    package = resolve_package(ctx, package)
    store = ctx.store
    model = store.get_model(package.model_id)
    links: dict[str, Any] = {
        "model": {"id": model.id, "name": model.name, "sha256": model.sha256},
        "training_job": None,
        "datasets": [],
        "evaluations": [],
        "artifacts": [],
    }
    job_ids = [
        e.source_id for e in store.list_lineage(model.id, "upstream") if e.source_type == "job"
    ]
    if model.training_job_id and model.training_job_id not in job_ids:
        job_ids.insert(0, model.training_job_id)
    for job_id in job_ids[:1]:
        try:
            job = store.get_job(job_id)
            links["training_job"] = {"id": job.id, "name": job.name, "status": job.status.value}
        except NotFound:
            links["training_job"] = {"id": job_id, "name": None, "status": None}
        for edge in store.list_lineage(job_id, "upstream"):
            if edge.source_type == "dataset":
                channel = edge.relation.removeprefix("input:")
                links["datasets"].append({"channel": channel, **_dataset(ctx, edge.source_id)})
    if not links["datasets"] and model.manifest.get("training_dataset"):
        links["datasets"].append(
            {
                "channel": "train",
                "id": None,
                "ref": model.manifest["training_dataset"],
                "rows": None,
            }
        )
    for evaluation in reversed(store.list_evaluations(model.id)):  # oldest first
        links["evaluations"].append(
            {
                "id": evaluation.id,
                "split": evaluation.split,
                "dataset": _dataset(ctx, evaluation.dataset_version_id)["ref"],
                "metrics": evaluation.metrics,
                "passed": (evaluation.verdict or {}).get("passed"),
            }
        )
    for edge in store.list_lineage(package.id, "downstream"):
        if edge.target_type == "artifact":
            links["artifacts"].append({"relation": edge.relation, "sha256": edge.target_id})
    return links
