"""log_model: a model fitted outside siklus, stored like one siklus trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.data import store_table
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound, UntrustedModel
from siklus.registry import approve, register_model
from siklus.store import WorkspaceContext
from siklus.training import conform, evaluate_model, infer_signature, load_model, log_model


@pytest.fixture(scope="module")
def bc() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    return frame


class _Doubler(BaseEstimator, TransformerMixin):  # a custom class: not loadable back
    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return np.asarray(x) * 2


def test_a_logged_classifier_loads_registers_and_predicts_the_same(
    ctx: WorkspaceContext, bc: pd.DataFrame
) -> None:
    x, y = bc.drop(columns="target"), bc["target"]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    import pyarrow as pa

    data, _ = store_table(ctx, pa.Table.from_pandas(bc, preserve_index=False), "bc", source="t")
    model = log_model(
        ctx, pipeline, bc, name="bc-notebook", target="target", positive_label=1,
        training_dataset="bc",
    )  # fmt: skip
    manifest = model.manifest
    assert model.training_job_id is None and model.name == "bc-notebook"
    assert manifest["task"] == "binary_classification" and manifest["classes"] == [0, 1]
    assert manifest["input_signature"] == infer_signature(x)  # the target column dropped
    assert len(manifest["input_example"]) == 3 and "target" not in manifest["input_example"][0]
    assert manifest["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert manifest["training_dataset"] == data.ref and manifest["positive_label"] == 1
    lineage = ctx.store.list_lineage(model.id, "upstream")
    assert [(e.source_id, e.relation) for e in lineage] == [(data.id, "training-data")]
    loaded = load_model(ctx, model)
    rows = x.iloc[:50]
    np.testing.assert_array_equal(loaded.predict(rows)["predictions"], pipeline.predict(rows))
    # It goes through the registry like a trained model, ONNX export included.
    package = register_model(ctx, model.id, "bc")
    assert package.approval_status.value == "PendingManualApproval"
    assert approve(ctx, package.ref, reason="checked", by="t").approval_status.value == ("Approved")
    assert conform(rows, manifest["input_signature"]).shape == rows.shape
    # No training job, so no metrics until it is evaluated, as any model is.
    from sklearn.metrics import accuracy_score, roc_auc_score

    evaluation = evaluate_model(ctx, model.id, "bc")
    # Columns the model does not use (an id) are left aside, as batch transform does.
    with_id = bc.assign(customer_id=range(len(bc)))
    store_table(ctx, pa.Table.from_pandas(with_id, preserve_index=False), "bc.ids", source="t")
    assert evaluate_model(ctx, model.id, "bc.ids").metrics == evaluation.metrics
    assert evaluation.metrics["accuracy"] == pytest.approx(accuracy_score(y, pipeline.predict(x)))
    assert evaluation.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(y, pipeline.predict_proba(x)[:, 1])
    )


def test_a_regressor_and_a_forest(ctx: WorkspaceContext) -> None:
    diabetes = load_diabetes(as_frame=True)
    ridge = Ridge().fit(diabetes.data, diabetes.target)
    model = log_model(ctx, ridge, diabetes.data.head(20), name="ridge")
    assert (model.manifest["task"], model.manifest["classes"]) == ("regression", None)
    np.testing.assert_allclose(
        load_model(ctx, model).predict(diabetes.data.head(5))["predictions"],
        ridge.predict(diabetes.data.head(5)),
    )
    iris_like = diabetes.data.assign(kind=pd.cut(diabetes.target, 3, labels=["a", "b", "c"]))
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        iris_like.drop(columns="kind"), iris_like["kind"]
    )
    model = log_model(ctx, forest, iris_like, name="forest", target="kind")
    assert model.manifest["task"] == "multiclass_classification"
    assert model.manifest["classes"] == ["a", "b", "c"]


def test_what_cannot_be_logged_is_refused_with_the_reason(
    ctx: WorkspaceContext, bc: pd.DataFrame
) -> None:
    x, y = bc.drop(columns="target"), bc["target"]
    fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(x, y)
    with pytest.raises(InvalidParameter, match="not fitted"):
        log_model(ctx, LogisticRegression(), x, name="m")
    with pytest.raises(InvalidParameter, match="not valid"):
        log_model(ctx, fitted, x, name="no spaces")
    with pytest.raises(InvalidParameter, match="at least one row"):
        log_model(ctx, fitted, x.head(0), name="m")
    with pytest.raises(InvalidInput, match=r"lack column\(s\) \['mean compactness'"):
        log_model(ctx, fitted, x.iloc[:, :5], name="m")
    with pytest.raises(InvalidInput, match="cannot predict its example rows"):
        log_model(ctx, fitted, x.assign(**{"mean radius": "wide"}), name="m")
    with pytest.raises(NotFound):
        log_model(ctx, fitted, x, name="m", training_dataset="no-such-data")
    custom = make_pipeline(_Doubler(), StandardScaler(), LogisticRegression()).fit(x, y)
    with pytest.raises(UntrustedModel, match="_Doubler"):
        log_model(ctx, custom, x, name="m")
    assert ctx.store.list_models() == []  # nothing half-stored


def test_the_onnx_export_is_checked_on_training_rows_too(ctx: WorkspaceContext, bc) -> None:
    """Three example rows say little: with a training dataset on record, its first 256
    rows are compared too; without one, up to 256 of the example rows log_model kept."""
    import pyarrow as pa

    from siklus.registry import get_onnx_export

    x, y = bc.drop(columns="target"), bc["target"]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    store_table(ctx, pa.Table.from_pandas(bc, preserve_index=False), "bc", source="t")
    with_data = log_model(ctx, pipeline, bc, name="a", target="target", training_dataset="bc")
    without = log_model(ctx, pipeline, bc, name="b", target="target")
    checked = get_onnx_export(ctx, register_model(ctx, with_data.id, "a"))
    plain = get_onnx_export(ctx, register_model(ctx, without.id, "b"))
    assert checked["status"] == plain["status"] == "exported"
    # 3 example rows + 256 more (no row with gaps: no column is nullable, and without an
    # imputer scikit-learn refuses a row with every column missing).
    assert checked["verified_rows"] == plain["verified_rows"] == 3 + 256
    assert "verification_sample" not in with_data.manifest
    few = log_model(ctx, pipeline, bc.head(40), name="c", target="target")
    assert get_onnx_export(ctx, register_model(ctx, few.id, "c"))["verified_rows"] == 3 + 40
