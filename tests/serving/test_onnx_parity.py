"""What the ONNX runtime answers where "auto" now picks it by default: the same values, of
the same types, as scikit-learn, and no answer where scikit-learn's was never compared.

Regressions found in review: boolean labels came back as 0/1 (``false`` in JSON natively),
float labels as integers; a pipeline that does not impute was recorded as verified for
gaps anywhere (scikit-learn had refused the check row), so ONNX answered NaN
probabilities where scikit-learn refuses the row; a batch transform with runtime "auto"
refused rows with gaps that its native run scores.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.exceptions import InvalidInput
from siklus.registry import (
    get_onnx_export,
    register_model,
    require_onnx_file,
    unverified_missing,
)
from siklus.serving._onnx import load_onnx_model
from siklus.serving.batch._predict import ChunkPlan, ChunkPredictor
from siklus.store import ModelPackage, WorkspaceContext
from siklus.training import infer_signature, load_model, log_model


@pytest.fixture(scope="module")
def bc() -> tuple[pd.DataFrame, pd.Series]:
    return load_breast_cancer(return_X_y=True, as_frame=True)


def _register(
    ctx: WorkspaceContext, pipeline: Pipeline, features: pd.DataFrame, target: pd.Series, group
) -> tuple[ModelPackage, str]:
    """Fit, log (with an input example, as training stores one) and register (exports
    ONNX)."""
    pipeline.fit(features, target)
    model = log_model(ctx, pipeline, features, name=group, target="target")
    return register_model(ctx, model.id, group), model.id


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_labels_keep_the_type_of_the_classes(ctx: WorkspaceContext, bc, kind: str) -> None:
    features, target = bc
    target = target.astype(bool) if kind == "bool" else target.astype(float)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    package, model_id = _register(ctx, pipeline, features, target, f"labels-{kind}")
    assert get_onnx_export(ctx, package)["status"] == "exported"
    rows = features.iloc[:40]
    native = load_model(ctx, ctx.store.get_model(model_id)).predict(rows)
    onnx = load_onnx_model(ctx, package).predict(rows)
    # Same JSON: false/true (or 0.0/1.0), not 0/1.
    assert json.dumps(onnx["predictions"]) == json.dumps(native["predictions"])
    assert json.dumps(onnx["predictions"]) == json.dumps(pipeline.predict(rows).tolist())
    assert onnx["classes"] == native["classes"]


def test_a_pipeline_that_does_not_impute_is_not_verified_for_gaps(
    ctx: WorkspaceContext, bc
) -> None:
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    package, model_id = _register(ctx, pipeline, features, target, "no-imputer")
    record = get_onnx_export(ctx, package)
    assert record["status"] == "exported"
    # scikit-learn refused the all-missing check row: nothing was compared with gaps.
    assert record["missing_values"] == "nullable"
    holed = features.iloc[:3].copy()
    holed.iloc[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        load_model(ctx, ctx.store.get_model(model_id)).predict(holed)
    # Before: NaN probabilities and a label, where scikit-learn gives none.
    with pytest.raises(InvalidInput, match=r"'mean area' has missing values at rows \[1\]"):
        load_onnx_model(ctx, package).predict(holed)
    assert load_onnx_model(ctx, package).predict(holed.dropna())["predictions"] == (
        pipeline.predict(holed.dropna()).tolist()
    )


def test_an_export_recorded_before_missing_values_refuses_gaps(bc) -> None:
    """A record without ``missing_values`` says nothing about gaps (old verification)."""
    features, _ = bc
    signature = infer_signature(features)
    old = {"package": "bc:1", "inputs": [], "label_output": "label", "task": "regression"}
    holed = features.iloc[:2].copy()
    holed.iloc[0, 0] = np.nan
    reason = unverified_missing(old, signature, holed)
    assert reason is not None and "siklus models export-onnx bc:1" in reason
    assert unverified_missing({**old, "missing_values": "any"}, signature, holed) is None
    assert unverified_missing(old, signature, features.iloc[:2]) is None


def _plan(ctx: WorkspaceContext, package: ModelPackage, model_id: str, *, fallback: bool):
    model = ctx.store.get_model(model_id)
    scratch = Path(tempfile.mkdtemp(dir=ctx.state_dir))
    export, path = require_onnx_file(ctx, package)
    return ChunkPlan(
        model_path=str(ctx.artifacts.local_path(model.sha256)),
        model_id=model.id,
        manifest=dict(model.manifest),
        parts_dir=str(scratch / "parts"),
        skipped_dir=str(scratch / "skipped"),
        chunk_rows=100,
        id_column=None,
        keep_columns=(),
        probabilities=True,
        on_error="fail",
        runtime="onnx",
        native_fallback=fallback,
        onnx_export=export,
        onnx_path=str(path),
    )


def test_batch_auto_predicts_unverified_gaps_natively(ctx: WorkspaceContext, bc) -> None:
    """A bare forest's export is verified only without gaps; with runtime "auto" a chunk
    holding gaps gets scikit-learn's answers (as its native run would), with "onnx" it is
    refused."""
    features, target = bc
    forest = make_pipeline(RandomForestClassifier(n_estimators=20, random_state=0))
    package, model_id = _register(ctx, forest, features, target, "forest")
    record = get_onnx_export(ctx, package)
    assert (record["status"], record["missing_values"]) == ("exported", "nullable")
    rows = features.iloc[:60].copy()
    rows.iloc[[2, 17], 5] = np.nan

    auto = ChunkPredictor(_plan(ctx, package, model_id, fallback=True))
    predictions, proba = auto._predict(rows)
    np.testing.assert_array_equal(predictions, forest.predict(rows))
    np.testing.assert_allclose(proba, forest.predict_proba(rows), atol=1e-9)
    # Rows without gaps still go through ONNX, with the same label type as natively.
    clean, _ = auto._predict(features.iloc[:60])
    assert clean.dtype == forest.predict(features.iloc[:60]).dtype
    np.testing.assert_array_equal(clean, forest.predict(features.iloc[:60]))

    explicit = ChunkPredictor(_plan(ctx, package, model_id, fallback=False))
    with pytest.raises(InvalidInput, match="use runtime 'native'"):
        explicit._predict(rows)


def test_a_transform_record_keeps_that_auto_was_asked_for(
    ctx: WorkspaceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's plan falls back only for a transform that asked for "auto"."""
    import siklus.registry
    from siklus.serving.batch._engine import _plan as engine_plan

    export = {"status": "exported"}
    monkeypatch.setattr(siklus.registry, "require_onnx_file", lambda *_: (export, "m.onnx"))

    model = ctx.store.create_model(
        name="m", sha256=ctx.artifacts.put_bytes(b"m"), manifest={}, training_job_id=None, tags={}
    )
    base = {"model_id": model.id, "chunk_rows": 10, "model_package": "p:1", "runtime": "onnx"}
    folder = Path(ctx.state_dir)
    assert engine_plan(ctx, {**base, "requested_runtime": "auto"}, folder).native_fallback
    assert not engine_plan(ctx, {**base, "requested_runtime": "onnx"}, folder).native_fallback
    assert not engine_plan(ctx, base, folder).native_fallback  # records from before
    plan = engine_plan(ctx, base, folder)
    assert (plan.onnx_export, plan.onnx_path) == (export, "m.onnx")  # resolved for the workers


