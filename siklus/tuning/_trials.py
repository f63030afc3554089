"""One trial: train the proposed hyperparameters as a training job and record the result.

A trial is an ordinary training job (``siklus.training.training_spec`` submitted to the
local executor), so it is queued, logged, metered and listed like any other, and it is a
run in the tuning job's experiment. Under hyperband a trial is a short ladder of training
jobs at growing budgets (see :mod:`siklus.tuning._hyperband`).

:class:`TrialRecord` is what the tuning job's outputs keep per trial; a trial never
raises: whatever goes wrong (a refused value, a failed fit, a missing metric) ends up in
its ``state``, ``failure_reason`` and ``log_path``, and the tuning job goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from siklus.exceptions import SiklusError
from siklus.jobs import LocalExecutor
from siklus.store import DatasetVersion, Job, JobStatus, WorkspaceContext
from siklus.training import training_spec
from siklus.tuning._config import TuningConfig
from siklus.tuning._objective import scalar_metrics
from siklus.tuning._runs import TrialRun, start_trial_run

#: Trial states as recorded in the tuning job's outputs.
RUNNING, COMPLETED, FAILED, PRUNED, STOPPED = "Running", "Completed", "Failed", "Pruned", "Stopped"
TRIAL_STATES = (RUNNING, COMPLETED, FAILED, PRUNED, STOPPED)
#: Seed given to trials' training when the tuning job has none (training's own default).
DEFAULT_TRAINING_SEED = 42
_MAX_REASON = 1000

#: ``report(value, step) -> prune?``: hands an intermediate value to the study.
Reporter = Callable[[float, int], bool]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class TrialRecord:
    """What one trial did; ``to_dict()`` is its entry in the tuning job's ``trials``.

    Attributes:
        number: 1, 2, ... in the order trials started (the run is ``trial-<number>``).
        params: The hyperparameters the sampler proposed.
        state: Running, Completed, Failed, Pruned (hyperband) or Stopped.
        value: The objective (for a pruned trial: at its last rung).
        metrics: Scalar metrics per split of the trial's (last) training job.
        intermediate_values: Hyperband: the objective per budget, keyed by budget.
        job_id: The trial's (last) training job; ``job_ids`` lists all of them.
        model_id: The model of that job.
        run_id: The trial's run, when experiment tracking is available.
        log_path: Log of the (last) training job: read it when the trial failed.
        failure_reason: Why the trial failed or was stopped.
        started_at, ended_at: UTC ISO 8601 times the trial started and ended.
    """

    number: int
    params: dict[str, Any]
    state: str = RUNNING
    value: float | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    intermediate_values: dict[str, float] = field(default_factory=dict)
    job_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    model_id: str | None = None
    run_id: str | None = None
    log_path: str | None = None
    failure_reason: str | None = None
    started_at: str = field(default_factory=now_iso)
    ended_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, state: str, reason: str) -> None:
        self.state = state
        self.failure_reason = reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "…"


class TrialRunner:
    """Runs trials of one tuning job; safe to use from several trial threads at once.

    Args:
        ctx: The workspace.
        config: The tuning job's config.
        tuning_job_id: Tags and lineage of every trial job point back to it.
        executor: Submits and waits for the training jobs.
        stopping: Set when the tuning job is stopping: no further rung starts.
        lock: Held while a record changes; whoever reads records (to publish them)
            holds it too, so a reader never sees a record half-updated.
        on_change: Called after a trial's job is known (for the live view).
        poll_interval: Seconds between looks at a running training job.
    """

    def __init__(
        self,
        ctx: WorkspaceContext,
        config: TuningConfig,
        *,
        tuning_job_id: str,
        executor: LocalExecutor,
        stopping: threading.Event,
        lock: threading.RLock,
        on_change: Callable[[], object],
        poll_interval: float = 0.1,
    ) -> None:
        self.lock = lock
        self.ctx = ctx
        self.config = config
        self.tuning_job_id = tuning_job_id
        self.executor = executor
        self.stopping = stopping
        self.on_change = on_change
        self.poll_interval = poll_interval
        store = ctx.store
        self.train: DatasetVersion = store.get_dataset_version_by_id(config.train_id)
        self.validation: DatasetVersion | None = (
            store.get_dataset_version_by_id(config.validation_id) if config.validation_id else None
        )
        tuned_seed = "random_state" in config.space or "random_state" in config.hyperparameters
        # A tuned or fixed random_state must not be overridden by the training seed.
        self.training_seed = (
            None if tuned_seed
            else config.seed if config.seed is not None
            else DEFAULT_TRAINING_SEED
        )  # fmt: skip

    def run(self, record: TrialRecord, report: Reporter) -> None:
        """Train ``record.params`` and fill in ``record``; never raises."""
        run: TrialRun | None = None
        rungs: tuple[int | None, ...] = self.config.ladder.rungs if self.config.ladder else (None,)
        try:
            for index, budget in enumerate(rungs):
                if self.stopping.is_set():
                    with self.lock:
                        record.fail(STOPPED, "the tuning job was stopped before this trial ended")
                    break
                job = self._submit(record, budget)
                if run is None:
                    run = self._start_run(record, job)
                job = self.executor.wait(job.id, poll_interval=self.poll_interval)
                if job.status != JobStatus.COMPLETED:
                    self._job_did_not_complete(record, job)
                    break
                value = self._read_result(record, job)
                if budget is not None:
                    with self.lock:
                        record.intermediate_values[str(budget)] = value
                    run.log_step("objective", value, budget)
                    if index < len(rungs) - 1 and report(value, budget):
                        with self.lock:
                            record.state = PRUNED
                        break
            else:
                with self.lock:
                    record.state = COMPLETED
        except Exception as exc:  # a trial's failure is recorded, never raised
            message = (
                exc.message if isinstance(exc, SiklusError) else f"{type(exc).__name__}: {exc}"
            )
            with self.lock:
                record.fail(FAILED, message)
            self._stop_job(record.job_id)
        finally:
            with self.lock:
                record.ended_at = now_iso()
            if run is not None:
                self._finish_run(run, record)

    def _job_did_not_complete(self, record: TrialRecord, job: Job) -> None:
        state = STOPPED if job.status == JobStatus.STOPPED else FAILED
        reason = job.failure_reason or f"the training job ended {job.status.value}"
        if state == STOPPED and self.stopping.is_set():
            reason = f"stopped with the tuning job ({reason})"
        with self.lock:
            record.fail(state, reason)

    def _submit(self, record: TrialRecord, budget: int | None) -> Job:
        config = self.config
        hyperparameters = {**config.hyperparameters, **record.params}
        if budget is not None and config.ladder is not None:
            hyperparameters[config.ladder.parameter] = budget
        spec = training_spec(
            self.ctx,
            estimator=config.estimator,
            target=config.target,
            train=self.train,
            validation=self.validation,
            hyperparameters=hyperparameters,
            positive_label=config.positive_label,
            model_name=f"{config.name}-trial-{record.number}",
            seed=self.training_seed,
            resources=config.resources,
            tags={"tuning_job_id": self.tuning_job_id, "tuning_trial": str(record.number)},
        )
        job = self.executor.submit(spec)
        self.ctx.store.add_lineage(("job", self.tuning_job_id), ("job", job.id), "trial")
        with self.lock:
            record.job_id = job.id
            record.job_ids.append(job.id)
            record.log_path = job.log_path
        self.on_change()
        return job

    def _stop_job(self, job_id: str | None) -> None:
        """Stop a trial's job that is still running after the trial itself went wrong."""
        if job_id is None:
            return
        try:
            if not self.executor.describe(job_id).status.is_final:
                self.executor.stop(job_id)
        except SiklusError:
            pass  # it ended meanwhile; nothing is left running

    def _start_run(self, record: TrialRecord, job: Job) -> TrialRun:
        run = start_trial_run(
            self.ctx,
            experiment=self.config.name,
            number=record.number,
            params=record.params,
            job_id=job.id,
            inputs=job.inputs,
            tags={"tuning_job_id": self.tuning_job_id, "trial": str(record.number)},
        )
        with self.lock:
            record.run_id = run.run_id
        return run

    def _read_result(self, record: TrialRecord, job: Job) -> float:
        """Take a completed job's model and metrics into the record; return the objective."""
        metrics = job.outputs.get("metrics") or {}
        value = self.config.objective.value_from(metrics)  # raises if it is missing
        with self.lock:
            record.model_id = job.outputs.get("model_id")
            record.metrics = {
                split: scalar_metrics(values)
                for split, values in metrics.items()
                if isinstance(values, dict)
            }
            record.value = value
        return value

    def _finish_run(self, run: TrialRun, record: TrialRecord) -> None:
        with self.lock:  # a consistent copy; the run is written outside the lock
            state, value, model_id = record.state, record.value, record.model_id
            metrics = {
                f"{split}_{name}": number
                for split, values in record.metrics.items()
                for name, number in values.items()
            }
            if value is not None and not record.intermediate_values:
                metrics["objective"] = value  # hyperband logged it as a series already
            tags = {"trial_state": state}
            if record.failure_reason:
                tags["failure_reason"] = record.failure_reason
            if record.log_path:
                tags["log_path"] = record.log_path
        try:
            run.finish(
                status={FAILED: "Failed", STOPPED: "Killed"}.get(state, "Completed"),
                metrics=metrics,
                model_id=model_id if state == COMPLETED else None,
                tags=tags,
            )
        except Exception as exc:  # a trial whose run could not be recorded is not complete
            if state == COMPLETED:
                with self.lock:
                    record.fail(FAILED, f"recording run {record.run_id} failed: {exc}")


__all__ = ["TRIAL_STATES", "TrialRecord", "TrialRunner"]
