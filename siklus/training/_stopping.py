"""Stopping criteria for iterative algorithms: what ``stopping={...}`` means per estimator.

``stopping`` holds ``max_iterations`` (an upper bound on epochs, boosting rounds or
solver iterations) and/or ``early_stopping`` (``patience``, ``min_delta``, ``metric``,
``restore_best``). How it is honoured depends on what the estimator offers:

* **Epochs run by siklus** — estimators with ``partial_fit`` (``SGDClassifier``,
  ``SGDRegressor``, ``MLPClassifier``, ``MLPRegressor``, ``Perceptron``, …). siklus fits
  the preprocessing once, calls ``partial_fit`` once per epoch and measures the loss on
  the training and validation channels after each (see :mod:`siklus.training._epochs`).
  This is the only mode that early-stops on *siklus'* validation channel for any model.
* **Native parameters** — estimators that iterate internally. ``max_iterations`` maps to
  ``max_iter`` (``HistGradientBoosting*``, ``LogisticRegression``, solvers) or to
  ``n_estimators`` (``GradientBoosting*``, forests, LightGBM/XGBoost wrappers).
  Early stopping maps only where the library implements it: ``HistGradientBoosting*``
  (``early_stopping=True``, ``n_iter_no_change=patience``, ``tol=min_delta``, and the
  validation channel passed as ``X_val``/``y_val`` where scikit-learn accepts them, else
  its internal ``validation_fraction`` hold-out) and ``GradientBoosting*``
  (``n_iter_no_change``, ``tol``, always its internal hold-out of the training rows).
  The model is what the library keeps (``restore_best`` is not available there).

Anything else (no ``partial_fit``, no iteration parameter) is refused before the job
starts, as is an ``early_stopping`` the estimator cannot honour.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidParameter

METRICS = ("validation_loss", "train_loss")
_KEYS = ("max_iterations", "early_stopping")
_EARLY_KEYS = ("patience", "min_delta", "metric", "restore_best")
#: Epochs when only early stopping is given and the estimator has no ``max_iter``.
DEFAULT_MAX_EPOCHS = 100
_ITERATIVE_EXAMPLES = (
    "sklearn.linear_model.SGDClassifier, sklearn.neural_network.MLPClassifier or "
    "sklearn.ensemble.HistGradientBoostingClassifier (and their regressor twins)"
)


def _int(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameter(f"stopping: {where} must be an integer >= {minimum}, got {value!r}.")
    return value


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when ``metric`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Attributes:
        patience: Epochs without improvement before stopping.
        min_delta: Smallest decrease of the loss that counts as an improvement.
        metric: ``validation_loss`` (needs a validation channel) or ``train_loss``.
        restore_best: Epoch loop only: keep the model of the best epoch (the last one
            that improved), not the last epoch. None: not given (True in the loop).
    """

    patience: int = 5
    min_delta: float = 0.0
    metric: str = "validation_loss"
    restore_best: bool | None = None


