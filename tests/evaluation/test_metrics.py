"""Every metric siklus reports must equal scikit-learn's on the same predictions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from siklus.evaluation import (
    classification_metrics,
    metrics_from_confusion,
    regression_metrics,
)
from siklus.exceptions import InvalidParameter

SEED = 20240601


def _binary_sample(labels: list, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random but correlated truth, predictions and positive-class probabilities."""
    rng = np.random.default_rng(SEED)
    truth_idx = rng.integers(0, 2, size=n)
    proba_pos = np.clip(0.35 * truth_idx + rng.uniform(0.0, 0.65, size=n), 0.0, 1.0)
    pred_idx = (proba_pos >= 0.5).astype(int)
    values = np.array(labels, dtype=object)
    return values[truth_idx], values[pred_idx], proba_pos


def _fpr_tnr(matrix: np.ndarray) -> tuple[float, float]:
    tn, fp, _fn, _tp = matrix.ravel()
    return fp / (fp + tn), tn / (tn + fp)


@pytest.mark.parametrize(
    ("labels", "positive"),
    [
        (["benign", "malignant"], "malignant"),
        ([0, 1], 1),
    ],
)
def test_binary_metrics_equal_sklearn(labels: list, positive: object) -> None:
    truth, pred, proba_pos = _binary_sample(labels)
    if isinstance(positive, int):
        truth, pred = truth.astype(int), pred.astype(int)

    result = classification_metrics(truth, pred, proba_pos)

    assert result["task"] == "binary"
    assert result["labels"] == labels
    assert result["positive_label"] == positive  # the greater label by default
    matrix = skm.confusion_matrix(truth, pred, labels=labels)
    assert result["confusion_matrix"] == matrix.tolist()
    tn, fp, fn, tp = matrix.ravel()
    assert (result["true_negatives"], result["false_positives"]) == (tn, fp)
    assert (result["false_negatives"], result["true_positives"]) == (fn, tp)
    assert result["accuracy"] == skm.accuracy_score(truth, pred)
    assert result["precision"] == skm.precision_score(truth, pred, pos_label=positive)
    assert result["recall"] == skm.recall_score(truth, pred, pos_label=positive)
    assert result["f1"] == skm.f1_score(truth, pred, pos_label=positive)
    fpr, tnr = _fpr_tnr(matrix)
    assert result["false_positive_rate"] == pytest.approx(fpr)
    assert result["true_negative_rate"] == pytest.approx(tnr)
    assert result["roc_auc"] == skm.roc_auc_score(truth == positive, proba_pos)
    assert result["support"] == len(truth)
    assert result["notes"] == []
    json.dumps(result)  # plain Python values only


def test_binary_metrics_accept_two_column_proba_in_labels_order() -> None:
    truth, pred, proba_pos = _binary_sample(["benign", "malignant"])
    proba = np.column_stack([1 - proba_pos, proba_pos])

    from_columns = classification_metrics(truth, pred, proba)

    assert from_columns["roc_auc"] == classification_metrics(truth, pred, proba_pos)["roc_auc"]


def test_binary_positive_label_that_sorts_first() -> None:
    truth, pred, proba_pos = _binary_sample(["benign", "malignant"])
    proba_benign = 1 - proba_pos

    result = classification_metrics(truth, pred, proba_benign, positive_label="benign")

    assert result["positive_label"] == "benign"
    assert result["recall"] == skm.recall_score(truth, pred, pos_label="benign")
    assert result["precision"] == skm.precision_score(truth, pred, pos_label="benign")
    # The confusion matrix keeps labels order; only the counts are read for "benign".
    matrix = skm.confusion_matrix(truth, pred, labels=["benign", "malignant"])
    assert result["confusion_matrix"] == matrix.tolist()
    assert result["true_positives"] == matrix[0, 0]
    assert result["false_positives"] == matrix[1, 0]
    assert result["roc_auc"] == skm.roc_auc_score(truth == "benign", proba_benign)


