"""Training jobs end to end: a real subprocess fits, stores and links the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

from siklus.data import ingest, read_frame, split_dataset
from siklus.evaluation import parse_criterion
from siklus.exceptions import InvalidParameter, NotFound
from siklus.store import JobStatus
from siklus.training import evaluate_model, load_model, train

LOGREG = "sklearn.linear_model.LogisticRegression"


@pytest.fixture
def parts(ctx, breast_cancer_frame, tmp_path):
    frame = breast_cancer_frame.copy()
    rng = np.random.default_rng(0)
    # A categorical feature and missing cells, to exercise imputation and one-hot encoding.
    frame["clinic"] = rng.choice(["north", "south", "east"], size=len(frame))
    frame.loc[rng.choice(len(frame), 40, replace=False), "mean radius"] = np.nan
    frame.loc[rng.choice(len(frame), 20, replace=False), "clinic"] = None
    path = tmp_path / "bc.csv"
    frame.to_csv(path, index=False)
    ingest(ctx, path, "bc")
    return split_dataset(ctx, "bc", stratify="diagnosis")


def test_training_job_produces_model_with_manifest(ctx, parts):
    job, model = train(
        ctx,
        estimator=LOGREG,
        target="diagnosis",
        train=parts["train"],
        validation=parts["validation"],
        hyperparameters={"max_iter": 2000},
        positive_label="malignant",
    )
    assert job.status == JobStatus.COMPLETED and job.kind == "training"
    assert job.wall_seconds > 0 and job.cpu_seconds > 0 and job.peak_rss_bytes > 10 * 2**20
    manifest = model.manifest
    names = [c["name"] for c in manifest["input_signature"]]
    assert "diagnosis" not in names and "clinic" in names
    assert {c["name"]: c["type"] for c in manifest["input_signature"]}["clinic"] == "string"
    assert manifest["classes"] == ["benign", "malignant"]
    assert len(manifest["input_example"]) == 3
    assert {"scikit-learn", "numpy", "python", "skops"} <= set(manifest["library_versions"])
    assert manifest["metrics"]["validation"]["task"] == "binary"
    # The stored pipeline imputes and encodes by itself: raw rows with gaps predict.
    loaded = load_model(ctx, model)
    _, test = read_frame(ctx, parts["test"])
    rows = test.drop(columns=["diagnosis"])
    out = loaded.predict(rows)
    assert len(out["predictions"]) == len(test)
    upstream = {e.source_id for e in ctx.store.list_lineage(job.id, "upstream")}
    assert upstream == {parts["train"].id, parts["validation"].id}


def test_evaluate_equals_sklearn_and_gives_verdict(ctx, parts):
    _, model = train(
        ctx,
        estimator=LOGREG,
        target="diagnosis",
        train=parts["train"],
        hyperparameters={"max_iter": 2000},
        positive_label="malignant",
    )
    criteria = [parse_criterion("recall >= 0.5 on test"), parse_criterion("accuracy > 1.0")]
    evaluation = evaluate_model(ctx, model.id, parts["test"], criteria=criteria)
    loaded = load_model(ctx, model)
    _, test = read_frame(ctx, parts["test"])
    y = test.pop("diagnosis")
    x = loaded.conform(test)
    predicted = loaded.estimator.predict(x)
    proba = loaded.estimator.predict_proba(x)[:, 1]
    m = evaluation.metrics
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert m["recall"] == pytest.approx(recall_score(y, predicted, pos_label="malignant"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y == "malignant", proba))
    verdict = evaluation.verdict
    assert verdict is not None and verdict["passed"] is False
    assert [c["passed"] for c in verdict["criteria"]] == [True, False]


def test_regression_job(ctx, tmp_path):
    from sklearn.datasets import load_diabetes
    from sklearn.metrics import mean_squared_error, r2_score

    frame = load_diabetes(as_frame=True).frame
    path = tmp_path / "diabetes.parquet"
    frame.to_parquet(path, index=False)
    ingest(ctx, path, "diabetes")
    parts = split_dataset(ctx, "diabetes")
    _, model = train(
        ctx,
        estimator="sklearn.linear_model.Ridge",
        target="target",
        train=parts["train"],
        hyperparameters={"alpha": 0.5},
    )
    evaluation = evaluate_model(ctx, model.id, parts["test"])
    _, test = read_frame(ctx, parts["test"])
    y = test.pop("target")
    predicted = load_model(ctx, model).estimator.predict(test)
    assert evaluation.metrics["task"] == "regression"
    assert evaluation.metrics["r2"] == pytest.approx(r2_score(y, predicted))
    assert evaluation.metrics["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, predicted)))


def test_bad_requests_fail_before_a_job_starts(ctx, parts):
    with pytest.raises(InvalidParameter, match="Target column 'nope'"):
        train(ctx, estimator=LOGREG, target="nope", train=parts["train"])
    with pytest.raises(InvalidParameter, match="Unknown estimator"):
        train(ctx, estimator="sklearn.linear_model.Nope", target="diagnosis", train=parts["train"])
    with pytest.raises(InvalidParameter, match="Unknown hyperparameter"):
        train(
            ctx,
            estimator=LOGREG,
            target="diagnosis",
            train=parts["train"],
            hyperparameters={"CC": 1},
        )
    with pytest.raises(NotFound):
        train(ctx, estimator=LOGREG, target="diagnosis", train="missing.train")
    assert ctx.store.list_jobs() == []


def test_fit_error_inside_job_is_reported(ctx, tmp_path):
    from siklus.exceptions import JobFailed

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "a", "a", "a"]})
    path = tmp_path / "one_class.csv"
    frame.to_csv(path, index=False)
    ingest(ctx, path, "one")
    with pytest.raises(JobFailed, match="Failed") as info:
        train(ctx, estimator=LOGREG, target="y", train="one")
    assert "class" in str(info.value)
    (job,) = ctx.store.list_jobs()
    assert job.status == JobStatus.FAILED and job.failure_reason
