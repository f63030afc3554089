"""The objective: which metric of a trial's training job the tuning job optimises.

Written ``split:metric`` (``validation:roc_auc``, ``train:rmse``): the training job scores
its model on each input channel, and the objective picks one number out of those
metrics. The metric names are exactly the ones :mod:`siklus.evaluation` produces, read
off that package rather than copied here, so a metric added there is tunable at once.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from siklus.evaluation import classification_metrics, regression_metrics
from siklus.exceptions import InvalidParameter

Direction = Literal["maximize", "minimize"]
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
#: Splits a training job scores its model on.
SPLITS: tuple[str, ...] = ("train", "validation")
#: Metrics where lower is better; besides these, any name ending in ``_loss`` or ``_error``.
LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae", "log_loss", "false_positive_rate"})


@functools.cache
def metric_names(task: Literal["classification", "regression"]) -> frozenset[str]:
    """The scalar metrics :mod:`siklus.evaluation` reports for ``task``.

    Found by scoring a tiny binary, multiclass or regression example, so the list can
    never drift from what training jobs actually record.
    """
    if task == "regression":
        examples = [regression_metrics([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.2, 3.9])]
    else:
        proba3 = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7]] * 2
        examples = [
            classification_metrics([0, 1, 0, 1], [0, 1, 1, 1], [0.2, 0.9, 0.6, 0.7]),
            classification_metrics([0, 1, 2] * 2, [0, 1, 2, 0, 2, 2], proba3),
        ]
    return frozenset(
        key for metrics in examples for key, value in metrics.items() if isinstance(value, float)
    )


def default_direction(metric: str) -> Direction:
    """``minimize`` for errors and losses, ``maximize`` for scores."""
    if metric in LOWER_IS_BETTER or metric.endswith(("_loss", "_error")):
        return "minimize"
    return "maximize"


@dataclass(frozen=True)
class Objective:
    """A metric of one split, and whether higher or lower is better.

    Example:
        >>> Objective.parse("validation:rmse")
        Objective(split='validation', metric='rmse', direction='minimize')

    Attributes:
        split: ``train`` or ``validation``.
        metric: A metric name from :func:`metric_names`.
        direction: ``maximize`` or ``minimize``.
    """

    split: str
    metric: str
    direction: Direction

    @classmethod
    def parse(cls, text: str, direction: str | None = None) -> Objective:
        """Read ``split:metric``; ``direction`` defaults from the metric.

        Raises:
            InvalidParameter: Not ``split:metric``, an unknown split or metric, or a
                direction other than maximize/minimize.
        """
        split, sep, metric = (text or "").strip().partition(":")
        if not sep or not split or not metric:
            raise InvalidParameter(
                f"Objective {text!r} is not SPLIT:METRIC; write e.g. 'validation:roc_auc' "
                "or 'validation:rmse'."
            )
        if split not in SPLITS:
            raise InvalidParameter(
                f"Objective {text!r}: unknown split {split!r}; training jobs score "
                f"{' and '.join(SPLITS)} (e.g. 'validation:{metric}')."
            )
        known = metric_names("classification") | metric_names("regression")
        if metric not in known:
            close = difflib.get_close_matches(metric, known, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise InvalidParameter(
                f"Objective {text!r}: unknown metric {metric!r}.{hint} Metrics: "
                f"{', '.join(sorted(known))}."
            )
        if direction is None:
            return cls(split, metric, default_direction(metric))
        if direction == "maximize":
            return cls(split, metric, "maximize")
        if direction == "minimize":
            return cls(split, metric, "minimize")
        raise InvalidParameter(
            f"Direction {direction!r} is not valid; use 'maximize' or 'minimize'."
        )

    @property
    def name(self) -> str:
        """``split:metric``, as written."""
        return f"{self.split}:{self.metric}"

    def check_task(self, task: Literal["classification", "regression"], estimator: str) -> None:
        """Refuse a metric the estimator's kind of task never produces.

        Raises:
            InvalidParameter: e.g. ``rmse`` for a classifier.
        """
        if self.metric not in metric_names(task):
            examples = sorted(metric_names(task))
            raise InvalidParameter(
                f"Objective {self.name!r} is not a {task} metric, but {estimator} is a "
                f"{'classifier' if task == 'classification' else 'regressor'}; use one of "
                f"{', '.join(examples)}."
            )

    def value_from(self, metrics: Mapping[str, Any]) -> float:
        """Read the objective out of a training job's ``metrics`` output.

        Raises:
            InvalidParameter: The split or metric is missing or not a finite number
                (for example ``roc_auc`` of a model without ``predict_proba``).
        """
        split_metrics = metrics.get(self.split)
        if not isinstance(split_metrics, Mapping):
            raise InvalidParameter(
                f"The training job recorded no {self.split} metrics (it has "
                f"{sorted(metrics)}); give a {self.split} dataset."
            )
        value = split_metrics.get(self.metric)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            notes = split_metrics.get("notes") or []
            why = f" Notes: {' '.join(notes)}" if notes else ""
            message = f"The training job recorded no usable {self.name} (got {value!r}).{why}"
            if self.metric.startswith("roc_auc"):
                message += " roc_auc needs a model with predict_proba (e.g. SVC(probability=True))."
            raise InvalidParameter(message)
        return float(value)

    def better(self, value: float, than: float | None, min_delta: float = 0.0) -> bool:
        """Whether ``value`` improves on ``than`` by more than ``min_delta``."""
        if than is None:
            return True
        if self.direction == "maximize":
            return value > than + min_delta
        return value < than - min_delta

    def reached(self, value: float, target: float) -> bool:
        """Whether ``value`` meets ``target`` (>= when maximising, <= when minimising)."""
        return value >= target if self.direction == "maximize" else value <= target


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers among one split's metrics (what runs and trial records keep)."""
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


__all__ = ["DIRECTIONS", "Objective", "default_direction", "metric_names", "scalar_metrics"]
