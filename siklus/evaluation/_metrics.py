"""Classification and regression metrics as plain, JSON-serialisable dictionaries.

Every number comes from :mod:`sklearn.metrics`; this module only checks the input, picks
the right averaging, and turns numpy values into Python ones so that the result can be
stored as run metrics, written into a model card or compared with success criteria
without further conversion. The one exception is the false positive rate (and its
complement, the true negative rate or specificity): scikit-learn has no function for it,
so it is read off scikit-learn's own confusion matrix as ``FP / (FP + TN)``.

Ratios whose denominator is zero (precision when nothing was predicted positive, recall
when a class never occurs) are reported as ``0.0``, the same as scikit-learn's
``zero_division=0``. That choice is deliberate: the alternative, ``"warn"``, emits an
``UndefinedMetricWarning`` and returns 0.0 anyway, and a metric that is undefined on a
test set should fail a ``>=`` success criterion rather than pass it silently.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.utils.multiclass import unique_labels

from siklus.exceptions import InvalidParameter

_BINARY = "binary"
_MULTICLASS = "multiclass"


def classification_metrics(
    y_true: Any,
    y_pred: Any,
    y_score: Any = None,
    *,
    labels: Sequence[Any] | None = None,
    positive_label: Any = None,
) -> dict[str, Any]:
    """Compute the standard classification metrics, equal to scikit-learn's.

    The task is ``"binary"`` when there are two labels and ``"multiclass"`` when there are
    more. For a binary task, precision, recall, F1, the false positive rate and the true
    negative rate (specificity) are those of ``positive_label``. When it is not given the
    positive label is the greater of the two labels in sorted order, which is
    scikit-learn's ``pos_label=1`` convention for 0/1 labels and makes ``"malignant"`` the
    positive class of ``["benign", "malignant"]``; pass ``positive_label`` whenever the
    class you care about sorts first.

    For a multiclass task ``precision``, ``recall`` and ``f1`` are the macro averages (every
    class counts the same, so a rare class that is never found drags the score down),
    the weighted averages are reported next to them, and the false positive and true
    negative rates are macro averages over one-vs-rest confusion matrices.

    Args:
        y_true: True labels, one per sample (list, numpy array or pandas Series).
        y_pred: Predicted labels, same length as ``y_true``.
        y_score: Optional scores for ROC AUC. Binary: the probability (or any score that
            grows with it) of ``positive_label``, 1-D, or a 2-D ``predict_proba`` array
            whose columns are in ``labels`` order. Multiclass: a 2-D probability array,
            columns in ``labels`` order, rows summing to 1.
        labels: All class labels, in the order used for the confusion matrix and the
            columns of ``y_score``. Default: the sorted union of ``y_true`` and ``y_pred``.
            Pass it when a class may be missing from a small test set.
        positive_label: Binary tasks only: the class whose detection the metrics measure.

    Returns:
        A dict with ``task``, ``labels`` (plain Python values), ``support`` (number of
        samples), ``confusion_matrix`` (rows: true label, columns: predicted, both in
        ``labels`` order), ``accuracy``, ``precision``, ``recall``, ``f1``,
        ``false_positive_rate``, ``true_negative_rate``, ``notes`` (a list of strings
        explaining any metric that is ``None``) and, when ``y_score`` is given,
        ``roc_auc``. Binary results add ``positive_label``, ``true_positives``,
        ``true_negatives``, ``false_positives`` and ``false_negatives``. Multiclass
        results add ``precision_macro``, ``precision_weighted``, ``recall_macro``,
        ``recall_weighted``, ``f1_macro``, ``f1_weighted``, ``per_class`` (keyed by
        ``str(label)`` because JSON keys are strings) and, with ``y_score``,
        ``roc_auc_macro`` and ``roc_auc_weighted`` (one-vs-rest). ``roc_auc`` is ``None``,
        with a note, when a class is absent from ``y_true``: the curve needs both
        positives and negatives.

    Raises:
        InvalidParameter: The arrays are empty or of different lengths, the labels are
            not discrete or mix types, a value is missing from ``labels``, or ``y_score``
            has the wrong shape.

    Example:
        >>> m = classification_metrics(["benign", "malignant", "malignant"],
        ...                            ["benign", "malignant", "benign"])
        >>> m["positive_label"], m["recall"], m["precision"]
        ('malignant', 0.5, 1.0)
    """
    truth = _as_1d(y_true, "y_true")
    pred = _as_1d(y_pred, "y_pred")
    _check_same_length(truth, pred, "y_pred")
    all_labels = _resolve_labels(truth, pred, labels, positive_label)
    notes: list[str] = []
    if len(all_labels) == 2:
        result = _binary_metrics(truth, pred, all_labels, positive_label, y_score, notes)
    else:
        if positive_label is not None:
            raise InvalidParameter(
                f"positive_label={positive_label!r} applies only to binary tasks, but there "
                f"are {len(all_labels)} labels {all_labels!r}. Drop positive_label for a "
                "multiclass task."
            )
        result = _multiclass_metrics(truth, pred, all_labels, y_score, notes)
    result["notes"] = notes
    return result


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Compute MSE, RMSE, MAE and R², equal to scikit-learn's.

    Args:
        y_true: True values, one number per sample.
        y_pred: Predicted values, same length.

    Returns:
        A dict with ``task`` (``"regression"``), ``support``, ``mse``, ``rmse``, ``mae``,
        ``r2`` and ``notes``. ``r2`` is ``None``, with a note, for a single sample: the
        variance of one value is zero and R² is not defined.

    Raises:
        InvalidParameter: The arrays are empty, of different lengths, not numeric, or hold
            NaN or infinity.

    Example:
        >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])["mae"]
        0.6666666666666666
    """
    truth = _as_numeric_1d(y_true, "y_true")
    pred = _as_numeric_1d(y_pred, "y_pred")
    _check_same_length(truth, pred, "y_pred")
    notes: list[str] = []
    if truth.shape[0] < 2:
        # scikit-learn warns and returns NaN here; NaN is not valid JSON and would make a
        # "r2 >= x" criterion compare against garbage, so report None and say why.
        r2: float | None = None
        notes.append("r2 is undefined for a single sample; evaluate on at least two.")
    else:
        r2 = float(skm.r2_score(truth, pred))
    return {
        "task": "regression",
        "support": int(truth.shape[0]),
        "mse": float(skm.mean_squared_error(truth, pred)),
        "rmse": float(skm.root_mean_squared_error(truth, pred)),
        "mae": float(skm.mean_absolute_error(truth, pred)),
        "r2": r2,
        "notes": notes,
    }


