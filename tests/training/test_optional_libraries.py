"""LightGBM / XGBoost through dotted names (the optional extras), when installed."""

from __future__ import annotations

import pytest

from siklus.data import ingest, split_dataset
from siklus.training import evaluate_model, make_estimator, train


@pytest.mark.parametrize(
    ("module", "estimator"),
    [("lightgbm", "lightgbm.LGBMClassifier"), ("xgboost", "xgboost.XGBClassifier")],
)
def test_optional_library_trains_evaluates_and_reloads(
    ctx, breast_cancer_frame, tmp_path, module, estimator
):
    pytest.importorskip(module, reason=f"{module} is an optional extra: siklus[{module}]")
    frame = breast_cancer_frame.assign(diagnosis=breast_cancer_frame["diagnosis"].eq("malignant"))
    path = tmp_path / "bc.parquet"
    frame.astype({"diagnosis": int}).to_parquet(path, index=False)
    ingest(ctx, path, "bc")
    parts = split_dataset(ctx, "bc", stratify="diagnosis")
    assert make_estimator(estimator, {"n_estimators": 30}).get_params()["n_estimators"] == 30
    _, model = train(
        ctx,
        estimator=estimator,
        target="diagnosis",
        train=parts["train"],
        hyperparameters={"n_estimators": 30},
    )
    evaluation = evaluate_model(ctx, model.id, parts["test"])
    assert evaluation.metrics["roc_auc"] > 0.9