def test_multiclass_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(SEED)
    labels = ["setosa", "versicolor", "virginica"]
    n = 240
    truth_idx = rng.integers(0, 3, size=n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), truth_idx] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.array(labels)[truth_idx]
    pred = np.array(labels)[proba.argmax(axis=1)]

    result = classification_metrics(truth, pred, proba)

    assert result["task"] == "multiclass"
    assert result["labels"] == labels
    assert result["confusion_matrix"] == skm.confusion_matrix(truth, pred).tolist()
    assert result["accuracy"] == skm.accuracy_score(truth, pred)
    for name, func in [
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ]:
        assert result[f"{name}_macro"] == func(truth, pred, average="macro")
        assert result[f"{name}_weighted"] == func(truth, pred, average="weighted")
        assert result[name] == result[f"{name}_macro"]
        per_class = func(truth, pred, average=None, labels=labels)
        for label, value in zip(labels, per_class, strict=True):
            assert result["per_class"][label][name] == value
    one_vs_rest = skm.multilabel_confusion_matrix(truth, pred, labels=labels)
    rates = [_fpr_tnr(m) for m in one_vs_rest]
    assert result["false_positive_rate"] == pytest.approx(np.mean([r[0] for r in rates]))
    assert result["true_negative_rate"] == pytest.approx(np.mean([r[1] for r in rates]))
    assert result["per_class"]["setosa"]["false_positive_rate"] == pytest.approx(rates[0][0])
    assert result["per_class"]["setosa"]["support"] == int((truth == "setosa").sum())
    macro = skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro")
    weighted = skm.roc_auc_score(truth, proba, multi_class="ovr", average="weighted")
    assert result["roc_auc_macro"] == macro
    assert result["roc_auc_weighted"] == weighted
    assert result["roc_auc"] == macro
    json.dumps(result)