def metrics_from_confusion(tp: int, tn: int, fp: int, fn: int) -> dict[str, Any]:
    """Compute binary metrics from the four confusion-matrix counts.

    Use it when only the counts are known, as in a worked example or a report from
    another system. scikit-learn has no entry point that takes counts, so the
    definitions are applied directly; the tests check that they give the same numbers as
    :func:`classification_metrics` on arrays with those counts. Zero denominators give
    ``0.0``, as with ``zero_division=0``.

    Args:
        tp: True positives: positive samples predicted positive.
        tn: True negatives: negative samples predicted negative.
        fp: False positives: negative samples predicted positive.
        fn: False negatives: positive samples predicted negative.

    Returns:
        A dict with ``support``, the four counts and ``accuracy``, ``precision``,
        ``recall``, ``f1``, ``false_positive_rate`` and ``true_negative_rate``.

    Raises:
        InvalidParameter: A count is not a non-negative integer, or all four are zero.

    Example:
        >>> m = metrics_from_confusion(tp=25, tn=40, fp=20, fn=15)
        >>> m["accuracy"], round(m["precision"], 4), m["recall"]
        (0.65, 0.5556, 0.625)
    """
    counts = {
        "true_positives": tp,
        "true_negatives": tn,
        "false_positives": fp,
        "false_negatives": fn,
    }
    for name, value in counts.items():
        try:
            if isinstance(value, bool):
                raise TypeError
            counts[name] = operator.index(value)
        except TypeError:
            raise InvalidParameter(
                f"{name} must be a whole number of samples, got {value!r}."
            ) from None
        if counts[name] < 0:
            raise InvalidParameter(f"{name} must be 0 or more, got {value!r}.")
    tp, tn, fp, fn = (counts[k] for k in counts)
    total = tp + tn + fp + fn
    if total == 0:
        raise InvalidParameter(
            "All four counts are 0; metrics need at least one sample. Pass the counts of "
            "an evaluated set."
        )
    return {
        "support": total,
        **counts,
        "accuracy": (tp + tn) / total,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        # 2TP / (2TP + FP + FN) is the harmonic mean of precision and recall without the
        # division by zero when both are 0.
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "false_positive_rate": _ratio(fp, fp + tn),
        "true_negative_rate": _ratio(tn, tn + fp),
    }


