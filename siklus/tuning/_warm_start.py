"""Warm start: seed a new tuning job's sampler with the finished trials of earlier ones.

The parents' trial records (their ``outputs["trials"]``) are turned back into Optuna
``FrozenTrial`` objects and added to the new study with ``Study.add_trial`` before the
first ask, so a model-based sampler (TPE) starts from what was already learnt instead of
from random exploration. Only completed trials whose parameters still fit the new search
space are used; ranges may be narrowed or widened between the two jobs, and a point
outside the new space would be refused by Optuna.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from optuna.trial import FrozenTrial, create_trial

from siklus.exceptions import InvalidParameter, NotFound
from siklus.jobs import LocalExecutor
from siklus.store import Job, WorkspaceContext
from siklus.tuning._objective import Objective
from siklus.tuning._space import SearchSpace

TUNING_KIND = "tuning"


def check_parents(
    ctx: WorkspaceContext, job_ids: Sequence[str], *, estimator: str, objective: Objective
) -> list[Job]:
    """Check that every warm-start parent is a finished tuning job of the same problem.

    Raises:
        NotFound: A parent does not exist.
        InvalidParameter: A parent is not a tuning job, has not finished, or tuned
            another estimator or objective (its values would mislead the sampler).
    """
    executor = LocalExecutor(ctx)
    parents = []
    for job_id in dict.fromkeys(job_ids):  # de-duplicated, order kept
        try:
            job = executor.describe(job_id)
        except NotFound:
            raise NotFound(
                f"Warm-start tuning job {job_id!r} does not exist; list tuning jobs with "
                "`siklus tuning-jobs list`."
            ) from None
        if job.kind != TUNING_KIND:
            raise InvalidParameter(
                f"Warm start needs tuning jobs, but {job_id} is a {job.kind!r} job."
            )
        if not job.status.is_final:
            raise InvalidParameter(
                f"Tuning job {job_id} is still {job.status.value}; warm start from finished "
                "tuning jobs only (wait for it, or stop it first)."
            )
        theirs = job.parameters
        if theirs.get("estimator") != estimator:
            raise InvalidParameter(
                f"Tuning job {job_id} tuned {theirs.get('estimator')}, not {estimator}; warm "
                "start only from tuning jobs of the same estimator."
            )
        if (theirs.get("objective"), theirs.get("direction")) != (
            objective.name,
            objective.direction,
        ):
            raise InvalidParameter(
                f"Tuning job {job_id} optimised {theirs.get('objective')} "
                f"({theirs.get('direction')}), not {objective.name} ({objective.direction}); "
                "warm start only from tuning jobs with the same objective."
            )
        parents.append(job)
    return parents


def warm_start_trials(
    ctx: WorkspaceContext, job_ids: Sequence[str], space: SearchSpace, log: logging.Logger
) -> tuple[list[FrozenTrial], dict[str, Any]]:
    """The parents' usable trials as Optuna trials, and a summary for the outputs.

    Returns:
        ``(trials, {"tuning_jobs": [...], "trials_added": n, "trials_skipped": m})``.
    """
    distributions = space.distributions()
    trials: list[FrozenTrial] = []
    skipped = 0
    for job_id in job_ids:
        for record in ctx.store.get_job(job_id).outputs.get("trials", []):
            value = record.get("value")
            if record.get("state") != "Completed" or value is None:
                continue
            params = record.get("params") or {}
            if not space.contains(params):
                skipped += 1
                continue
            trials.append(
                create_trial(
                    params=params,
                    distributions=distributions,
                    value=float(value),
                    user_attrs={"warm_start_job": job_id, "warm_start_trial": record["number"]},
                )
            )
    log.info(
        "warm start: %d trial(s) from %s added, %d outside the search space skipped",
        len(trials), list(job_ids), skipped,
    )  # fmt: skip
    summary = {"tuning_jobs": list(job_ids), "trials_added": len(trials), "trials_skipped": skipped}
    return trials, summary


__all__ = ["TUNING_KIND", "check_parents", "warm_start_trials"]
