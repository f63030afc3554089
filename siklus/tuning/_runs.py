"""The one place tuning talks to experiment tracking: each trial is a run.

A tuning job named ``N`` records trial ``k`` as run ``trial-k`` of experiment ``N``,
linked to the trial's training job, with the trial's hyperparameters as params, the
objective and every split's metrics as metrics (hyperband's per-rung objective as a
series over the budget), the trial's model, and status Completed (also for a pruned
trial: it ended as designed), Failed, or Killed when it was stopped with the tuning job.

Everything goes through :func:`start_trial_run` and :class:`TrialRun`, so the rest of the
package does not depend on the tracking API's details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from siklus.experiments import start_run
from siklus.store import WorkspaceContext


class TrialRun:
    """A trial's run, or a stand-in that records nothing when tracking is unavailable.

    Each trial thread owns its own ``TrialRun``; it is not shared between threads.
    """

    def __init__(self, active: Any | None) -> None:
        self._active = active

    @property
    def run_id(self) -> str | None:
        return None if self._active is None else str(self._active.run_id)

    def log_step(self, key: str, value: float, step: int) -> None:
        """One point of a metric series (hyperband's objective at a budget)."""
        if self._active is not None:
            self._active.log_metric(key, value, step=step)

    def finish(
        self,
        *,
        status: str,
        metrics: Mapping[str, float] | None = None,
        model_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Log the final metrics, the model and the outcome, and end the run.

        Args:
            status: ``Completed``, ``Failed``, or ``Killed`` (stopped with the tuning job).
        """
        if self._active is None:
            return
        if metrics:
            self._active.log_metrics(dict(metrics))
        if tags:
            self._active.set_tags(dict(tags))
        if model_id is not None:
            self._active.set_model(model_id)
        self._active.end(status=status)


def start_trial_run(
    ctx: WorkspaceContext,
    *,
    experiment: str,
    number: int,
    params: Mapping[str, Any],
    job_id: str,
    inputs: Mapping[str, Any],
    tags: Mapping[str, str],
) -> TrialRun:
    """Start run ``trial-<number>`` in ``experiment`` for the trial's training job."""
    active = start_run(
        experiment,
        name=f"trial-{number}",
        tags=dict(tags),
        params=dict(params),
        job_id=job_id,
        inputs=dict(inputs),
        ctx=ctx,
    )
    return TrialRun(active)


__all__ = ["TrialRun", "start_trial_run"]
