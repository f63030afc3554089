"""The ONNX fast path answers what scikit-learn answers.

Each model is stored and registered the way training does it (skops artifact + manifest),
exported at registration, loaded through ``load_onnx_model`` and compared with the native
``LoadedModel`` on every row of the breast-cancer data: identical labels, probabilities
within 1e-5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from siklus.exceptions import InvalidInput, InvalidParameter
from siklus.registry import export_onnx, get_onnx_export, package_history, register_model
from siklus.serving._onnx import OnnxModel, load_onnx_model
from siklus.store import WorkspaceContext
from siklus.training import (
    build_pipeline,
    infer_signature,
    library_versions,
    load_model,
    save_estimator,
)


def _double(x):
    return x * 2


@pytest.fixture(scope="module")
def plain_xy() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    target = bunch.target.map(dict(enumerate(bunch.target_names)))  # text labels, as ingested
    return bunch.data.copy(), target


@pytest.fixture(scope="module")
def mixed_xy(plain_xy) -> tuple[pd.DataFrame, pd.Series]:
    """Breast cancer plus a text column with gaps, a boolean column and numeric gaps."""
    features, target = plain_xy
    features = features.copy()
    rng = np.random.default_rng(7)
    clinic = rng.choice(np.array(["north", "south", "east"], dtype=object), size=len(features))
    clinic[rng.random(len(features)) < 0.1] = np.nan
    features["clinic"] = pd.Series(clinic, index=features.index, dtype=object)
    features["referred"] = rng.random(len(features)) < 0.3
    features.loc[rng.random(len(features)) < 0.05, "mean radius"] = np.nan
    return features, target


def store_model(ctx: WorkspaceContext, estimator, features: pd.DataFrame, target: pd.Series):
    """Fit siklus' own preprocessing + ``estimator`` and store it as training does."""
    signature = infer_signature(features)
    pipeline = build_pipeline(signature, estimator).fit(features, target)
    head = features.head(3).astype(object)
    classifier = hasattr(pipeline, "predict_proba")
    manifest = {
        "format": "skops",
        "task": "classification" if classifier else "regression",
        "target": "diagnosis",
        "classes": pipeline.classes_.tolist() if classifier else None,
        "estimator": type(estimator).__name__,
        "input_signature": signature,
        "input_example": head.where(head.notna(), None).to_dict(orient="records"),
        "library_versions": library_versions(),
    }
    return ctx.store.create_model(
        name=type(estimator).__name__,
        sha256=save_estimator(ctx, pipeline),
        manifest=manifest,
        training_job_id=None,
        tags={},
    )


