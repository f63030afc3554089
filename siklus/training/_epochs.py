"""Fitting under stopping criteria: siklus' own epoch loop, or the library's iterations.

The epoch loop is for estimators with ``partial_fit``. The preprocessing is fitted once
on the training channel; each epoch is one ``partial_fit`` pass, after which the loss is
measured on the training and validation channels:

* classifiers with ``predict_proba``: log loss;
* other classifiers (e.g. ``SGDClassifier(loss="hinge")``): 1 - accuracy;
* regressors: mean squared error.

With early stopping the loop ends once the watched loss has not decreased by more than
``min_delta`` for ``patience`` epochs. The saved model is then, by default, the one of the
**best epoch** (the last epoch that counted as an improvement, as Keras'
``restore_best_weights`` does): the epochs after it only confirmed that training stopped
helping. ``restore_best=False`` keeps the last epoch instead. Without early stopping the
model is the one after the last epoch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error

from siklus.training._stopping import StoppingPlan

#: Called after each epoch with its number (1-based) and its losses.
OnEpoch = Callable[[int, dict[str, float | None]], None]


@dataclass
class IterationReport:
    """What stopping did, for the job outputs and the model manifest.

    Attributes:
        mode: ``"epochs"`` or ``"native"``.
        history: Loss per epoch/iteration (``train_loss``, ``validation_loss``); None
            where the value was not finite.
        stopped_at: Epochs or iterations actually run.
        reason: ``early_stopping``, ``max_iterations``, ``converged`` (the solver met its
            tolerance), ``diverged`` (a non-finite loss) or ``stopped`` (a stop request).
        best_iteration: The epoch whose model was kept (epoch loop with early stopping).
    """

    mode: str
    history: dict[str, list[float | None]] = field(default_factory=dict)
    stopped_at: int = 0
    reason: str = "max_iterations"
    best_iteration: int | None = None

    def outputs(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "stopped_at": self.stopped_at,
            "reason": self.reason,
            "best_iteration": self.best_iteration,
            "stopping_mode": self.mode,
        }


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def loss_of(model: Any, x: Any, y: np.ndarray) -> float:
    """The epoch loss of a fitted ``model`` on ``(x, y)`` (see the module docstring)."""
    if is_classifier(model):
        if hasattr(model, "predict_proba"):
            return float(log_loss(y, model.predict_proba(x), labels=model.classes_))
        return 1.0 - float(accuracy_score(y, model.predict(x)))
    return float(mean_squared_error(y, model.predict(x)))


def fit_epochs(
    pipeline: Any,
    plan: StoppingPlan,
    x: Any,
    y: Any,
    x_val: Any | None,
    y_val: Any | None,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_epoch: OnEpoch = lambda _epoch, _losses: None,
) -> IterationReport:
    """Fit ``pipeline`` (``preprocess`` + ``model``) epoch by epoch with ``partial_fit``.

    Args:
        pipeline: An unfitted preprocessing + estimator pipeline; fitted in place.
        plan: An ``epochs`` plan from :func:`~siklus.training._stopping.plan_stopping`.
        x, y: The training channel.
        x_val, y_val: The validation channel, or None.
        should_stop: Polled before each epoch; True ends the loop (reason ``stopped``).
        on_epoch: Progress callback (job log, experiment tracking).
    """
    preprocess, model = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
    y = np.asarray(y)
    xt = preprocess.fit_transform(x, y)
    has_val = x_val is not None and y_val is not None
    xv, yv = (preprocess.transform(x_val), np.asarray(y_val)) if has_val else (None, None)
    kwargs: dict[str, Any] = {}
    if is_classifier(model):
        # Every label either channel holds, so a class seen only in validation still scores.
        labels = np.concatenate([y, yv]) if yv is not None else y
        kwargs["classes"] = np.unique(labels)
    early = plan.stopping.early_stopping
    restore = early is not None and early.restore_best is not False
    report = IterationReport("epochs", {"train_loss": []})
    if has_val:
        report.history["validation_loss"] = []
    best, best_model, since_best = math.inf, None, 0
    for epoch in range(1, plan.max_epochs + 1):
        if should_stop():
            report.reason = "stopped"
            break
        model.partial_fit(xt, y, **kwargs)
        losses = {"train_loss": _finite(loss_of(model, xt, y))}
        if has_val:
            losses["validation_loss"] = _finite(loss_of(model, xv, yv))
        for key, value in losses.items():
            report.history[key].append(value)
        report.stopped_at = epoch
        on_epoch(epoch, losses)
        if any(value is None for value in losses.values()):
            report.reason = "diverged"
            break
        if early is None:
            continue
        watched = losses[early.metric]
        assert watched is not None
        if watched < best - early.min_delta:
            best, since_best, report.best_iteration = watched, 0, epoch
            if restore:
                best_model = copy.deepcopy(model)
        else:
            since_best += 1
            if since_best >= early.patience:
                report.reason = "early_stopping"
                break
    if restore and best_model is not None and report.best_iteration != report.stopped_at:
        pipeline.set_params(model=best_model)
    if not restore:
        report.best_iteration = None
    return report


def _native_history(model: Any) -> dict[str, list[float | None]]:
    history: dict[str, list[float | None]] = {}
    if "scoring" in model.get_params():  # HistGradientBoosting*: scores are negative losses
        for key, attr in (("train_loss", "train_score_"), ("validation_loss", "validation_score_")):
            scores = getattr(model, attr, None)
            if scores is not None and len(scores):
                history[key] = [_finite(-s) for s in scores]
    elif getattr(model, "train_score_", None) is not None:  # GradientBoosting*: losses
        history["train_loss"] = [_finite(s) for s in model.train_score_]
    return history


def fit_native(
    pipeline: Any, plan: StoppingPlan, x: Any, y: Any, x_val: Any | None, y_val: Any | None
) -> IterationReport:
    """Fit with the library's own iteration parameters already set; report what it did."""
    model = pipeline.named_steps["model"]
    if plan.validation_in_fit and x_val is not None:
        preprocess = pipeline.named_steps["preprocess"]
        xt = preprocess.fit_transform(x, y)
        model.fit(xt, y, X_val=preprocess.transform(x_val), y_val=np.asarray(y_val))
    else:
        pipeline.fit(x, y)
    params = model.get_params()
    key = "max_iter" if "max_iter" in params else "n_estimators"
    budget = params.get(key)
    done = None
    for attr in ("n_iter_", "n_estimators_"):
        if getattr(model, attr, None) is not None:
            done = int(np.max(getattr(model, attr)))
            break
    if done is None:
        done = len(getattr(model, "estimators_", [])) or int(budget or 0)
    report = IterationReport("native", _native_history(model), stopped_at=done)
    if isinstance(budget, int) and done < budget:
        report.reason = "early_stopping" if plan.stopping.early_stopping else "converged"
    return report


__all__ = ["IterationReport", "OnEpoch", "fit_epochs", "fit_native", "loss_of"]
