"""``reproduce``: rebuild a registered model from its lineage and compare content hashes.

The model's lineage leads to the training job that made it (for a tuned model: the
winning trial), whose record holds everything that decided the result — the entrypoint,
the dataset versions it read, the hyperparameters and the seed. Every input is checked
against its recorded sha256 first (stored data is immutable, so a mismatch means
corruption), then the same job runs again. Model files are written canonically
(:func:`siklus.training.save_estimator`), so an equal sha256 means the same model.
"""

from __future__ import annotations

import hashlib
from typing import Any

from siklus.exceptions import InvalidState, JobFailed, NotFound
from siklus.jobs import JobSpec, LocalExecutor
from siklus.store import Job, WorkspaceContext


def _verify_inputs(ctx: WorkspaceContext, job: Job) -> list[dict[str, Any]]:
    checked = []
    for channel, version_id in sorted(job.inputs.items()):
        if not isinstance(version_id, str):
            continue
        try:
            version = ctx.store.get_dataset_version_by_id(version_id)
        except NotFound:
            raise InvalidState(
                f"Training job {job.id} read dataset version {version_id} ({channel}), which "
                "no longer exists; the model cannot be reproduced."
            ) from None
        path = ctx.artifacts.local_path(version.sha256, verify=False)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != version.sha256:
            raise InvalidState(
                f"Dataset {version.ref} is corrupt: its file hashes to {digest[:12]}…, not "
                f"the recorded {version.sha256[:12]}…; the model cannot be reproduced."
            )
        checked.append({"channel": channel, "dataset": version.ref, "sha256": version.sha256})
    return checked


def reproduce(ctx: WorkspaceContext, package_ref: str, *, on_poll: Any = None) -> dict[str, Any]:
    """Re-run the training behind model package ``package_ref`` and compare hashes.

    Example:
        >>> result = reproduce(ctx, "breast-cancer:1")  # doctest: +SKIP
        >>> result["identical"], result["original_sha256"]  # doctest: +SKIP

    Returns:
        ``package``, ``model_id``, ``original_sha256``, ``training_job_id``, ``inputs``
        (verified dataset versions), ``job_id`` and ``model_id`` of the rebuild
        (``reproduced_model_id``), ``reproduced_sha256`` and ``identical``.

    Raises:
        NotFound: No such package.
        InvalidState: The model has no training job (it was imported), or an input is
            gone or corrupt.
        JobFailed: The rebuild failed (the message has its log).
    """
    from siklus import registry  # lazy: it loads scikit-learn and skops

    package = registry.get_package(ctx, package_ref)
    model = ctx.store.get_model(package.model_id)
    if not model.training_job_id:
        raise InvalidState(
            f"Model {model.id} of {package.group}:{package.version} has no training job in "
            "its lineage, so there is nothing to re-run."
        )
    original = ctx.store.get_job(model.training_job_id)
    inputs = _verify_inputs(ctx, original)
    parameters = {k: v for k, v in original.parameters.items() if k != "run_id"}
    parameters["model_name"] = f"{model.name}-reproduced"[:200]
    spec = JobSpec(
        kind=original.kind,
        entrypoint=original.entrypoint,
        name=f"reproduce-{package.group}-{package.version}"[:200],
        inputs=dict(original.inputs),
        parameters=parameters,
        resources=dict(original.resources),
        tags={"reproduces": model.id},
    )
    job = LocalExecutor(ctx).run(spec, on_poll=on_poll)
    if job.status.value != "Completed":
        raise JobFailed(
            f"Reproduction job {job.id} ended {job.status.value}: {job.failure_reason}. "
            f"Log: {job.log_path}"
        )
    rebuilt = ctx.store.get_model(job.outputs["model_id"])
    ctx.store.add_lineage(("model", model.id), ("model", rebuilt.id), "reproduced")
    return {
        "package": f"{package.group}:{package.version}",
        "model_id": model.id,
        "original_sha256": model.sha256,
        "training_job_id": original.id,
        "inputs": inputs,
        "job_id": job.id,
        "reproduced_model_id": rebuilt.id,
        "reproduced_sha256": rebuilt.sha256,
        "identical": rebuilt.sha256 == model.sha256,
    }


__all__ = ["reproduce"]
