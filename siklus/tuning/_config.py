"""A tuning request, checked completely before any job starts.

:func:`build_config` turns the keyword arguments of :func:`siklus.tuning.tune` into a
:class:`TuningConfig`: every mistake a user can make (an unknown hyperparameter, a
range scikit-learn refuses, an objective the estimator never produces, a grid that
cannot be enumerated, a warm-start parent of another problem) is an
:class:`~siklus.exceptions.InvalidParameter` here, not a failed trial ten minutes later.
The config is stored in the tuning job's spec as JSON and read back by the job process
with :meth:`TuningConfig.from_job`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sklearn.base import is_classifier, is_regressor

from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, Job, WorkspaceContext
from siklus.training import make_estimator, training_spec
from siklus.tuning._hyperband import BudgetLadder, budget_ladder
from siklus.tuning._objective import Objective
from siklus.tuning._space import SearchSpace, load_search_space
from siklus.tuning._warm_start import check_parents

STRATEGIES: tuple[str, ...] = ("bayesian", "random", "grid", "hyperband")
DEFAULT_MAX_JOBS = 10
MAX_JOBS_LIMIT = 10_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class TuningConfig:
    """Everything a tuning job needs, validated.

    Attributes:
        name: The tuning job's name; also the experiment its trial runs go into.
        estimator: Dotted scikit-learn class (or alias) every trial trains.
        target: Target column.
        train_id: Dataset version id of the training channel.
        validation_id: Dataset version id of the validation channel, if any.
        space: What is tuned.
        objective: What is optimised, and in which direction.
        strategy: ``bayesian``, ``random``, ``grid`` or ``hyperband``.
        max_jobs: At most this many trials (a grid's size by default for ``grid``).
        max_parallel_jobs: Trials running at the same time.
        no_improvement_jobs: Stop after this many finished trials without improving the
            best objective by more than ``min_delta``.
        min_delta: The smallest change that counts as an improvement.
        target_value: Stop once a trial's objective reaches it.
        warm_start: Earlier tuning jobs whose completed trials seed the sampler.
        seed: Seeds the sampler, and each trial's training (``random_state``).
        hyperparameters: Fixed hyperparameters every trial gets.
        positive_label: Binary classification: the class the metrics are about.
        ladder: Hyperband only: the budgets a trial climbs.
        resources: Resources of each trial's training job (default: one CPU).
    """

    name: str
    estimator: str
    target: str
    train_id: str
    validation_id: str | None
    space: SearchSpace
    objective: Objective
    strategy: str
    max_jobs: int
    max_parallel_jobs: int = 1
    no_improvement_jobs: int | None = None
    min_delta: float = 0.0
    target_value: float | None = None
    warm_start: tuple[str, ...] = ()
    seed: int | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    positive_label: Any = None
    ladder: BudgetLadder | None = None
    resources: dict[str, Any] | None = None

    def parameters(self) -> dict[str, Any]:
        """The JSON stored as the tuning job's ``parameters``."""
        return {
            "estimator": self.estimator,
            "target": self.target,
            "space": self.space.to_dict(),
            "objective": self.objective.name,
            "direction": self.objective.direction,
            "strategy": self.strategy,
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "no_improvement_jobs": self.no_improvement_jobs,
            "min_delta": self.min_delta,
            "target_value": self.target_value,
            "warm_start": list(self.warm_start),
            "seed": self.seed,
            "hyperparameters": dict(self.hyperparameters),
            "positive_label": self.positive_label,
            "hyperband": self.ladder.to_dict() if self.ladder else None,
            "trial_resources": self.resources,
        }

    def inputs(self) -> dict[str, Any]:
        """The JSON stored as the tuning job's ``inputs`` (dataset version ids)."""
        inputs = {"train": self.train_id}
        if self.validation_id is not None:
            inputs["validation"] = self.validation_id
        return inputs

    @classmethod
    def from_job(cls, job: Job) -> TuningConfig:
        """Read the config back inside the tuning job's process (already validated)."""
        p = job.parameters
        return cls(
            name=job.name,
            estimator=p["estimator"],
            target=p["target"],
            train_id=job.inputs["train"],
            validation_id=job.inputs.get("validation"),
            space=SearchSpace.parse(p["space"]),
            objective=Objective.parse(p["objective"], p["direction"]),
            strategy=p["strategy"],
            max_jobs=p["max_jobs"],
            max_parallel_jobs=p["max_parallel_jobs"],
            no_improvement_jobs=p.get("no_improvement_jobs"),
            min_delta=p.get("min_delta", 0.0),
            target_value=p.get("target_value"),
            warm_start=tuple(p.get("warm_start") or ()),
            seed=p.get("seed"),
            hyperparameters=dict(p.get("hyperparameters") or {}),
            positive_label=p.get("positive_label"),
            ladder=BudgetLadder.from_dict(p["hyperband"]) if p.get("hyperband") else None,
            resources=p.get("trial_resources"),
        )


def _whole(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameter(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    if maximum is not None and value > maximum:
        raise InvalidParameter(f"{name} must be at most {maximum}, got {value}.")
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def _check_names(
    estimator_name: str, valid: Mapping[str, Any], space: SearchSpace, fixed: Mapping[str, Any]
) -> None:
    unknown = [name for name in space if name not in valid]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(valid), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InvalidParameter(
            f"Search space names unknown hyperparameter(s) {', '.join(hints)} of "
            f"{estimator_name}; valid names: {sorted(valid)}."
        )
    both = sorted(set(space) & set(fixed))
    if both:
        raise InvalidParameter(
            f"Hyperparameter(s) {both} are both tuned and fixed; remove them from the fixed "
            "hyperparameters or from the search space."
        )


def _check_values(estimator: str, space: SearchSpace, fixed: Mapping[str, Any]) -> None:
    """Let scikit-learn judge each bound and choice, so a range it refuses fails now."""
    for name, bounds in space.items():
        for value in bounds.probes():
            try:
                make_estimator(estimator, {**fixed, name: value})
            except InvalidParameter as exc:
                raise InvalidParameter(
                    f"Search space {name!r}: value {value!r} is not accepted. {exc.message} "
                    "Narrow the range or drop the choice."
                ) from None


def _task(estimator_name: str, instance: Any) -> Literal["classification", "regression"]:
    if is_classifier(instance):
        return "classification"
    if is_regressor(instance):
        return "regression"
    raise InvalidParameter(
        f"{estimator_name} is neither a classifier nor a regressor; siklus tunes supervised models."
    )


def default_name(estimator: str) -> str:
    """``tune-<Class>-<UTC time>-<random>``: unique, so each job gets its own experiment."""
    short = estimator.rsplit(".", 1)[-1]
    return f"tune-{short}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def build_config(
    ctx: WorkspaceContext,
    *,
    estimator: str,
    target: str,
    train: str | DatasetVersion,
    space: SearchSpace | Mapping[str, Any] | str | os.PathLike[str],
    objective: str,
    validation: str | DatasetVersion | None = None,
    direction: str | None = None,
    strategy: str = "bayesian",
    max_jobs: int | None = None,
    max_parallel_jobs: int = 1,
    no_improvement_jobs: int | None = None,
    min_delta: float = 0.0,
    target_value: float | None = None,
    warm_start: Sequence[str] = (),
    seed: int | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    positive_label: Any = None,
    hyperband: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> TuningConfig:
    """Validate a tuning request; see :func:`siklus.tuning.tune` for the arguments.

    Raises:
        InvalidParameter: Anything wrong with the request (the message says what and how
            to fix it).
        NotFound: A dataset or warm-start tuning job does not exist.
    """
    if strategy not in STRATEGIES:
        close = difflib.get_close_matches(str(strategy), STRATEGIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidParameter(
            f"Unknown tuning strategy {strategy!r}.{hint} Use one of {', '.join(STRATEGIES)}."
        )
    parsed_space = load_search_space(space) if not isinstance(space, SearchSpace) else space
    parsed_objective = Objective.parse(objective, direction)
    fixed = dict(hyperparameters or {})
    instance = make_estimator(estimator, fixed)  # unknown class or fixed value: refused here
    valid = instance.get_params(deep=False)
    _check_names(estimator, valid, parsed_space, fixed)
    _check_values(estimator, parsed_space, fixed)
    parsed_objective.check_task(_task(estimator, instance), estimator)
    if (
        parsed_objective.metric.startswith("roc_auc")
        and not hasattr(instance, "predict_proba")
        and "probability" not in parsed_space
    ):
        raise InvalidParameter(
            f"Objective {parsed_objective.name} needs class probabilities, but "
            f"{type(instance).__name__} has no predict_proba as configured; fix a "
            "hyperparameter such as probability=True, or optimise accuracy or f1."
        )
    max_parallel_jobs = _whole("max_parallel_jobs", max_parallel_jobs, 1, 100)
    if no_improvement_jobs is not None:
        no_improvement_jobs = _whole("no_improvement_jobs", no_improvement_jobs, 1)
    min_delta = _number("min_delta", min_delta)
    if min_delta < 0:
        raise InvalidParameter(f"min_delta must be >= 0, got {min_delta}.")
    if target_value is not None:
        target_value = _number("target_value", target_value)
    ladder = None
    if strategy == "grid":
        size = parsed_space.grid_size()
        if max_jobs is None:
            max_jobs = size
        elif _whole("max_jobs", max_jobs, 1) < size:
            raise InvalidParameter(
                f"The grid has {size} points but max_jobs is {max_jobs}; grid search covers "
                f"the whole grid, so raise max_jobs to {size} (or leave it out), or use the "
                "random strategy to sample part of it."
            )
        max_jobs = min(max_jobs, size)
        if warm_start:
            raise InvalidParameter(
                "Grid search cannot warm start: it evaluates every point whatever earlier jobs "
                "found. Drop warm_start, or use the bayesian strategy."
            )
    elif strategy == "hyperband":
        ladder = budget_ladder(estimator, valid, fixed, set(parsed_space), hyperband)
        for budget in (ladder.min_budget, ladder.max_budget):
            make_estimator(estimator, {**fixed, ladder.parameter: budget})
    if hyperband and strategy != "hyperband":
        raise InvalidParameter(
            f"Hyperband options were given but the strategy is {strategy!r}; use "
            "strategy='hyperband' or drop them."
        )
    if max_jobs is None:
        max_jobs = DEFAULT_MAX_JOBS
    max_jobs = _whole("max_jobs", max_jobs, 1, MAX_JOBS_LIMIT)
    # The same checks a training job makes (datasets exist, target column present).
    probe = training_spec(
        ctx, estimator=estimator, target=target, train=train, validation=validation,
        hyperparameters=fixed, positive_label=positive_label,
        resources=dict(resources) if resources is not None else None,
    )  # fmt: skip
    if parsed_objective.split == "validation" and "validation" not in probe.inputs:
        raise InvalidParameter(
            f"Objective {parsed_objective.name} reads the validation metrics, but no "
            "validation dataset was given; pass validation= (or --data NAME with a split)."
        )
    if name is not None and not _NAME.match(name):
        raise InvalidParameter(
            f"Tuning job name {name!r} is not valid: use 1-100 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit."
        )
    if seed is not None:
        seed = _whole("seed", seed, 0)
    warm = tuple(dict.fromkeys([warm_start] if isinstance(warm_start, str) else warm_start))
    check_parents(ctx, warm, estimator=estimator, objective=parsed_objective)
    return TuningConfig(
        name=name or default_name(estimator),
        estimator=estimator,
        target=target,
        train_id=probe.inputs["train"],
        validation_id=probe.inputs.get("validation"),
        space=parsed_space,
        objective=parsed_objective,
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        no_improvement_jobs=no_improvement_jobs,
        min_delta=min_delta,
        target_value=target_value,
        warm_start=warm,
        seed=seed,
        hyperparameters=fixed,
        positive_label=positive_label,
        ladder=ladder,
        resources=dict(resources) if resources is not None else None,
    )


__all__ = ["DEFAULT_MAX_JOBS", "STRATEGIES", "TuningConfig", "build_config", "default_name"]
