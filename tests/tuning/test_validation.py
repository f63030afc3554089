"""Bad tuning requests are refused before any job starts, with a message that says why."""

from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.tuning import build_config, tune

TREE = "sklearn.tree.DecisionTreeClassifier"
DEPTH = {"max_depth": {"type": "int", "low": 2, "high": 6}}


def request(breast_cancer, **changes):
    base = {
        "estimator": TREE,
        "target": "diagnosis",
        "train": breast_cancer["train"],
        "validation": breast_cancer["validation"],
        "space": DEPTH,
        "objective": "validation:roc_auc",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"space": {"max_dept": {"type": "int", "low": 2, "high": 6}}},
            InvalidParameter,
            "unknown hyperparameter(s) 'max_dept' (did you mean 'max_depth'?)",
        ),
        (
            {"space": {"max_depth": {"type": "int", "low": 6, "high": 2}}},
            InvalidParameter,
            "'max_depth': low (6) is greater than high (2); swap them",
        ),
        (
            {"space": {"criterion": {"type": "categorical", "choices": []}}},
            InvalidParameter,
            "'criterion' choices: is empty",
        ),
        (
            {"space": {"criterion": {"type": "categorical", "choices": ["gini", "gyni"]}}},
            InvalidParameter,
            "Search space 'criterion': value 'gyni' is not accepted",
        ),
        (
            {"space": {"max_depth": {"type": "int", "low": -3, "high": 6}}},
            InvalidParameter,
            "Search space 'max_depth': value -3 is not accepted",
        ),
        ({"strategy": "bayes"}, InvalidParameter, "Did you mean 'bayesian'?"),
        ({"objective": "validation:auc"}, InvalidParameter, "unknown metric 'auc'"),
        ({"objective": "validation:rmse"}, InvalidParameter, "is not a classification metric"),
        ({"direction": "upward"}, InvalidParameter, "Direction 'upward'"),
        ({"max_jobs": 0}, InvalidParameter, "max_jobs must be a whole number >= 1"),
        ({"max_parallel_jobs": 0}, InvalidParameter, "max_parallel_jobs must be"),
        ({"no_improvement_jobs": 0}, InvalidParameter, "no_improvement_jobs must be"),
        ({"min_delta": -0.1}, InvalidParameter, "min_delta must be >= 0"),
        ({"validation": None}, InvalidParameter, "no validation dataset was given"),
        ({"target": "label"}, InvalidParameter, "Target column 'label' is not in dataset"),
        ({"train": "nope.train"}, NotFound, "nope.train"),
        ({"hyperparameters": {"max_depth": 3}}, InvalidParameter, "both tuned and fixed"),
        ({"estimator": "sklearn.tree.Nope"}, InvalidParameter, "Unknown estimator"),
        (
            {
                "space": {"C": {"type": "float", "low": 0.1, "high": 10}},
                "strategy": "grid",
                "estimator": "sklearn.svm.SVC",
                "objective": "validation:accuracy",
            },
            InvalidParameter,
            "['C'] is a continuous range without a step",
        ),
        ({"strategy": "grid", "max_jobs": 3}, InvalidParameter, "The grid has 5 points"),
        ({"strategy": "hyperband"}, InvalidParameter, "has none of ['n_estimators', 'max_iter']"),
        ({"hyperband": {"max_budget": 9}}, InvalidParameter, "the strategy is 'bayesian'"),
        ({"warm_start": ["job-missing"]}, NotFound, "Warm-start tuning job 'job-missing'"),
        ({"name": "bad name!"}, InvalidParameter, "Tuning job name 'bad name!' is not valid"),
        (
            {
                "estimator": "sklearn.svm.SVC",
                "space": {"C": {"type": "float", "low": 0.1, "high": 1}},
            },
            InvalidParameter,
            "needs class probabilities",
        ),
    ],
)
def test_bad_requests_start_no_job(ctx, breast_cancer, changes, error, message):
    with pytest.raises(error) as info:
        tune(ctx, **request(breast_cancer, **changes))
    assert message in str(info.value)
    assert ctx.store.list_jobs() == []


def test_warm_start_needs_a_tuning_job(ctx, breast_cancer):
    job = ctx.store.create_job(
        name="train-tree", kind="training", entrypoint="siklus.training._job:run",
        inputs={}, parameters={}, resources={}, tags={},
    )  # fmt: skip
    with pytest.raises(InvalidParameter, match="is a 'training' job"):
        build_config(ctx, **request(breast_cancer, warm_start=[job.id]))


def test_a_good_request_fills_in_defaults(ctx, breast_cancer):
    config = build_config(ctx, **request(breast_cancer, strategy="grid"))
    assert config.max_jobs == 5  # the grid's size
    assert config.objective.direction == "maximize"
    assert config.name.startswith("tune-DecisionTreeClassifier-")
    assert config.inputs() == {
        "train": breast_cancer["train"].id,
        "validation": breast_cancer["validation"].id,
    }
    assert build_config(ctx, **request(breast_cancer)).max_jobs == 10
