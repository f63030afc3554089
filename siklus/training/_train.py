"""Start training jobs: validate everything first, then run the fit in its own process."""

from __future__ import annotations

from typing import Any

from siklus.data import resolve
from siklus.exceptions import InvalidParameter, JobFailed
from siklus.jobs import JobSpec, LocalExecutor
from siklus.store import DatasetVersion, Job, Model, WorkspaceContext
from siklus.training._estimators import make_estimator

ENTRYPOINT = "siklus.training._job:run"


def _check_target(version: DatasetVersion, target: str) -> None:
    columns = [c["name"] for c in version.schema]
    if target not in columns:
        raise InvalidParameter(
            f"Target column {target!r} is not in dataset {version.ref}; its columns are "
            f"{columns}. Pass the right --target."
        )
    if len(columns) < 2:
        raise InvalidParameter(f"Dataset {version.ref} has no feature columns besides {target!r}.")


def training_spec(
    ctx: WorkspaceContext,
    *,
    estimator: str,
    target: str,
    train: str | DatasetVersion,
    validation: str | DatasetVersion | None = None,
    hyperparameters: dict[str, Any] | None = None,
    positive_label: Any = None,
    model_name: str | None = None,
    seed: int | None = 42,
    resources: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> JobSpec:
    """Validate a training request and return the job spec that runs it.

    Raises:
        NotFound: A dataset channel does not exist.
        InvalidParameter: Unknown estimator, bad hyperparameter, unknown target column.
    """
    make_estimator(estimator, hyperparameters)  # fail now, not inside the job
    train_version = resolve(ctx, train)
    _check_target(train_version, target)
    inputs = {"train": train_version.id}
    if validation is not None:
        validation_version = resolve(ctx, validation)
        _check_target(validation_version, target)
        inputs["validation"] = validation_version.id
    return JobSpec(
        kind="training",
        entrypoint=ENTRYPOINT,
        name=f"train-{model_name or estimator.rsplit('.', 1)[-1]}",
        inputs=inputs,
        parameters={
            "estimator": estimator,
            "target": target,
            "hyperparameters": dict(hyperparameters or {}),
            "positive_label": positive_label,
            "model_name": model_name,
            "seed": seed,
        },
        resources=dict(resources or {"cpus": 1}),
        tags=dict(tags or {}),
    )


def train(ctx: WorkspaceContext, *, on_poll: Any = None, **request: Any) -> tuple[Job, Model]:
    """Run a training job to completion and return it with the model it produced.

    Takes the keyword arguments of :func:`training_spec`.

    Example:
        >>> job, model = train(ctx, estimator="sklearn.linear_model.LogisticRegression",
        ...                    target="diagnosis", train="bc.train")  # doctest: +SKIP

    Raises:
        JobFailed: The job ended Failed or Stopped (the reason and log path are in the
            message).
    """
    spec = training_spec(ctx, **request)
    executor = LocalExecutor(ctx)
    job = executor.run(spec, on_poll=on_poll)
    if job.status.value != "Completed":
        raise JobFailed(
            f"Training job {job.id} ended {job.status.value}: {job.failure_reason}. "
            f"Log: {job.log_path}"
        )
    return job, ctx.store.get_model(job.outputs["model_id"])