CASES = {
    "logistic-regression": (lambda: LogisticRegression(max_iter=3000), "plain"),
    "random-forest": (lambda: RandomForestClassifier(n_estimators=60, random_state=0), "plain"),
    "one-hot-logistic": (lambda: LogisticRegression(max_iter=3000), "mixed"),
    "one-hot-forest": (lambda: RandomForestClassifier(n_estimators=60, random_state=0), "mixed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_onnx_and_native_give_the_same_answers(ctx, case, plain_xy, mixed_xy):
    make, data = CASES[case]
    features, target = plain_xy if data == "plain" else mixed_xy
    model = store_model(ctx, make(), features, target)
    package = register_model(ctx, model.id, "bc")
    record = get_onnx_export(ctx, package)
    assert record["status"] == "exported", record["reason"]
    # The 3 example rows and an all-missing row where scikit-learn predicts one (siklus'
    # pipeline imputes every column; a plain pipeline may not).
    if data == "mixed":
        assert record["verified_rows"] == 4 and record["missing_values"] == "any"
    else:
        assert record["verified_rows"] in (3, 4)
    # siklus' own pipeline (a ColumnTransformer) takes one input per column; without
    # gaps or text, a matrix is tried first.
    assert record["matrix"] is False

    native = load_model(ctx, model)
    onnx = load_onnx_model(ctx, package)
    assert isinstance(onnx, OnnxModel)
    assert onnx.signature == native.signature and onnx.classes == native.classes
    expected = native.predict(features)
    got = onnx.predict(features)
    assert got["classes"] == expected["classes"] == ["benign", "malignant"]
    assert got["predictions"] == expected["predictions"]
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=1e-5, rtol=0)
    # Same answer one row at a time (the real-time shape), including a row with gaps.
    for i in (0, 1, 7):
        one = onnx.predict(features.iloc[[i]])
        assert one["predictions"] == expected["predictions"][i : i + 1]


def test_the_signature_is_checked_before_onnx_runs(ctx, mixed_xy):
    features, target = mixed_xy
    model = store_model(ctx, LogisticRegression(max_iter=3000), features, target)
    onnx = load_onnx_model(ctx, register_model(ctx, model.id, "bc"))
    with pytest.raises(InvalidInput, match="Missing column"):
        onnx.predict(features.drop(columns=["clinic"]).head(2))
    bad = features.head(2).astype(object)
    bad.loc[bad.index[0], "mean texture"] = "abc"
    with pytest.raises(InvalidInput, match="mean texture"):
        onnx.predict(bad)
    unseen = features.head(1).copy()
    unseen["clinic"] = "west"  # unknown category: ignored by the one-hot, as natively
    native = load_model(ctx, model).predict(unseen)
    np.testing.assert_allclose(
        onnx.predict(unseen)["probabilities"], native["probabilities"], atol=1e-5
    )


def test_regression_export(ctx, plain_xy):
    features, _ = plain_xy
    rows, target = features.drop(columns=["mean area"]), features["mean area"]
    model = store_model(ctx, Ridge(), rows, target)
    onnx = load_onnx_model(ctx, register_model(ctx, model.id, "area"))
    got = onnx.predict(rows)
    assert "probabilities" not in got
    np.testing.assert_allclose(
        got["predictions"], load_model(ctx, model).predict(rows)["predictions"], rtol=1e-9
    )


def test_unconvertible_pipeline_records_the_reason(ctx, plain_xy):
    features, target = plain_xy
    model = store_model(ctx, HistGradientBoostingClassifier(max_iter=5), features, target)
    package = register_model(ctx, model.id, "hgb")
    record = get_onnx_export(ctx, package)
    if record["status"] == "exported":  # a newer skl2onnx converts it: then it must agree
        onnx = load_onnx_model(ctx, package)
        assert (
            onnx.predict(features)["predictions"]
            == load_model(ctx, model).predict(features)["predictions"]
        )
        return
    assert record["reason"]
    with pytest.raises(InvalidParameter, match="cannot be served with ONNX"):
        load_onnx_model(ctx, package)
    actions = [e["action"] for e in package_history(ctx, package)]
    assert actions == ["registered", "onnx-export"]


def test_untrusted_type_is_refused_at_load_and_export(ctx, plain_xy):
    """A package whose model file holds a type outside the allow-list never loads."""
    import skops.io as sio
    from sklearn.pipeline import make_pipeline

    from siklus.exceptions import UntrustedModel

    features, target = plain_xy
    pipeline = make_pipeline(
        FunctionTransformer(_double), StandardScaler(), LogisticRegression(max_iter=3000)
    )
    pipeline.fit(features, target)
    path = ctx.state_dir / "custom.skops"
    sio.dump(pipeline, path)
    model = ctx.store.create_model(
        name="custom",
        sha256=ctx.artifacts.put_file(path),
        manifest={"format": "skops", "input_signature": infer_signature(features)},
        training_job_id=None,
        tags={},
    )
    package = register_model(ctx, model.id, "custom")
    record = get_onnx_export(ctx, package)
    assert record["status"] == "unavailable" and "_double" in record["reason"]
    with pytest.raises(UntrustedModel, match=r"test_onnx\._double"):
        load_model(ctx, model)
    with pytest.raises(UntrustedModel, match="_double"):
        export_onnx(ctx, package)


def test_multiclass_and_classifier_without_probabilities(ctx, plain_xy):
    from sklearn.datasets import load_wine
    from sklearn.linear_model import Perceptron

    wine = load_wine(as_frame=True)
    model = store_model(ctx, LogisticRegression(max_iter=3000), wine.data, wine.target)
    onnx = load_onnx_model(ctx, register_model(ctx, model.id, "wine"))
    expected = load_model(ctx, model).predict(wine.data)
    got = onnx.predict(wine.data)
    assert got["classes"] == [0, 1, 2] and got["predictions"] == expected["predictions"]
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=1e-5)

    features, target = plain_xy
    model = store_model(ctx, Perceptron(random_state=0), features, target)
    onnx = load_onnx_model(ctx, register_model(ctx, model.id, "svm"))
    native = load_model(ctx, model).predict(features)
    got = onnx.predict(features)
    assert "probabilities" not in native and "probabilities" not in got  # scores are not
    assert got["predictions"] == native["predictions"]


def test_gaps_where_training_had_none_are_imputed_like_scikit_learn(ctx, plain_xy):
    """siklus' pipeline imputes every column, so its export was verified with an all-missing
    row and takes gaps anywhere (only a bare forest's export refuses them)."""
    features, target = plain_xy
    model = store_model(ctx, LogisticRegression(max_iter=3000), features, target)
    package = register_model(ctx, model.id, "bc")
    record = get_onnx_export(ctx, package)
    assert record["missing_values"] == "any"
    holed = features.iloc[:6].copy()
    holed.loc[holed.index[[1, 4]], "mean texture"] = np.nan
    native = load_model(ctx, model).predict(holed)
    onnx = load_onnx_model(ctx, package).predict(holed)
    assert onnx["predictions"] == native["predictions"]
    np.testing.assert_allclose(onnx["probabilities"], native["probabilities"], atol=1e-5)