def _binary_metrics(
    truth: np.ndarray,
    pred: np.ndarray,
    labels: list[Any],
    positive_label: Any,
    y_score: Any,
    notes: list[str],
) -> dict[str, Any]:
    positive = positive_label if positive_label is not None else _greatest(labels)
    pos_index = labels.index(positive)
    neg_index = 1 - pos_index
    matrix = skm.confusion_matrix(truth, pred, labels=labels)
    tp = int(matrix[pos_index, pos_index])
    fn = int(matrix[pos_index, neg_index])
    fp = int(matrix[neg_index, pos_index])
    tn = int(matrix[neg_index, neg_index])
    common = {"pos_label": positive, "average": "binary", "zero_division": 0}
    result: dict[str, Any] = {
        "task": _BINARY,
        "labels": labels,
        "positive_label": positive,
        "support": int(truth.shape[0]),
        "confusion_matrix": matrix.tolist(),
        "true_positives": tp,
        "true_negatives": tn,
        "false_positives": fp,
        "false_negatives": fn,
        "accuracy": float(skm.accuracy_score(truth, pred)),
        "precision": float(skm.precision_score(truth, pred, **common)),
        "recall": float(skm.recall_score(truth, pred, **common)),
        "f1": float(skm.f1_score(truth, pred, **common)),
        "false_positive_rate": _ratio(fp, fp + tn),
        "true_negative_rate": _ratio(tn, tn + fp),
    }
    if y_score is not None:
        scores = _binary_scores(y_score, truth.shape[0], labels, pos_index)
        is_positive = np.array([value == positive for value in truth.tolist()])
        if is_positive.all() or not is_positive.any():
            result["roc_auc"] = None
            notes.append(
                f"roc_auc is undefined: y_true holds only one class ({_plain(truth[0])!r}); "
                "it needs both positive and negative samples."
            )
        else:
            result["roc_auc"] = float(skm.roc_auc_score(is_positive, scores))
    return result


def _multiclass_metrics(
    truth: np.ndarray,
    pred: np.ndarray,
    labels: list[Any],
    y_score: Any,
    notes: list[str],
) -> dict[str, Any]:
    matrix = skm.confusion_matrix(truth, pred, labels=labels)
    # One 2x2 matrix per class, [[tn, fp], [fn, tp]], class against the rest.
    per_label = skm.multilabel_confusion_matrix(truth, pred, labels=labels)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        truth, pred, labels=labels, average=None, zero_division=0
    )
    per_class: dict[str, dict[str, Any]] = {}
    fprs: list[float] = []
    tnrs: list[float] = []
    for i, label in enumerate(labels):
        tn, fp = int(per_label[i, 0, 0]), int(per_label[i, 0, 1])
        fpr, tnr = _ratio(fp, fp + tn), _ratio(tn, tn + fp)
        fprs.append(fpr)
        tnrs.append(tnr)
        per_class[str(label)] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "false_positive_rate": fpr,
            "true_negative_rate": tnr,
            "support": int(support[i]),
        }
    averaged: dict[str, float] = {}
    for name, func in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        for average in ("macro", "weighted"):
            value = func(truth, pred, labels=labels, average=average, zero_division=0)
            averaged[f"{name}_{average}"] = float(value)
    result: dict[str, Any] = {
        "task": _MULTICLASS,
        "labels": labels,
        "support": int(truth.shape[0]),
        "confusion_matrix": matrix.tolist(),
        "accuracy": float(skm.accuracy_score(truth, pred)),
        "precision": averaged["precision_macro"],
        "recall": averaged["recall_macro"],
        "f1": averaged["f1_macro"],
        **averaged,
        "false_positive_rate": float(np.mean(fprs)),
        "true_negative_rate": float(np.mean(tnrs)),
        "per_class": per_class,
    }
    if y_score is not None:
        scores = _multiclass_scores(y_score, truth.shape[0], labels)
        present = set(truth.tolist())
        missing = [label for label in labels if label not in present]
        if missing:
            result.update(roc_auc=None, roc_auc_macro=None, roc_auc_weighted=None)
            notes.append(
                f"roc_auc is undefined: labels {missing!r} do not occur in y_true, and "
                "one-vs-rest AUC needs positives of every class."
            )
        else:
            for average in ("macro", "weighted"):
                try:
                    value = skm.roc_auc_score(
                        truth, scores, multi_class="ovr", average=average, labels=labels
                    )
                except ValueError as exc:
                    raise InvalidParameter(
                        f"y_score cannot be used for multiclass ROC AUC: {exc} Pass "
                        "predict_proba output with columns in labels order."
                    ) from None
                result[f"roc_auc_{average}"] = float(value)
            result["roc_auc"] = result["roc_auc_macro"]
    return result


def _as_1d(values: Any, name: str) -> np.ndarray:
    """Turn list-likes into a 1-D array; a single column ``(n, 1)`` is flattened."""
    if values is None:
        raise InvalidParameter(f"{name} is None; pass one value per sample.")
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidParameter(
            f"{name} must be one value per sample (1-D), got an array of shape "
            f"{array.shape}. Pass a list, a 1-D array or a pandas Series."
        )
    if array.shape[0] == 0:
        raise InvalidParameter(f"{name} is empty; metrics need at least one sample.")
    return array


