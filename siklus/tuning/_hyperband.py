"""Hyperband's budget ladder: how a trial earns the right to train longer.

Hyperband needs intermediate results to prune on. siklus trains scikit-learn estimators
in one ``fit`` call, so it makes them itself: an estimator with a *budget*
hyperparameter (``n_estimators`` for ensembles, ``max_iter`` for iterative solvers) is
trained at a ladder of increasing budgets, ``max_budget / eta**k`` down to about
``min_budget``, each rung a training job of its own. After each rung the trial reports
the objective at ``step = budget`` to Optuna's ``HyperbandPruner``, which (in the
asynchronous, ASHA style Optuna implements) lets the trial climb only while it is in the
top ``1/eta`` of the trials that reached the same rung in its bracket. A pruned trial
never runs its larger, more expensive rungs; that is where the time is saved.

This is the simplest design that really prunes with one-shot training jobs. Its cost is
that a surviving trial refits from scratch at every rung (about ``eta / (eta - 1)``
times the cost of its final fit); a training job that reports its own per-epoch series
could instead be watched and stopped mid-fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from siklus.exceptions import InvalidParameter

#: Hyperparameters that act as a training budget, in the order they are looked for.
BUDGET_PARAMETERS: tuple[str, ...] = ("n_estimators", "max_iter")
_OPTIONS = ("budget_parameter", "min_budget", "max_budget", "reduction_factor")


@dataclass(frozen=True)
class BudgetLadder:
    """The budgets every hyperband trial climbs, smallest first.

    Attributes:
        parameter: The estimator's budget hyperparameter (``n_estimators``).
        rungs: Increasing budgets; the last is ``max_budget``.
        reduction_factor: ``eta``: each rung is about ``eta`` times the one before, and
            about ``1/eta`` of the trials reaching a rung go on to the next.
    """

    parameter: str
    rungs: tuple[int, ...]
    reduction_factor: int

    @property
    def min_budget(self) -> int:
        return self.rungs[0]

    @property
    def max_budget(self) -> int:
        return self.rungs[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_parameter": self.parameter,
            "rungs": list(self.rungs),
            "reduction_factor": self.reduction_factor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetLadder:
        return cls(data["budget_parameter"], tuple(data["rungs"]), data["reduction_factor"])


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameter(
            f"Hyperband {name} must be a whole number >= {minimum}, got {value!r}."
        )
    return value


def budget_ladder(
    estimator_name: str,
    defaults: Mapping[str, Any],
    fixed: Mapping[str, Any],
    space_names: set[str],
    options: Mapping[str, Any] | None,
) -> BudgetLadder:
    """Work out (and check) the budget ladder of a hyperband tuning job.

    Args:
        estimator_name: For messages.
        defaults: The estimator's ``get_params()``.
        fixed: Hyperparameters every trial gets; a fixed budget is the default maximum.
        space_names: The tuned hyperparameters; the budget must not be one of them.
        options: ``budget_parameter`` (default: the first of :data:`BUDGET_PARAMETERS`
            the estimator has), ``max_budget`` (default: the fixed or default value),
            ``min_budget`` (default: ``max_budget // reduction_factor**2``, three rungs)
            and ``reduction_factor`` (default 3).

    Raises:
        InvalidParameter: No budget hyperparameter, a budget that is tuned too, or
            budgets that leave fewer than two rungs (nothing to prune between).
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InvalidParameter(f"Unknown hyperband option(s) {unknown}; valid: {list(_OPTIONS)}.")
    parameter = options.get("budget_parameter") or next(
        (p for p in BUDGET_PARAMETERS if p in defaults), None
    )
    if parameter is None:
        raise InvalidParameter(
            f"Hyperband trains each trial at growing budgets, but {estimator_name} has none of "
            f"{list(BUDGET_PARAMETERS)}. Name its budget hyperparameter with budget_parameter "
            "(--budget-parameter), or use the bayesian strategy."
        )
    if parameter not in defaults:
        raise InvalidParameter(
            f"Hyperband budget parameter {parameter!r} is not a hyperparameter of "
            f"{estimator_name}; valid names: {sorted(defaults)}."
        )
    if parameter in space_names:
        raise InvalidParameter(
            f"{parameter!r} is both tuned and hyperband's budget; hyperband sets it per rung. "
            "Remove it from the search space (set its maximum with max_budget)."
        )
    eta = _whole("reduction_factor", options.get("reduction_factor", 3), 2)
    max_budget = _whole(
        "max_budget", options.get("max_budget", fixed.get(parameter, defaults[parameter])), 2
    )
    min_budget = _whole("min_budget", options.get("min_budget", max(1, max_budget // eta**2)), 1)
    if min_budget * eta > max_budget:
        raise InvalidParameter(
            f"Hyperband needs at least two rungs, but min_budget {min_budget} x reduction_factor "
            f"{eta} > max_budget {max_budget}; lower min_budget or raise max_budget."
        )
    levels = 0
    while min_budget * eta ** (levels + 1) <= max_budget:
        levels += 1
    # Counted down from the maximum, so the last rung is exactly max_budget and each
    # rung is at least min_budget * eta**k, the step HyperbandPruner checks it at.
    rungs = tuple(max_budget // eta ** (levels - k) for k in range(levels + 1))
    return BudgetLadder(parameter, rungs, eta)


__all__ = ["BUDGET_PARAMETERS", "BudgetLadder", "budget_ladder"]
