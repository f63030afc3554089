"""The study loop a tuning job's process runs: ask, train, tell, until a criterion is met.

One in-memory Optuna study per tuning job, driven with ask-and-tell from the job's main
thread; each running trial is a worker thread that submits its training job(s) and
waits. Optuna is only touched under one lock (asks and tells from the main thread,
hyperband's intermediate reports from trial threads), so with ``max_parallel_jobs=1``
the sequence of proposals depends only on the seed and the results.

The trial records are the durable state: after every change they are written to the
tuning job's ``outputs`` (``store.update_job``), so ``siklus tuning-jobs describe`` and the
CLI's live view show trials as they start and end, and a stopped tuning job keeps them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

import optuna
from optuna.trial import Trial, TrialState

from siklus.exceptions import SiklusError
from siklus.jobs import LocalExecutor
from siklus.store import WorkspaceContext
from siklus.tuning._completion import Completion
from siklus.tuning._config import TuningConfig
from siklus.tuning._strategies import make_pruner, make_sampler
from siklus.tuning._trials import (
    COMPLETED,
    PRUNED,
    TRIAL_STATES,
    TrialRecord,
    TrialRunner,
)
from siklus.tuning._warm_start import warm_start_trials

#: Why a tuning job stopped starting trials.
STOP_REASONS = ("max_jobs", "grid_exhausted", "no_improvement", "target_reached", "stopped")
#: A fixed study name: Hyperband assigns trials to brackets by hashing it with the trial
#: number, so a fixed name keeps pruning reproducible.
STUDY_NAME = "siklus-tuning"

Publish = Callable[[dict[str, Any]], object]


class TuningDriver:
    """Runs one tuning job's study to the end.

    Args:
        ctx: The workspace.
        config: What to tune.
        tuning_job_id: The tuning job (trial jobs are tagged and linked with it).
        publish: Writes the current outputs where readers see them.
        should_stop: Polled between events; True stops the tuning job.
        log: The tuning job's log.
        poll_interval: Seconds between looks for a stop request.
    """

    def __init__(
        self,
        ctx: WorkspaceContext,
        config: TuningConfig,
        *,
        tuning_job_id: str,
        publish: Publish,
        should_stop: Callable[[], bool],
        log: logging.Logger,
        poll_interval: float = 0.2,
    ) -> None:
        self.config = config
        self.publish_to = publish
        self.should_stop = should_stop
        self.log = log
        self.poll_interval = poll_interval
        self.executor = LocalExecutor(ctx)
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.records: list[TrialRecord] = []
        self.stop_reason: str | None = None
        self.warm_start: dict[str, Any] | None = None
        self.completion = Completion(
            config.objective, config.no_improvement_jobs, config.min_delta, config.target_value
        )
        self.study = optuna.create_study(
            study_name=STUDY_NAME,
            direction=config.objective.direction,
            sampler=make_sampler(config),
            pruner=make_pruner(config),
        )
        self.runner = TrialRunner(
            ctx, config, tuning_job_id=tuning_job_id, executor=self.executor,
            stopping=self.stopping, lock=self.lock, on_change=self.publish,
        )  # fmt: skip
        self.ctx = ctx

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run trials until a criterion is met or the job is stopped; return the outputs."""
        if self.config.warm_start:
            trials, self.warm_start = warm_start_trials(
                self.ctx, self.config.warm_start, self.config.space, self.log
            )
            self.study.add_trials(trials)
        self.publish()
        running: dict[Future[None], tuple[TrialRecord, Trial]] = {}
        pool = ThreadPoolExecutor(self.config.max_parallel_jobs, thread_name_prefix="siklus-trial")
        try:
            while True:
                if not self.stopping.is_set() and self.should_stop():
                    self.log.info("stop requested: stopping %d running trial(s)", len(running))
                    self.stop_reason = "stopped"
                    self.stopping.set()
                if self.stopping.is_set():
                    self._stop_trial_jobs(record for record, _ in running.values())
                while self._may_start() and len(running) < self.config.max_parallel_jobs:
                    record, trial = self._ask()
                    future = pool.submit(self.runner.run, record, partial(self._report, trial))
                    running[future] = (record, trial)
                if not running:
                    break
                done, _ = wait(running, timeout=self.poll_interval, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0].number):
                    record, trial = running.pop(future)
                    future.result()
                    self._finish(record, trial)
        except BaseException:
            # Never leave trial jobs running behind a tuning job that failed.
            self.stopping.set()
            self._stop_trial_jobs(record for record, _ in running.values())
            raise
        finally:
            pool.shutdown(wait=True)
        if self.stop_reason is None:
            self.stop_reason = "grid_exhausted" if self.config.strategy == "grid" else "max_jobs"
        self.log.info("tuning ended (%s) after %d trial(s)", self.stop_reason, len(self.records))
        return self.publish()

    def _may_start(self) -> bool:
        return (
            self.stop_reason is None
            and not self.stopping.is_set()
            and len(self.records) < self.config.max_jobs
        )

    def _ask(self) -> tuple[TrialRecord, Trial]:
        with self.lock:
            trial = self.study.ask(fixed_distributions=self.config.space.distributions())
            record = TrialRecord(number=len(self.records) + 1, params=dict(trial.params))
            self.records.append(record)
        self.log.info("trial %d started: %s", record.number, record.params)
        self.publish()
        return record, trial

    def _report(self, trial: Trial, value: float, step: int) -> bool:
        """Hyperband: record an intermediate value; return whether to prune the trial."""
        with self.lock:
            trial.report(value, step)
            return bool(trial.should_prune())

    def _finish(self, record: TrialRecord, trial: Trial) -> None:
        with self.lock:
            if record.state == COMPLETED and record.value is not None:
                self.study.tell(trial, record.value)
            elif record.state == PRUNED:
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                self.study.tell(trial, state=TrialState.FAIL)
            met = self.completion.observe(record.value if record.state == COMPLETED else None)
            if met is not None and self.stop_reason is None:
                self.stop_reason = met
                self.log.info("completion criterion met after trial %d: %s", record.number, met)
        self.log.info(
            "trial %d %s: %s = %s (job %s)%s", record.number, record.state,
            self.config.objective.name, record.value, record.job_id,
            f": {record.failure_reason} (log {record.log_path})" if record.failure_reason else "",
        )  # fmt: skip
        self.publish()

    def _stop_trial_jobs(self, records: Any) -> None:
        for record in list(records):
            if record.job_id is None:
                continue
            try:
                if not self.executor.describe(record.job_id).status.is_final:
                    self.executor.stop(record.job_id)
            except SiklusError:
                continue  # it ended on its own meanwhile

    # -- outputs ---------------------------------------------------------------------
    def outputs(self) -> dict[str, Any]:
        """The tuning job's outputs as they stand now."""
        with self.lock:
            trials = [record.to_dict() for record in self.records]
            best: TrialRecord | None = None
            best_value: float | None = None
            for record in self.records:  # the earliest of equal values wins
                if record.state != COMPLETED or record.value is None:
                    continue
                if self.config.objective.better(record.value, best_value):
                    best, best_value = record, record.value
            return {
                "strategy": self.config.strategy,
                "objective": self.config.objective.name,
                "direction": self.config.objective.direction,
                "experiment": self.config.name,
                "best_trial": best.number if best else None,
                "best_params": dict(best.params) if best else None,
                "best_value": best.value if best else None,
                "best_model_id": best.model_id if best else None,
                "best_job_id": best.job_id if best else None,
                "counts": {
                    state: sum(r.state == state for r in self.records) for state in TRIAL_STATES
                },
                "stop_reason": self.stop_reason,
                "warm_start": self.warm_start,
                "runs_recorded": True,
                "trials": trials,
            }

    def publish(self) -> dict[str, Any]:
        """Write the outputs for readers (serialised, so a newer write is never overtaken)."""
        with self.lock:
            outputs = self.outputs()
            self.publish_to(outputs)
            return outputs


__all__ = ["STOP_REASONS", "STUDY_NAME", "TuningDriver"]
