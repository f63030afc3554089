"""Objectives, directions, completion criteria, strategies and the budget ladder (no jobs)."""

from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter
from siklus.tuning import (
    BudgetLadder,
    Completion,
    Objective,
    default_direction,
    metric_names,
)
from siklus.tuning._hyperband import budget_ladder


def test_metric_names_are_what_evaluation_produces():
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= metric_names("classification")
    assert {"f1_macro", "roc_auc_weighted"} <= metric_names("classification")
    assert metric_names("regression") == {"mse", "rmse", "mae", "r2"}


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("roc_auc", "maximize"),
        ("r2", "maximize"),
        ("accuracy", "maximize"),
        ("rmse", "minimize"),
        ("mse", "minimize"),
        ("mae", "minimize"),
        ("log_loss", "minimize"),
        ("hinge_loss", "minimize"),
        ("false_positive_rate", "minimize"),
    ],
)
def test_default_direction(metric, direction):
    assert default_direction(metric) == direction


def test_parse_and_refuse():
    assert Objective.parse("validation:rmse") == Objective("validation", "rmse", "minimize")
    assert Objective.parse("train:rmse", "maximize").direction == "maximize"
    with pytest.raises(InvalidParameter, match="is not SPLIT:METRIC"):
        Objective.parse("roc_auc")
    with pytest.raises(InvalidParameter, match="unknown split 'test'"):
        Objective.parse("test:roc_auc")
    with pytest.raises(InvalidParameter, match="Did you mean roc_auc"):
        Objective.parse("validation:rocauc")
    with pytest.raises(InvalidParameter, match="Direction 'up'"):
        Objective.parse("validation:f1", "up")


def test_value_from_job_metrics():
    objective = Objective.parse("validation:roc_auc")
    assert objective.value_from({"validation": {"roc_auc": 0.9}}) == 0.9
    with pytest.raises(InvalidParameter, match="no validation metrics"):
        objective.value_from({"train": {"roc_auc": 0.9}})
    with pytest.raises(InvalidParameter, match="needs a model with predict_proba"):
        objective.value_from({"validation": {"accuracy": 0.9, "notes": []}})


def test_no_improvement_counts_trials_since_the_last_real_gain():
    completion = Completion(
        Objective.parse("validation:accuracy"), no_improvement_jobs=3, min_delta=0.01
    )
    # 0.805 and 0.81 gain less than min_delta over 0.80; a failed trial (None) counts too.
    assert [completion.observe(v) for v in (0.80, 0.805, 0.81, None)] == [
        None,
        None,
        None,
        "no_improvement",
    ]
    minimizing = Completion(Objective.parse("validation:rmse"), no_improvement_jobs=2)
    assert [minimizing.observe(v) for v in (50.0, 49.0, 49.5, 48.0, 48.0)] == [
        None,
        None,
        None,
        None,
        None,
    ]
    assert minimizing.observe(60.0) == "no_improvement"


def test_target_value_is_met_in_the_objective_direction():
    maximizing = Completion(Objective.parse("validation:f1"), target_value=0.9)
    assert [maximizing.observe(v) for v in (0.5, None, 0.9)] == [None, None, "target_reached"]
    minimizing = Completion(Objective.parse("validation:rmse"), target_value=50.0)
    assert [minimizing.observe(v) for v in (60.0, 50.0)] == [None, "target_reached"]


def test_budget_ladder():
    defaults = {"n_estimators": 100, "learning_rate": 0.1}
    ladder = budget_ladder("GB", defaults, {}, {"learning_rate"}, None)
    assert ladder == BudgetLadder("n_estimators", (11, 33, 100), 3)
    ladder = budget_ladder("GB", defaults, {"n_estimators": 90}, set(), {"min_budget": 10})
    assert ladder.rungs == (10, 30, 90)
    assert budget_ladder("GB", defaults, {}, set(), {"max_budget": 15, "min_budget": 5}).rungs == (
        5,
        15,
    )
    with pytest.raises(InvalidParameter, match="both tuned and hyperband's budget"):
        budget_ladder("GB", defaults, {}, {"n_estimators"}, None)
    with pytest.raises(InvalidParameter, match="has none of"):
        budget_ladder("Tree", {"max_depth": None}, {}, set(), None)
    with pytest.raises(InvalidParameter, match="at least two rungs"):
        budget_ladder("GB", defaults, {}, set(), {"min_budget": 50})
    with pytest.raises(InvalidParameter, match="Unknown hyperband option"):
        budget_ladder("GB", defaults, {}, set(), {"eta": 3})