def _as_numeric_1d(values: Any, name: str) -> np.ndarray:
    array = _as_1d(values, name)
    try:
        numbers = array.astype(float)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"{name} must hold numbers for regression metrics, got values such as "
            f"{array[0].item()!r}. For labels use classification_metrics."
        ) from None
    if not np.isfinite(numbers).all():
        bad = int(np.flatnonzero(~np.isfinite(numbers))[0])
        raise InvalidParameter(
            f"{name} holds a non-finite value ({float(numbers[bad])!r}) at position {bad}; drop or "
            "impute missing values before evaluating."
        )
    return numbers


def _check_same_length(truth: np.ndarray, other: np.ndarray, other_name: str) -> None:
    if truth.shape[0] != other.shape[0]:
        raise InvalidParameter(
            f"y_true has {truth.shape[0]} samples but {other_name} has {other.shape[0]}; "
            "pass one prediction per true value."
        )


def _resolve_labels(
    truth: np.ndarray,
    pred: np.ndarray,
    labels: Sequence[Any] | None,
    positive_label: Any,
) -> list[Any]:
    try:
        observed = [_plain(v) for v in unique_labels(truth, pred)]
    except ValueError as exc:
        raise InvalidParameter(
            f"y_true and y_pred are not usable class labels: {exc}. Classification needs "
            "discrete labels of one type (all strings or all integers); for continuous "
            "targets use regression_metrics."
        ) from None
    if labels is None:
        chosen = observed
        if positive_label is not None and positive_label not in chosen:
            if len(chosen) != 1:
                raise InvalidParameter(
                    f"positive_label={positive_label!r} is not one of the labels "
                    f"{chosen!r} found in y_true and y_pred. Pass one of them."
                )
            # A small set may hold only negatives; the positive class is still known.
            chosen = _sorted_labels([*chosen, positive_label])
    else:
        chosen = [_plain(v) for v in labels]
        if len(set(chosen)) != len(chosen):
            raise InvalidParameter(f"labels must not repeat a value, got {chosen!r}.")
        unknown = [v for v in observed if v not in chosen]
        if unknown:
            raise InvalidParameter(
                f"y_true or y_pred hold {unknown!r}, which are not in labels={chosen!r}. "
                "Add them to labels or leave labels out to use every value seen."
            )
        if positive_label is not None and positive_label not in chosen:
            raise InvalidParameter(
                f"positive_label={positive_label!r} is not in labels={chosen!r}; pass one of them."
            )
    if len(chosen) < 2:
        raise InvalidParameter(
            f"Only one label ({chosen[0]!r}) occurs in y_true and y_pred, so the task is "
            "ambiguous. Pass labels=[...] with every class (or positive_label for a "
            "binary task)."
        )
    return chosen


def _binary_scores(y_score: Any, n: int, labels: list[Any], pos_index: int) -> np.ndarray:
    scores = _as_score_array(y_score)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, pos_index]
    elif scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1 or scores.shape[0] != n:
        raise InvalidParameter(
            f"y_score has shape {scores.shape}; for a binary task pass ({n},) scores of "
            f"the positive label or ({n}, 2) probabilities with columns in labels order "
            f"{labels!r}."
        )
    return scores


def _multiclass_scores(y_score: Any, n: int, labels: list[Any]) -> np.ndarray:
    scores = _as_score_array(y_score)
    if scores.shape != (n, len(labels)):
        raise InvalidParameter(
            f"y_score has shape {scores.shape}; for {len(labels)} classes pass "
            f"({n}, {len(labels)}) probabilities with columns in labels order {labels!r}."
        )
    return scores


def _as_score_array(y_score: Any) -> np.ndarray:
    try:
        scores = np.asarray(y_score, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(
            "y_score must hold numbers (scores or probabilities), got values that are not; "
            "pass predict_proba or decision_function output."
        ) from None
    if not np.isfinite(scores).all():
        raise InvalidParameter("y_score holds NaN or infinity; every sample needs a score.")
    return scores


def _greatest(labels: list[Any]) -> Any:
    return _sorted_labels(labels)[-1]


def _sorted_labels(labels: list[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:
        raise InvalidParameter(
            f"Labels {labels!r} mix types that cannot be ordered; use one type (all "
            "strings or all integers) or pass positive_label."
        ) from None


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars, so results are JSON-serialisable and hashable."""
    return value.item() if isinstance(value, np.generic) else value


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0
