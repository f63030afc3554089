"""Strategies: which Optuna sampler (and pruner) proposes each trial's hyperparameters.

============  ==========================================  =========================
strategy      sampler                                     pruner
============  ==========================================  =========================
bayesian      TPE (tree-structured Parzen estimator)      none
random        uniform random                              none
grid          every point of the grid, in seeded order    none
hyperband     TPE                                         HyperbandPruner (budgets)
============  ==========================================  =========================

All samplers take the tuning job's seed, so the same seed, space and results give the
same sequence of hyperparameters (with one trial at a time; with several, the order in
which trials finish also feeds the sampler).
"""

from __future__ import annotations

from collections.abc import Sequence

from optuna.pruners import BasePruner, HyperbandPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from siklus.tuning._config import TuningConfig

#: TPE's random start is at most this many trials (Optuna's own default).
MAX_STARTUP_TRIALS = 10


class _GridSampler(GridSampler):
    """Optuna's grid sampler, minus its habit of stopping the study itself.

    ``GridSampler.after_trial`` calls ``study.stop()`` once the grid is used up, which
    raises outside ``Study.optimize``; the tuning driver bounds a grid run by the grid's
    size instead, so that call is left out.
    """

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return None


def startup_trials(max_jobs: int) -> int:
    """How many of TPE's first trials are random: a third of the budget, 1 to 10.

    Optuna's default of 10 would spend a small budget (say 12 trials) almost entirely
    on random search; a third keeps the model-guided part. Warm-start trials count
    towards it, which is how a warm start skips straight to guided search.
    """
    return max(1, min(MAX_STARTUP_TRIALS, max_jobs // 3))


def make_sampler(config: TuningConfig) -> BaseSampler:
    """The sampler of ``config.strategy``, seeded with ``config.seed``."""
    if config.strategy == "random":
        return RandomSampler(seed=config.seed)
    if config.strategy == "grid":
        return _GridSampler(config.space.grid(), seed=config.seed)
    return TPESampler(seed=config.seed, n_startup_trials=startup_trials(config.max_jobs))


def make_pruner(config: TuningConfig) -> BasePruner:
    """Hyperband's pruner over the trial budgets, or no pruning."""
    if config.ladder is None:
        return NopPruner()
    return HyperbandPruner(
        min_resource=config.ladder.min_budget,
        max_resource=config.ladder.max_budget,
        reduction_factor=config.ladder.reduction_factor,
    )


__all__ = ["make_pruner", "make_sampler", "startup_trials"]
