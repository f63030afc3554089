"""Model evaluation: metrics equal to scikit-learn's, and success-criteria verdicts.

This package is pure computation (numpy and scikit-learn, no store, no jobs), so training,
tuning, monitoring and the CLI can all call it, and its results are plain dicts that
serialise to JSON as they are.

Example:
    >>> from siklus.evaluation import classification_metrics, evaluate_criteria
    >>> metrics = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0])
    >>> evaluate_criteria(["recall >= 0.5 on test"], {"test": metrics}).passed
    True
"""

from siklus.evaluation._criteria import (
    OPS,
    Criterion,
    CriterionResult,
    Verdict,
    as_criterion,
    evaluate_criteria,
    parse_criterion,
)
from siklus.evaluation._metrics import (
    classification_metrics,
    metrics_from_confusion,
    regression_metrics,
)

__all__ = [
    "OPS",
    "Criterion",
    "CriterionResult",
    "Verdict",
    "as_criterion",
    "classification_metrics",
    "evaluate_criteria",
    "metrics_from_confusion",
    "parse_criterion",
    "regression_metrics",
]