@pytest.mark.parametrize("fallback", [False, True])
def test_batch_onnx_refuses_an_infinite_number_as_native_does(
    ctx: WorkspaceContext, bc, fallback: bool
) -> None:
    """scikit-learn refuses infinities (and an endpoint does, for either runtime); the
    ONNX graph would answer them. A batch row holding one fails (or is skipped) alike."""
    import pyarrow as pa

    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    package, model_id = _register(ctx, pipeline, features, target, "lr")
    rows = features.iloc[:40].reset_index(drop=True)
    rows.iloc[7, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        pipeline.predict(rows)  # the reference: native refuses the row
    plan = _plan(ctx, package, model_id, fallback=fallback)
    for folder in (plan.parts_dir, plan.skipped_dir):
        Path(folder).mkdir(parents=True)
    predictor = ChunkPredictor(plan)
    with pytest.raises(InvalidInput, match=r"input row 7 .*infinite number"):
        predictor.run(0, pa.Table.from_pandas(rows, preserve_index=False))


def test_batch_onnx_breaks_exact_ties_as_scikit_learn_does(ctx: WorkspaceContext, bc) -> None:
    """Rows on which a 100-tree forest's classes tie exactly (50 trees each): scikit-learn
    answers the first class. onnxruntime on one thread sums the votes in scikit-learn's
    order and agrees; summed on two threads it answered the other class for some (which
    is why batch transform scales ONNX with processes, not onnxruntime threads)."""
    import pyarrow as pa
    from sklearn.ensemble import RandomForestClassifier

    features, target = bc
    pipeline = make_pipeline(StandardScaler(), RandomForestClassifier(random_state=0))
    package, model_id = _register(ctx, pipeline, features, target, "forest")
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(features), size=20_000)
    rows = features.to_numpy()[picks] * rng.normal(1.0, 0.02, size=(20_000, features.shape[1]))
    rows = pd.DataFrame(rows, columns=features.columns)
    proba = pipeline.predict_proba(rows)
    tied = np.flatnonzero(proba[:, 0] == proba[:, 1])
    assert len(tied) >= 2  # the case under test is there
    sample = pd.concat([rows.iloc[tied], rows.iloc[:200]], ignore_index=True)
    plan = _plan(ctx, package, model_id, fallback=False)
    for folder in (plan.parts_dir, plan.skipped_dir):
        Path(folder).mkdir(parents=True)
    ChunkPredictor(plan).run(0, pa.Table.from_pandas(sample, preserve_index=False))
    out = pd.read_parquet(Path(plan.parts_dir) / "part-000000.parquet")
    assert out["prediction"].tolist() == pipeline.predict(sample).tolist()