@dataclass(frozen=True)
class Stopping:
    """Parsed ``stopping`` criteria (see the module docstring)."""

    max_iterations: int | None = None
    early_stopping: EarlyStopping | None = None

    @classmethod
    def parse(cls, value: Any, *, has_validation: bool) -> Stopping | None:
        """Validate ``stopping``; None when it is None or empty.

        Raises:
            InvalidParameter: Unknown keys, bad values, or validation-loss early stopping
                without a validation channel.
        """
        if value is None or value == {}:
            return None
        if not isinstance(value, dict):
            raise InvalidParameter(
                f"stopping must be a dict such as {{'max_iterations': 100, 'early_stopping': "
                f"{{'patience': 5}}}}, got {type(value).__name__}."
            )
        unknown = sorted(set(value) - set(_KEYS))
        if unknown:
            raise InvalidParameter(f"stopping has unknown key(s) {unknown}; use {list(_KEYS)}.")
        max_iterations = value.get("max_iterations")
        if max_iterations is not None:
            max_iterations = _int("max_iterations", max_iterations, 1)
        early = value.get("early_stopping")
        if early is not None:
            early = cls._parse_early(early, has_validation)
        if max_iterations is None and early is None:
            return None
        return cls(max_iterations, early)

    @staticmethod
    def _parse_early(early: Any, has_validation: bool) -> EarlyStopping:
        if early is True:
            early = {}
        if not isinstance(early, dict):
            raise InvalidParameter(
                "stopping.early_stopping must be a dict such as {'patience': 5, 'min_delta': "
                f"0.001, 'metric': 'validation_loss'}}, got {early!r}."
            )
        unknown = sorted(set(early) - set(_EARLY_KEYS))
        if unknown:
            raise InvalidParameter(
                f"stopping.early_stopping has unknown key(s) {unknown}; use {list(_EARLY_KEYS)}."
            )
        min_delta = early.get("min_delta", 0.0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or min_delta < 0:
            raise InvalidParameter(
                f"stopping.early_stopping.min_delta must be a number >= 0, got {min_delta!r}."
            )
        metric = early.get("metric", "validation_loss")
        if metric not in METRICS:
            raise InvalidParameter(
                f"stopping.early_stopping.metric must be one of {list(METRICS)}, got {metric!r}."
            )
        if metric == "validation_loss" and not has_validation:
            raise InvalidParameter(
                "Early stopping on validation_loss needs a validation channel: pass "
                "validation=... (--validation, or --data NAME after `siklus data split`), "
                "or set metric='train_loss'."
            )
        restore_best = early.get("restore_best")
        if restore_best is not None and not isinstance(restore_best, bool):
            raise InvalidParameter(
                f"stopping.early_stopping.restore_best must be true or false, got {restore_best!r}."
            )
        return EarlyStopping(
            patience=_int("early_stopping.patience", early.get("patience", 5), 1),
            min_delta=float(min_delta),
            metric=metric,
            restore_best=restore_best,
        )


@dataclass(frozen=True)
class StoppingPlan:
    """How one estimator honours a :class:`Stopping`.

    Attributes:
        mode: ``"epochs"`` (siklus runs ``partial_fit`` per epoch) or ``"native"``.
        stopping: The criteria.
        max_epochs: Epoch budget (epochs mode).
        params: Estimator parameters to set (native mode).
        validation_in_fit: Native mode: pass the validation channel to ``fit`` as
            ``X_val``/``y_val``.
    """

    mode: str
    stopping: Stopping
    max_epochs: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    validation_in_fit: bool = False


def _refuse_early(name: str, why: str) -> InvalidParameter:
    return InvalidParameter(
        f"{name} cannot stop early: {why}. Keep only max_iterations, or use an estimator "
        f"that can, such as {_ITERATIVE_EXAMPLES}."
    )


def _check_free(name: str, hyperparameters: dict[str, Any], params: dict[str, Any]) -> None:
    taken = sorted(set(params) & set(hyperparameters))
    if taken:
        raise InvalidParameter(
            f"stopping sets {name}'s {taken} itself; remove {taken} from the hyperparameters "
            "or drop the matching stopping criterion."
        )


def plan_stopping(
    estimator: Any, stopping: Stopping, hyperparameters: dict[str, Any], *, has_validation: bool
) -> StoppingPlan:
    """Decide how ``estimator`` honours ``stopping`` (see the module docstring).

    Raises:
        InvalidParameter: The estimator has no iterations to bound, cannot stop early,
            or a hyperparameter conflicts with the criteria.
    """
    name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    early = stopping.early_stopping
    if hasattr(estimator, "partial_fit"):
        if hyperparameters.get("early_stopping") is True:
            raise InvalidParameter(
                f"{name}: give early stopping through stopping.early_stopping (siklus runs "
                "the epochs and watches the validation channel), not the early_stopping "
                "hyperparameter."
            )
        budget = stopping.max_iterations
        if budget is None:
            own = params.get("max_iter")
            budget = own if isinstance(own, int) and own > 0 else DEFAULT_MAX_EPOCHS
        return StoppingPlan("epochs", stopping, max_epochs=budget)
    native: dict[str, Any] = {}
    if stopping.max_iterations is not None:
        for key in ("max_iter", "n_estimators"):
            if key in params:
                native[key] = stopping.max_iterations
                break
        else:
            raise InvalidParameter(
                f"{name} has no iterations to bound: it has neither partial_fit nor a "
                f"max_iter / n_estimators parameter. Drop `stopping`, or use {_ITERATIVE_EXAMPLES}."
            )
    validation_in_fit = False
    if early is not None:
        if "n_iter_no_change" not in params:
            raise _refuse_early(name, "it has no partial_fit and no n_iter_no_change parameter")
        if early.restore_best is not None:
            raise InvalidParameter(
                f"{name}: restore_best applies only to estimators with partial_fit, whose "
                f"epochs siklus runs; {name} keeps the model its library keeps. Remove it."
            )
        native.update(n_iter_no_change=early.patience, tol=early.min_delta)
        if "early_stopping" in params:  # HistGradientBoosting*
            native.update(early_stopping=True, scoring="loss")
            if early.metric == "train_loss":
                native["validation_fraction"] = None
            elif has_validation and "X_val" in inspect.signature(estimator.fit).parameters:
                validation_in_fit = True
        elif early.metric == "train_loss":
            raise _refuse_early(
                name, "its early stopping always watches a hold-out of the training rows"
            )
    _check_free(name, hyperparameters, native)
    return StoppingPlan("native", stopping, params=native, validation_in_fit=validation_in_fit)


__all__ = ["METRICS", "EarlyStopping", "Stopping", "StoppingPlan", "plan_stopping"]
