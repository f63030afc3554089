"""Start training jobs: validate everything first, then run the fit in its own process.

Two kinds of algorithm run as the same kind of job (``kind="training"``):

* a **built-in estimator** named by its dotted class (``estimator=...``), fitted by siklus
  inside its preprocessing pipeline, optionally under stopping criteria;
* the user's own **training script** (``script=...``), run in a subprocess under the
  script-mode contract of ``docs/script-mode.md`` (any framework).

Everything that can be checked before the job starts is checked here, so a typo costs a
second, not a place in the queue.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from siklus.data import resolve
from siklus.exceptions import InvalidParameter, JobFailed
from siklus.jobs import JobSpec, LocalExecutor, ResourceRequest
from siklus.store import DatasetVersion, Job, Model, WorkspaceContext
from siklus.training._estimators import make_estimator
from siklus.training._script_spec import (
    SCRIPT_ENTRYPOINT,
    check_channel_name,
    check_hyperparameter_names,
    snapshot_source,
)
from siklus.training._stopping import Stopping, plan_stopping

ENTRYPOINT = "siklus.training._job:run"

DatasetRef = str | DatasetVersion


def _check_target(version: DatasetVersion, target: str) -> None:
    columns = [c["name"] for c in version.schema]
    if target not in columns:
        raise InvalidParameter(
            f"Target column {target!r} is not in dataset {version.ref}; its columns are "
            f"{columns}. Pass the right --target."
        )
    if len(columns) < 2:
        raise InvalidParameter(f"Dataset {version.ref} has no feature columns besides {target!r}.")


def _channels(
    ctx: WorkspaceContext,
    train: DatasetRef,
    validation: DatasetRef | None,
    extra: dict[str, DatasetRef] | None,
) -> dict[str, DatasetVersion]:
    channels = {"train": resolve(ctx, train)}
    if validation is not None:
        channels["validation"] = resolve(ctx, validation)
    for name, ref in (extra or {}).items():
        if name in channels:
            raise InvalidParameter(
                f"Channel {name!r} is given twice; pass train/validation as their own "
                "arguments and only other channels in `channels`."
            )
        channels[check_channel_name(name)] = resolve(ctx, ref)
    return channels


def training_spec(
    ctx: WorkspaceContext,
    *,
    train: DatasetRef,
    estimator: str | None = None,
    script: str | os.PathLike[str] | None = None,
    source_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    validation: DatasetRef | None = None,
    channels: dict[str, DatasetRef] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    stopping: dict[str, Any] | None = None,
    positive_label: Any = None,
    model_name: str | None = None,
    seed: int | None = 42,
    resources: dict[str, Any] | None = None,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> JobSpec:
    """Validate a training request and return the job spec that runs it.

    Example:
        >>> spec = training_spec(ctx, estimator="sklearn.linear_model.SGDClassifier",
        ...     target="diagnosis", train="bc.train", validation="bc.validation",
        ...     hyperparameters={"loss": "log_loss"},
        ...     stopping={"max_iterations": 200, "early_stopping": {"patience": 5}},
        ... )  # doctest: +SKIP
        >>> spec = training_spec(ctx, script="train.py", source_dir="src",
        ...     train="bc.train", hyperparameters={"epochs": 10, "lr": 0.01})  # doctest: +SKIP

    Args:
        ctx: The workspace.
        train: The training channel (a dataset reference or version).
        estimator: Dotted scikit-learn-compatible class (or alias): a built-in algorithm.
        script: The user's training script (script mode); exactly one of ``estimator``
            and ``script``.
        source_dir: Script mode: the folder holding the script and the code it imports;
            ``script`` is then relative to it. Snapshotted when the spec is built.
        target: The target column; required for estimators, passed to scripts as
            ``SIKLUS_TARGET``.
        validation: The validation channel (scores the model; early stopping watches it).
        channels: Script mode: more named channels, e.g. ``{"test": "bc.test"}``.
        hyperparameters: Estimator parameters, or the script's ``--name value`` arguments.
        stopping: Estimators only: ``{"max_iterations": N, "early_stopping": {"patience":
            k, "min_delta": d, "metric": "validation_loss", "restore_best": True}}``.
        positive_label: The positive class for binary metrics.
        model_name: Name of the produced model.
        seed: ``random_state`` of the estimator (``SIKLUS_SEED`` for scripts).
        resources: ``{"cpus": n, "memory_mb": m, "gpus": g}`` (default one CPU).
        run_id: The experiment run to report metrics to (``SIKLUS_RUN_ID``).
        tags: Tags of the job (over the workspace's).

    Raises:
        NotFound: A dataset channel does not exist.
        InvalidParameter: Neither or both of estimator and script; unknown estimator,
            bad hyperparameter, unknown target column, stopping criteria the estimator
            cannot honour; a missing script or source folder; hyperparameter names that
            are not identifiers; bad resources.
    """
    if (estimator is None) == (script is None):
        raise InvalidParameter(
            "Give exactly one algorithm: estimator='package.module.Class' (a built-in "
            "estimator) or script='train.py' (your own training script)."
        )
    ResourceRequest.parse(resources)  # before any work: a typo here is the cheapest to fix
    hyperparameters = dict(hyperparameters or {})
    if channels and script is None:
        raise InvalidParameter(
            "Extra channels are for training scripts; built-in estimators read only the "
            "train and validation channels."
        )
    versions = _channels(ctx, train, validation, channels)
    parameters: dict[str, Any] = {
        "target": target, "hyperparameters": hyperparameters, "positive_label": positive_label,
        "model_name": model_name, "seed": seed,
    }  # fmt: skip
    if run_id is not None:
        parameters["run_id"] = str(run_id)
    if script is not None:
        if stopping:
            raise InvalidParameter(
                "stopping applies to built-in estimators; a training script implements its "
                "own stopping: pass its criteria as hyperparameters (e.g. --hp patience=5)."
            )
        check_hyperparameter_names(hyperparameters)
        source = snapshot_source(ctx, script, source_dir)
        parameters["script"] = source
        entrypoint, label = SCRIPT_ENTRYPOINT, Path(source["entry_point"]).stem
    else:
        assert estimator is not None
        if target is None:
            raise InvalidParameter("A built-in estimator needs target=COLUMN (--target).")
        if source_dir is not None:
            raise InvalidParameter("source_dir belongs to script mode; give script= too.")
        instance = make_estimator(estimator, hyperparameters)  # fail now, not in the job
        for version in versions.values():
            _check_target(version, target)
        has_validation = "validation" in versions
        parsed = Stopping.parse(stopping, has_validation=has_validation)
        if parsed is not None:
            plan_stopping(instance, parsed, hyperparameters, has_validation=has_validation)
            parameters["stopping"] = stopping
        parameters["estimator"] = estimator
        entrypoint, label = ENTRYPOINT, estimator.rsplit(".", 1)[-1]
    return JobSpec(
        kind="training",
        entrypoint=entrypoint,
        name=f"train-{model_name or label}",
        inputs={name: version.id for name, version in versions.items()},
        parameters=parameters,
        resources=dict(resources or {"cpus": 1}),
        tags=dict(tags or {}),
    )


def train(ctx: WorkspaceContext, *, on_poll: Any = None, **request: Any) -> tuple[Job, Model]:
    """Run a training job to completion and return it with the model it produced.

    Takes the keyword arguments of :func:`training_spec`. The job may wait in the local
    executor's queue first (Pending) until its resources are free.

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