def test_multiclass_int_labels_with_a_class_never_predicted() -> None:
    truth = [0, 1, 2, 2, 1, 0]
    pred = [0, 1, 1, 1, 1, 0]  # class 2 never predicted: precision 0/0 must not warn

    result = classification_metrics(truth, pred)

    assert result["per_class"]["2"]["precision"] == 0.0
    assert result["precision_macro"] == skm.precision_score(
        truth, pred, average="macro", zero_division=0
    )


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(SEED)
    truth = rng.normal(50.0, 10.0, size=200)
    pred = truth + rng.normal(0.0, 3.0, size=200)

    result = regression_metrics(truth, pred)

    assert result["task"] == "regression"
    assert result["support"] == 200
    assert result["mse"] == skm.mean_squared_error(truth, pred)
    assert result["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(truth, pred)))
    assert result["mae"] == skm.mean_absolute_error(truth, pred)
    assert result["r2"] == skm.r2_score(truth, pred)
    json.dumps(result)


def test_regression_single_sample_has_no_r2() -> None:
    result = regression_metrics([3.0], [2.5])

    assert result["r2"] is None
    assert "r2" in result["notes"][0]
    assert result["mae"] == 0.5


def test_seed_worked_example_from_counts() -> None:
    result = metrics_from_confusion(tp=25, tn=40, fp=20, fn=15)

    assert result["accuracy"] == 0.65
    assert result["precision"] == pytest.approx(25 / 45)
    assert round(result["precision"], 4) == 0.5556
    assert result["recall"] == 0.625
    assert result["f1"] == pytest.approx(2 * (25 / 45) * 0.625 / (25 / 45 + 0.625))
    assert result["false_positive_rate"] == pytest.approx(20 / 60)
    assert result["true_negative_rate"] == pytest.approx(40 / 60)
    assert result["support"] == 100


def test_seed_worked_example_from_arrays_matches_counts() -> None:
    # 25 TP, 40 TN, 20 FP, 15 FN with 1 = positive.
    truth = [1] * 25 + [0] * 40 + [0] * 20 + [1] * 15
    pred = [1] * 25 + [0] * 40 + [1] * 20 + [0] * 15

    result = classification_metrics(truth, pred)
    counts = metrics_from_confusion(tp=25, tn=40, fp=20, fn=15)

    assert (result["true_positives"], result["true_negatives"]) == (25, 40)
    assert (result["false_positives"], result["false_negatives"]) == (20, 15)
    assert result["confusion_matrix"] == [[40, 20], [15, 25]]
    assert result["accuracy"] == 0.65
    assert round(result["precision"], 4) == 0.5556
    assert result["recall"] == 0.625
    for name in ["precision", "f1", "false_positive_rate", "true_negative_rate"]:
        assert result[name] == pytest.approx(counts[name])


def test_only_negatives_with_positive_label_known() -> None:
    result = classification_metrics(
        ["benign"] * 4, ["benign", "benign", "malignant", "benign"], [0.1, 0.2, 0.7, 0.3]
    )

    assert result["labels"] == ["benign", "malignant"]
    assert result["recall"] == 0.0  # no positives: 0/0 reported as 0, no warning
    assert result["roc_auc"] is None
    assert "only one class" in result["notes"][0]


def test_only_negatives_with_explicit_positive_label() -> None:
    result = classification_metrics([0, 0, 0], [0, 0, 0], positive_label=1)

    assert result["labels"] == [0, 1]
    assert result["true_negative_rate"] == 1.0
    assert result["false_positive_rate"] == 0.0


def test_multiclass_roc_auc_none_when_a_class_is_absent() -> None:
    proba = np.full((4, 3), 1 / 3)

    result = classification_metrics([0, 1, 0, 1], [0, 1, 2, 1], proba)

    assert result["roc_auc"] is None
    assert result["roc_auc_macro"] is None
    assert "[2]" in result["notes"][0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"y_true": [0, 1, 1], "y_pred": [0, 1]}, "y_true has 3 samples but y_pred has 2"),
        ({"y_true": [], "y_pred": []}, "empty"),
        ({"y_true": [0, 1], "y_pred": [0, 1], "y_score": [0.5]}, "y_score has shape (1,)"),
        (
            {"y_true": [0, 1, 2], "y_pred": [0, 1, 2], "y_score": [0.1, 0.2, 0.3]},
            "(3, 3) probabilities",
        ),
        ({"y_true": [0, 1], "y_pred": [0, 2], "labels": [0, 1]}, "[2], which are not in labels"),
        ({"y_true": [0, 1], "y_pred": [0, 1], "positive_label": 5}, "positive_label=5"),
        ({"y_true": [1, 1], "y_pred": [1, 1]}, "Only one label (1)"),
        ({"y_true": [0.1, 0.7], "y_pred": [0.2, 0.5]}, "regression_metrics"),
        ({"y_true": [0, 1, 2], "y_pred": [0, 1, 2], "positive_label": 1}, "binary tasks"),
        ({"y_true": [[0, 1], [1, 0]], "y_pred": [0, 1]}, "shape (2, 2)"),
    ],
)
def test_bad_classification_input(kwargs: dict, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        classification_metrics(**kwargs)

    assert fragment in str(info.value)


def test_multiclass_proba_not_summing_to_one_is_invalid() -> None:
    with pytest.raises(InvalidParameter, match="predict_proba"):
        classification_metrics([0, 1, 2], [0, 1, 2], np.ones((3, 3)))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "fragment"),
    [
        ([1.0, 2.0], [1.0], "y_true has 2 samples but y_pred has 1"),
        ([], [], "empty"),
        (["a", "b"], [1.0, 2.0], "must hold numbers"),
        ([1.0, float("nan")], [1.0, 2.0], "non-finite value (nan) at position 1"),
    ],
)
def test_bad_regression_input(y_true: list, y_pred: list, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        regression_metrics(y_true, y_pred)

    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("counts", "fragment"),
    [
        ((0, 0, 0, 0), "All four counts are 0"),
        ((-1, 3, 4, 5), "true_positives must be 0 or more"),
        ((1.5, 3, 4, 5), "whole number"),
    ],
)
def test_bad_counts(counts: tuple, fragment: str) -> None:
    with pytest.raises(InvalidParameter, match=fragment):
        metrics_from_confusion(*counts)
