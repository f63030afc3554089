"""``runtime: "auto"`` (the default) serves a verified ONNX export, else scikit-learn.

The ONNX path must not import scikit-learn, skops or SciPy: that is what lets a new
endpoint process answer its first request in well under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.exceptions import InvalidInput
from siklus.registry import approve, get_onnx_export, register_model
from siklus.serving import EndpointConfig, create_endpoint, delete_endpoint, endpoint_config
from siklus.serving._config import resolve_config
from siklus.store import ModelPackage, WorkspaceContext
from siklus.training import log_model

HEAVY = ("sklearn", "skops", "scipy", "scipy.stats")


@pytest.fixture(scope="module")
def bc() -> tuple[pd.DataFrame, pd.Series]:
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    return features, target


def _register(
    ctx: WorkspaceContext, pipeline: Pipeline, features: pd.DataFrame, group: str, *, onnx: bool
) -> ModelPackage:
    """Log ``pipeline`` and register it through the registry (which exports ONNX)."""
    model = log_model(ctx, pipeline, features, name=group, target="target")
    package = register_model(ctx, model.id, group, onnx=onnx)
    return approve(ctx, package.ref, reason="test", by="pytest")


def _runtimes(ctx: WorkspaceContext, raw: dict) -> list[str]:
    config = resolve_config(ctx, EndpointConfig.from_dict(raw), force=False)
    return [spec.runtime for spec in config.variants]


def test_auto_pins_onnx_only_for_a_verified_export(ctx: WorkspaceContext, bc) -> None:
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    exported = _register(ctx, pipeline, features, "exported", onnx=True)
    plain = _register(ctx, pipeline, features, "plain", onnx=False)
    assert get_onnx_export(ctx, exported)["status"] == "exported"

    assert _runtimes(ctx, {"variants": [{"model": exported.ref}]}) == ["onnx"]
    # No export record: nothing is exported behind the user's back; native it is.
    assert _runtimes(ctx, {"variants": [{"model": plain.ref}]}) == ["native"]
    # An explicit runtime is kept.
    raw = {"variants": [{"model": exported.ref, "runtime": "native"}]}
    assert _runtimes(ctx, raw) == ["native"]


def test_auto_falls_back_to_native_when_the_export_is_unavailable(
    ctx: WorkspaceContext, bc
) -> None:
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    package = _register(ctx, pipeline, features, "broken", onnx=True)
    record = get_onnx_export(ctx, package)
    ctx.store.put_resource(
        "model-onnx", package.ref, {**record, "status": "unavailable", "reason": "test"}
    )
    assert _runtimes(ctx, {"variants": [{"model": package.ref}]}) == ["native"]


def test_a_pipeline_without_column_transformer_exports_as_one_matrix(
    ctx: WorkspaceContext, bc
) -> None:
    """skl2onnx converts a bare forest only with one input; the export feeds a matrix."""
    features, target = bc
    forest = make_pipeline(RandomForestClassifier(n_estimators=30, random_state=0))
    forest.fit(features, target)
    package = _register(ctx, forest, features, "forest", onnx=True)
    record = get_onnx_export(ctx, package)
    assert record["status"] == "exported", record.get("reason")
    assert record["matrix"] is True
    # The forest routes an all-missing row down its own NaN branches, which ONNX does not
    # copy: verified only without gaps (the training data had none).
    assert record["missing_values"] == "nullable"
    assert {item["onnx_name"] for item in record["inputs"]} == {"features"}

    from siklus.serving import load_onnx_model

    model = load_onnx_model(ctx, package)
    rows = features.sample(200, random_state=1)
    out = model.predict(rows)
    assert out["predictions"] == forest.predict(rows).tolist()
    np.testing.assert_allclose(out["probabilities"], forest.predict_proba(rows), atol=1e-6)
    # Columns sent in another order are put back in signature order.
    shuffled = rows[list(reversed(rows.columns))]
    assert model.predict(shuffled)["predictions"] == out["predictions"]
    # The training data had no gaps, so the export was not checked with any: a missing
    # value is refused (a forest sends NaN down branches ONNX does not reproduce).
    holed = rows.head(3).copy()
    holed.iloc[1, 4] = np.nan
    with pytest.raises(InvalidInput, match=r"'mean smoothness' has missing values at rows \[1\]"):
        model.predict(holed)


def test_an_onnx_variant_never_imports_scikit_learn(ctx: WorkspaceContext, bc) -> None:
    """Load and predict the way an endpoint worker does, in a fresh interpreter."""
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    package = _register(ctx, pipeline, features, "light", onnx=True)
    rows = features.iloc[:7]
    code = textwrap.dedent(
        f"""
        import json, sys
        import siklus.serving._server
        from siklus.serving._invoker import Variant
        from siklus.serving._loading import load_variant_model
        from siklus.store import WorkspaceContext

        ctx = WorkspaceContext.open({str(ctx.root)!r})
        variant = Variant("v", load_variant_model(ctx, {package.id!r}, "onnx"))
        doc = json.loads(sys.stdin.read())
        out = variant.predict([variant.parse(b"", "application/json", doc)])
        heavy = [name for name in {HEAVY!r} if name in sys.modules]
        print(json.dumps({{"out": out, "heavy": heavy}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(rows.to_dict(orient="records")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["out"]["predictions"] == pipeline.predict(rows).tolist()
    np.testing.assert_allclose(
        result["out"]["probabilities"], pipeline.predict_proba(rows), atol=1e-9
    )


def test_a_default_endpoint_serves_the_export_over_a_socket(
    ctx: WorkspaceContext, bc, helpers, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    for name in helpers.isolate:
        monkeypatch.delenv(name, raising=False)
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    package = _register(ctx, pipeline, features, "served", onnx=True)
    endpoint = create_endpoint(ctx, "served", package.group, package.version)
    try:
        assert [v.runtime for v in endpoint_config(ctx, "served").variants] == ["onnx"]
        rows = features.iloc[:25]
        response = httpx.post(f"{endpoint.url}/invocations", json=helpers.records(rows), timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["predictions"] == pipeline.predict(rows).tolist()
        np.testing.assert_allclose(body["probabilities"], pipeline.predict_proba(rows), atol=1e-9)
        bad = httpx.post(f"{endpoint.url}/invocations", json={"mean radius": "big"}, timeout=30)
        assert bad.status_code == 400 and "mean radius" in bad.text
    finally:
        delete_endpoint(ctx, "served", grace_seconds=5)


def test_serverless_onnx_refuses_at_create_a_package_that_does_not_convert(
    ctx: WorkspaceContext, bc, monkeypatch: pytest.MonkeyPatch, helpers
) -> None:
    """Explicit "onnx" is checked when the endpoint is created (as batch transform does),
    not at the first request's cold start, which could only fail every request."""
    from siklus.exceptions import InvalidParameter
    from siklus.serving.serverless import (
        create_serverless_endpoint,
        delete_serverless_endpoint,
        list_serverless_endpoints,
    )

    for name in helpers.isolate:
        monkeypatch.delenv(name, raising=False)
    features, target = bc
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    package = _register(ctx, pipeline, features, "broken-sl", onnx=True)
    record = get_onnx_export(ctx, package)
    ctx.store.put_resource(
        "model-onnx", package.ref, {**record, "status": "unavailable", "reason": "test reason"}
    )
    try:
        with pytest.raises(InvalidParameter, match="cannot be served with ONNX: test reason"):
            create_serverless_endpoint(ctx, "sl-x", package.group, runtime="onnx")
    finally:
        if list_serverless_endpoints(ctx):
            delete_serverless_endpoint(ctx, "sl-x", grace_seconds=5)
    assert list_serverless_endpoints(ctx) == []
    # A real-time endpoint too: refused with the reason, not "a worker exited".
    config = {"variants": [{"model": package.ref, "runtime": "onnx"}]}
    with pytest.raises(InvalidParameter, match="cannot be served with ONNX: test reason"):
        create_endpoint(ctx, "rt-x", config=config)
    assert [e.name for e in ctx.store.list_endpoints()] == []
