"""Start, run, describe and list tuning jobs.

A tuning job is a siklus job of kind ``tuning`` whose process drives the study (see
:mod:`siklus.tuning._driver`); every trial is a training job of its own. These functions
are what the workspace, the CLI and the REST API call.
"""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from siklus.exceptions import JobFailed, NotFound
from siklus.jobs import JobSpec, LocalExecutor
from siklus.store import Job, JobStatus, WorkspaceContext
from siklus.tuning._config import build_config
from siklus.tuning._warm_start import TUNING_KIND

ENTRYPOINT = "siklus.tuning._job:run"


@dataclass(frozen=True)
class TuningJob:
    """A tuning job as its readers see it: the job record plus its tuning outputs.

    ``best_model_id`` is the tuning job's product, ready to register
    (``siklus models register <best_model_id> --group ...``). ``trials`` holds one
    :class:`~siklus.tuning._trials.TrialRecord` dict per trial, updated while it runs.
    """

    id: str
    name: str
    status: JobStatus
    estimator: str
    strategy: str
    objective: str
    direction: str
    max_jobs: int
    max_parallel_jobs: int
    best_trial: int | None
    best_params: dict[str, Any] | None
    best_value: float | None
    best_model_id: str | None
    stop_reason: str | None
    counts: dict[str, int]
    trials: list[dict[str, Any]]
    warm_start: dict[str, Any] | None
    failure_reason: str | None
    log_path: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def from_job(cls, job: Job) -> TuningJob:
        p, out = job.parameters, job.outputs
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            estimator=p.get("estimator", ""),
            strategy=p.get("strategy", ""),
            objective=p.get("objective", ""),
            direction=p.get("direction", ""),
            max_jobs=p.get("max_jobs", 0),
            max_parallel_jobs=p.get("max_parallel_jobs", 1),
            best_trial=out.get("best_trial"),
            best_params=out.get("best_params"),
            best_value=out.get("best_value"),
            best_model_id=out.get("best_model_id"),
            stop_reason=out.get("stop_reason"),
            counts=dict(out.get("counts") or {}),
            trials=list(out.get("trials") or []),
            warm_start=out.get("warm_start"),
            failure_reason=job.failure_reason,
            log_path=job.log_path,
            created_at=job.created_at,
            started_at=job.started_at,
            ended_at=job.ended_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: datetimes as ISO 8601, the status as its value."""
        out = dataclasses.asdict(self)
        out["status"] = self.status.value
        for key in ("created_at", "started_at", "ended_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


def tuning_spec(
    ctx: WorkspaceContext, *, tags: dict[str, str] | None = None, **request: Any
) -> JobSpec:
    """Validate a tuning request and return the spec of the tuning job that runs it.

    Takes the keyword arguments of :func:`tune` (except ``on_poll``/``timeout``).

    Raises:
        InvalidParameter: Anything wrong with the request, found before any job starts.
        NotFound: A dataset or warm-start tuning job does not exist.
    """
    config = build_config(ctx, **request)
    return JobSpec(
        kind=TUNING_KIND,
        entrypoint=ENTRYPOINT,
        name=config.name,
        inputs=config.inputs(),
        parameters=config.parameters(),
        resources={"cpus": 0},  # it only waits on its trials, which hold the CPUs
        tags=dict(tags or {}),
    )


def start_tuning(ctx: WorkspaceContext, **request: Any) -> TuningJob:
    """Validate and submit a tuning job; return at once (it runs in its own process)."""
    job = LocalExecutor(ctx).submit(tuning_spec(ctx, **request))
    return TuningJob.from_job(job)


def tune(
    ctx: WorkspaceContext,
    *,
    on_poll: Any = None,
    timeout: float | None = None,
    **request: Any,
) -> TuningJob:
    """Run a tuning job to the end and return it; its best model is the result.

    Example:
        >>> result = tune(
        ...     ctx, estimator="sklearn.tree.DecisionTreeClassifier", target="diagnosis",
        ...     train="bc.train", validation="bc.validation",
        ...     space={"max_depth": {"type": "int", "low": 2, "high": 12}},
        ...     objective="validation:roc_auc", strategy="bayesian", max_jobs=20,
        ...     max_parallel_jobs=2, no_improvement_jobs=5, seed=0,
        ... )  # doctest: +SKIP
        >>> result.best_params, result.best_model_id  # doctest: +SKIP

    Args:
        ctx: The workspace.
        estimator: Dotted scikit-learn class (or alias) every trial trains.
        target: The target column.
        train: Training dataset (``name`` or ``name:version``).
        validation: Validation dataset; needed for a ``validation:`` objective.
        space: Search space: a mapping, a :class:`SearchSpace`, or a YAML/JSON path.
        objective: ``split:metric``, e.g. ``validation:roc_auc``.
        direction: ``maximize`` or ``minimize``; default from the metric (minimize
            errors and losses such as rmse, maximize scores).
        strategy: ``bayesian`` (TPE), ``random``, ``grid`` or ``hyperband``.
        max_jobs: At most this many trials (default 10; a grid's size for ``grid``).
        max_parallel_jobs: Trials running at once (default 1).
        no_improvement_jobs: Stop when the best objective has not improved (by more
            than ``min_delta``) in this many finished trials.
        min_delta: The smallest gain that counts as an improvement (default 0).
        target_value: Stop as soon as a trial reaches this objective value.
        warm_start: Ids of earlier tuning jobs (same estimator and objective) whose
            completed trials seed the sampler.
        seed: Seeds the sampler and every trial's training: with one trial at a time,
            the same seed gives the same sequence of hyperparameters.
        hyperparameters: Fixed hyperparameters every trial gets.
        positive_label: Binary classification: the class the metrics are about.
        hyperband: Hyperband options: ``budget_parameter``, ``min_budget``,
            ``max_budget``, ``reduction_factor`` (see :mod:`siklus.tuning._hyperband`).
        resources: Resources of each trial's training job (default one CPU).
        name: The tuning job's name, also its experiment's (default: generated).
        tags: Tags of the tuning job.
        on_poll: Called with the job record on every poll (progress display).
        timeout: Seconds to wait at most (the job keeps running after a timeout).

    Returns:
        The finished tuning job.

    Raises:
        InvalidParameter: A bad request (before any job starts).
        NotFound: A dataset or warm-start tuning job does not exist.
        JobFailed: The tuning job failed or was stopped, or none of its trials completed
            (the message gives the first trial's failure and log).
        JobTimeout: ``timeout`` passed first.
    """
    spec = tuning_spec(ctx, **request)
    job = LocalExecutor(ctx).run(spec, timeout=timeout, poll_interval=0.2, on_poll=on_poll)
    return raise_for_result(TuningJob.from_job(job))


def raise_for_result(tuning: TuningJob) -> TuningJob:
    """Return ``tuning`` if it completed with a best trial, else raise :class:`JobFailed`."""
    if tuning.status != JobStatus.COMPLETED:
        raise JobFailed(
            f"Tuning job {tuning.id} ended {tuning.status.value}: {tuning.failure_reason}. "
            f"Log: {tuning.log_path}"
        )
    if tuning.best_model_id is None:
        failed = next((t for t in tuning.trials if t.get("failure_reason")), None)
        first = (
            f" Trial {failed['number']}: {failed['failure_reason']} (log: {failed['log_path']})."
            if failed
            else ""
        )
        raise JobFailed(
            f"Tuning job {tuning.id} completed, but none of its {len(tuning.trials)} trial(s) "
            f"produced a model.{first} Fix the cause and tune again."
        )
    return tuning


def describe_tuning_job(ctx: WorkspaceContext, job_id: str) -> TuningJob:
    """The tuning job ``job_id`` with its trials so far.

    Raises:
        NotFound: No tuning job has that id.
    """
    try:
        job = LocalExecutor(ctx).describe(job_id)
    except NotFound:
        job = None
    if job is None or job.kind != TUNING_KIND:
        raise NotFound(f"No tuning job {job_id!r}; list them with `siklus tuning-jobs list`.")
    return TuningJob.from_job(job)


def list_tuning_jobs(
    ctx: WorkspaceContext, *, status: JobStatus | None = None, limit: int = 100
) -> builtins.list[TuningJob]:
    """Tuning jobs, newest first."""
    jobs = LocalExecutor(ctx).list(kind=TUNING_KIND, status=status, limit=limit)
    return [TuningJob.from_job(job) for job in jobs]


__all__ = [
    "ENTRYPOINT",
    "TuningJob",
    "describe_tuning_job",
    "list_tuning_jobs",
    "raise_for_result",
    "start_tuning",
    "tune",
    "tuning_spec",
]
