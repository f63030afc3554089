"""Success criteria: parsing, and verdicts that fail safe on missing metrics."""

from __future__ import annotations

import json

import pytest

from siklus.evaluation import (
    Criterion,
    as_criterion,
    classification_metrics,
    evaluate_criteria,
    parse_criterion,
)
from siklus.exceptions import InvalidParameter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recall >= 0.90 on test", Criterion("recall", ">=", 0.9, "test")),
        ("rmse < 3.5 on validation", Criterion("rmse", "<", 3.5, "validation")),
        ("f1>=0.8", Criterion("f1", ">=", 0.8)),
        ("  r2 > -0.5  ", Criterion("r2", ">", -0.5)),
        ("accuracy == 1", Criterion("accuracy", "==", 1.0)),
        ("mae <= 1e-3 ON train", Criterion("mae", "<=", 0.001, "train")),
        ("per_class.malignant.recall >= .9", Criterion("per_class.malignant.recall", ">=", 0.9)),
    ],
)
def test_parse_good_criteria(text: str, expected: Criterion) -> None:
    assert parse_criterion(text) == expected


@pytest.mark.parametrize(
    "criterion",
    [Criterion("recall", ">=", 0.9), Criterion("rmse", "<", 1e-7, "validation")],
)
def test_text_form_round_trips(criterion: Criterion) -> None:
    assert parse_criterion(str(criterion)) == criterion


@pytest.mark.parametrize(
    "text",
    [
        "recall",
        "recall >= high",
        ">= 0.9",
        "recall >= 0.9 on",
        "recall >= 0.9 test",
        "recall => 0.9",
        "",
    ],
)
def test_parse_bad_criteria_names_the_text_and_the_form(text: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_criterion(text)

    message = str(info.value)
    assert repr(text) in message
    assert "recall >= 0.90 on test" in message


def test_parse_suggests_operator_spelling() -> None:
    with pytest.raises(InvalidParameter, match="write '>=' or '<='"):
        parse_criterion("recall = 0.9")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"metric": "recall", "op": "=>", "threshold": 0.9}, "op '=>'"),
        ({"metric": "", "op": ">=", "threshold": 0.9}, "metric ''"),
        ({"metric": "recall", "op": ">=", "threshold": "0.9"}, "not a number"),
        ({"metric": "recall", "op": ">=", "threshold": float("nan")}, "not finite"),
        ({"metric": "recall", "op": ">=", "threshold": 0.9, "split": "a b"}, "split 'a b'"),
    ],
)
def test_bad_criterion_fields(kwargs: dict, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        Criterion(**kwargs)

    assert fragment in str(info.value)


def test_as_criterion_accepts_mapping_and_rejects_unknown_keys() -> None:
    assert as_criterion({"metric": "f1", "op": ">", "threshold": 0.7}) == Criterion("f1", ">", 0.7)
    with pytest.raises(InvalidParameter, match=r"unknown keys \['treshold'\]"):
        as_criterion({"metric": "f1", "op": ">", "treshold": 0.7})
    with pytest.raises(InvalidParameter, match="text or a mapping"):
        as_criterion(0.9)  # type: ignore[arg-type]


def test_verdict_passes_when_every_criterion_holds() -> None:
    metrics = classification_metrics([0, 1, 1, 0, 1], [0, 1, 1, 0, 0], [0.1, 0.9, 0.8, 0.2, 0.4])

    verdict = evaluate_criteria(
        ["recall >= 0.6 on test", "precision == 1", "roc_auc > 0.95"], {"test": metrics}
    )

    assert verdict.passed
    assert [r.passed for r in verdict.results] == [True, True, True]
    assert verdict.results[0].actual == pytest.approx(2 / 3)
    assert verdict.failed == ()


def test_verdict_fails_on_threshold_and_reports_actual() -> None:
    verdict = evaluate_criteria(
        [parse_criterion("rmse < 3.5 on validation"), "r2 >= 0.9 on validation"],
        {"validation": {"rmse": 4.2, "r2": 0.95}},
    )

    assert not verdict.passed
    first, second = verdict.results
    assert (first.metric, first.op, first.threshold, first.split) == (
        "rmse",
        "<",
        3.5,
        "validation",
    )
    assert first.actual == 4.2
    assert not first.passed
    assert second.passed
    assert verdict.failed == (first,)
    assert "FAIL rmse < 3.5 on validation (actual 4.2)" in str(verdict)


def test_missing_metric_fails_and_lists_available_names() -> None:
    verdict = evaluate_criteria(["recal >= 0.9"], {"test": {"recall": 0.95, "precision": 0.9}})

    result = verdict.results[0]
    assert not verdict.passed
    assert result.actual is None
    assert "'recal' is missing" in result.reason
    assert "available metrics: precision, recall" in result.reason


def test_missing_split_fails_and_lists_available_splits() -> None:
    verdict = evaluate_criteria(["recall >= 0.9 on holdout"], {"test": {"recall": 1.0}})

    assert not verdict.passed
    assert "available splits: test" in verdict.results[0].reason


def test_undefined_metric_fails_with_the_note() -> None:
    metrics = classification_metrics([0, 0, 0], [0, 1, 0], [0.1, 0.6, 0.2], positive_label=1)

    verdict = evaluate_criteria(["roc_auc >= 0.5"], {"test": metrics})

    assert not verdict.passed
    assert "undefined" in verdict.results[0].reason
    assert "only one class" in verdict.results[0].reason


def test_nested_metric_path() -> None:
    metrics = classification_metrics(["a", "b", "c", "c"], ["a", "b", "c", "a"])

    verdict = evaluate_criteria(["per_class.c.recall >= 0.5"], {"test": metrics})

    assert verdict.passed
    assert verdict.results[0].actual == 0.5


def test_no_criteria_pass_vacuously() -> None:
    assert evaluate_criteria([], {}).passed


def test_verdict_to_dict_is_json() -> None:
    verdict = evaluate_criteria(["recall >= 0.9", "f1 >= 0.5"], {"test": {"recall": 0.8}})

    data = json.loads(json.dumps(verdict.to_dict()))

    assert data["passed"] is False
    assert data["criteria"][0] == {
        "metric": "recall",
        "op": ">=",
        "threshold": 0.9,
        "split": "test",
        "actual": 0.8,
        "passed": False,
        "reason": "",
    }
    assert data["criteria"][1]["actual"] is None
