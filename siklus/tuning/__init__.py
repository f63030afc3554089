"""Automatic model tuning: search hyperparameters with training jobs as trials.

A tuning job (a siklus job of kind ``tuning``) drives an Optuna study over a
:class:`SearchSpace` with one of four strategies (``bayesian`` TPE, ``random``, ``grid``,
``hyperband``), runs every trial as a training job and as a run in the experiment named
after it, stops at ``max_jobs``, when the objective stops improving or reaches a target,
and returns the best trial's model, ready to register.

Example:
    >>> from siklus.tuning import tune
    >>> result = tune(
    ...     ctx, estimator="sklearn.svm.SVC", target="diagnosis",
    ...     train="bc.train", validation="bc.validation",
    ...     space={"C": {"type": "float", "low": 1e-3, "high": 10, "log": True},
    ...            "kernel": {"type": "categorical", "choices": ["linear", "rbf"]}},
    ...     objective="validation:f1", max_jobs=20, max_parallel_jobs=2, seed=0,
    ... )  # doctest: +SKIP
    >>> result.best_value, result.best_params, result.best_model_id  # doctest: +SKIP
"""

from siklus.tuning._api import (
    ENTRYPOINT,
    TuningJob,
    describe_tuning_job,
    list_tuning_jobs,
    raise_for_result,
    start_tuning,
    tune,
    tuning_spec,
)
from siklus.tuning._completion import Completion
from siklus.tuning._config import DEFAULT_MAX_JOBS, STRATEGIES, TuningConfig, build_config
from siklus.tuning._driver import STOP_REASONS
from siklus.tuning._hyperband import BUDGET_PARAMETERS, BudgetLadder
from siklus.tuning._objective import Objective, default_direction, metric_names
from siklus.tuning._space import (
    CategoricalRange,
    FloatRange,
    IntRange,
    SearchSpace,
    load_search_space,
)
from siklus.tuning._trials import TRIAL_STATES, TrialRecord

__all__ = [
    "BUDGET_PARAMETERS",
    "DEFAULT_MAX_JOBS",
    "ENTRYPOINT",
    "STOP_REASONS",
    "STRATEGIES",
    "TRIAL_STATES",
    "BudgetLadder",
    "CategoricalRange",
    "Completion",
    "FloatRange",
    "IntRange",
    "Objective",
    "SearchSpace",
    "TrialRecord",
    "TuningConfig",
    "TuningJob",
    "build_config",
    "default_direction",
    "describe_tuning_job",
    "list_tuning_jobs",
    "load_search_space",
    "metric_names",
    "raise_for_result",
    "start_tuning",
    "tune",
    "tuning_spec",
]
