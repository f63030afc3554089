"""Stopping criteria: parsing, the per-estimator plan, and fits on real data.

The fits run ``fit_model`` in this process (fast); one test runs a real training job.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from siklus.data import read_frame
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, JobStatus, WorkspaceContext
from siklus.training import Stopping, load_model, loss_of, plan_stopping, train, training_spec
from siklus.training._job import fit_model

LOG = logging.getLogger("test")
SGD = "sklearn.linear_model.SGDClassifier"


def plan(estimator: Any, stopping: dict[str, Any], hps: dict[str, Any] | None = None) -> Any:
    parsed = Stopping.parse(stopping, has_validation=True)
    assert parsed is not None
    return plan_stopping(estimator, parsed, hps or {}, has_validation=True)


@pytest.mark.parametrize(
    ("stopping", "has_validation", "message"),
    [
        ({"max_iter": 5}, True, "unknown key(s) ['max_iter']; use ['max_iterations'"),
        ({"max_iterations": 0}, True, "max_iterations must be an integer >= 1, got 0"),
        ({"early_stopping": {"patience": 0}}, True, "patience must be an integer >= 1"),
        ({"early_stopping": {"min_delta": -1}}, True, "min_delta must be a number >= 0"),
        ({"early_stopping": {"metric": "auc"}}, True, "metric must be one of ['validation_loss'"),
        ({"early_stopping": {"patience": 3}}, False, "needs a validation channel"),
        ([5], True, "stopping must be a dict"),
    ],
)
def test_bad_criteria_are_explained(stopping: Any, has_validation: bool, message: str) -> None:
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        Stopping.parse(stopping, has_validation=has_validation)


def test_estimators_with_partial_fit_get_the_epoch_loop() -> None:
    sgd = plan(SGDClassifier(), {"early_stopping": {"patience": 2}})
    assert (sgd.mode, sgd.max_epochs, sgd.params) == ("epochs", 1000, {})  # SGD's own max_iter
    mlp = plan(MLPClassifier(), {"max_iterations": 30})
    assert (mlp.mode, mlp.max_epochs) == ("epochs", 30)
    with pytest.raises(InvalidParameter, match="not the early_stopping hyperparameter"):
        plan(SGDClassifier(), {"max_iterations": 3}, {"early_stopping": True})


def test_native_iteration_parameters() -> None:
    hgb = plan(
        HistGradientBoostingClassifier(),
        {"max_iterations": 50, "early_stopping": {"patience": 4, "min_delta": 0.01}},
    )
    assert hgb.mode == "native" and hgb.validation_in_fit
    assert hgb.params == {
        "max_iter": 50, "n_iter_no_change": 4, "tol": 0.01, "early_stopping": True,
        "scoring": "loss",
    }  # fmt: skip
    gb = plan(GradientBoostingClassifier(), {"max_iterations": 80, "early_stopping": {}})
    assert gb.params == {"n_estimators": 80, "n_iter_no_change": 5, "tol": 0.0}
    assert plan(RandomForestClassifier(), {"max_iterations": 7}).params == {"n_estimators": 7}
    assert plan(LogisticRegression(), {"max_iterations": 9}).params == {"max_iter": 9}


@pytest.mark.parametrize(
    ("estimator", "stopping", "hps", "message"),
    [
        (KNeighborsClassifier(), {"max_iterations": 5}, {}, "has no iterations to bound"),
        (RandomForestClassifier(), {"early_stopping": {}}, {}, "cannot stop early"),
        (LogisticRegression(), {"early_stopping": {}}, {}, "cannot stop early"),
        (GradientBoostingClassifier(), {"early_stopping": {"metric": "train_loss"}}, {},
         "hold-out of the training rows"),
        (HistGradientBoostingClassifier(), {"max_iterations": 5}, {"max_iter": 9},
         "remove ['max_iter'] from the hyperparameters"),
        (HistGradientBoostingClassifier(), {"early_stopping": {"restore_best": True}}, {},
         "restore_best applies only to estimators with partial_fit"),
    ],
)  # fmt: skip
def test_criteria_an_estimator_cannot_honour_are_refused(
    estimator: Any, stopping: dict[str, Any], hps: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        plan(estimator, stopping, hps)


def fit(
    ctx: WorkspaceContext, parts: dict[str, DatasetVersion], estimator: str, **parameters: Any
) -> dict[str, Any]:
    inputs = {"train": parts["train"].id, "validation": parts["validation"].id}
    parameters = {"estimator": estimator, "target": "diagnosis", "seed": 0, **parameters}
    return fit_model(ctx, parameters, inputs, LOG)


def _stored(ctx: WorkspaceContext, out: dict[str, Any]) -> Any:
    return ctx.store.create_model(
        name="m", sha256=out["sha256"], manifest=out["manifest"], training_job_id=None, tags={}
    )


def test_early_stopping_stops_before_the_budget_and_keeps_the_best_epoch(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion]
) -> None:
    stopping = {"max_iterations": 300, "early_stopping": {"patience": 3, "min_delta": 0.001}}
    out = fit(ctx, bc_parts, SGD, hyperparameters={"loss": "log_loss"}, stopping=stopping)

    history, stopped_at, best = out["history"], out["stopped_at"], out["best_iteration"]
    assert out["reason"] == "early_stopping" and out["stopping_mode"] == "epochs"
    assert 3 < stopped_at < 300
    assert len(history["validation_loss"]) == len(history["train_loss"]) == stopped_at
    watched = history["validation_loss"]
    # The last `patience` epochs did not beat the best by min_delta; the best one did.
    assert best == stopped_at - 3
    assert min(watched[best:]) >= watched[best - 1] - 0.001
    # The stored model is the best epoch's: its validation loss is the recorded one.
    model = load_model(ctx, _stored(ctx, out))
    _, frame = read_frame(ctx, bc_parts["validation"])
    x = model.conform(frame.drop(columns=["diagnosis"]))
    fitted = model.estimator.named_steps["model"]
    xt = model.estimator.named_steps["preprocess"].transform(x)
    assert loss_of(fitted, xt, frame["diagnosis"].to_numpy()) == pytest.approx(watched[best - 1])
    assert out["manifest"]["stopping"]["best_iteration"] == best


def test_without_early_stopping_every_epoch_runs(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion]
) -> None:
    out = fit(ctx, bc_parts, SGD, stopping={"max_iterations": 4})

    assert (out["stopped_at"], out["reason"], out["best_iteration"]) == (4, "max_iterations", None)
    # hinge loss has no predict_proba: the loss is 1 - accuracy, between 0 and 1
    assert all(0.0 <= v <= 1.0 for v in out["history"]["validation_loss"])


def test_native_early_stopping_uses_the_validation_channel(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion]
) -> None:
    stopping = {"max_iterations": 500, "early_stopping": {"patience": 3}}
    out = fit(
        ctx, bc_parts, "sklearn.ensemble.HistGradientBoostingClassifier", stopping=stopping,
        hyperparameters={"learning_rate": 0.3},
    )  # fmt: skip

    assert out["stopping_mode"] == "native" and out["reason"] == "early_stopping"
    assert out["stopped_at"] < 500
    # One score before the first iteration, then one per iteration.
    assert len(out["history"]["validation_loss"]) == out["stopped_at"] + 1
    assert out["metrics"]["validation"]["accuracy"] > 0.85


def test_regressor_epochs_use_mean_squared_error(ctx: WorkspaceContext, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    from siklus.data import ingest, split_dataset

    path = tmp_path / "diabetes.parquet"
    load_diabetes(as_frame=True).frame.to_parquet(path, index=False)
    ingest(ctx, path, "diabetes")
    parts = split_dataset(ctx, "diabetes")
    out = fit_model(
        ctx,
        {"estimator": "sklearn.linear_model.SGDRegressor", "target": "target", "seed": 0,
         "stopping": {"max_iterations": 5}},
        {"train": parts["train"].id, "validation": parts["validation"].id}, LOG,
    )  # fmt: skip

    losses = out["history"]["train_loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert np.isfinite(losses).all()
    assert out["manifest"]["task"] == "regression"


def test_training_job_with_early_stopping(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion]
) -> None:
    job, model = train(
        ctx, estimator="sklearn.neural_network.MLPClassifier", target="diagnosis",
        train=bc_parts["train"], validation=bc_parts["validation"],
        hyperparameters={"hidden_layer_sizes": [16]},
        stopping={"max_iterations": 200, "early_stopping": {"patience": 3, "min_delta": 0.005}},
    )  # fmt: skip

    assert job.status == JobStatus.COMPLETED
    assert job.outputs["reason"] == "early_stopping"
    assert job.outputs["stopped_at"] < 200
    assert len(job.outputs["history"]["validation_loss"]) == job.outputs["stopped_at"]
    assert model.manifest["stopping"]["criteria"]["max_iterations"] == 200
    assert job.log_path is not None
    assert "epoch 1/200: train_loss" in Path(job.log_path).read_text()


def test_bad_stopping_fails_before_a_job(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion]
) -> None:
    with pytest.raises(InvalidParameter, match="has no iterations to bound"):
        training_spec(
            ctx, estimator="sklearn.neighbors.KNeighborsClassifier", target="diagnosis",
            train=bc_parts["train"], stopping={"max_iterations": 3},
        )  # fmt: skip
    assert ctx.store.list_jobs() == []
