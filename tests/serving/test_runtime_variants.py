"""A variant with ``runtime: onnx`` answers like the native one (worker-side loading)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.serving import EndpointConfig
from siklus.serving._config import resolve_config
from siklus.serving._worker import build_invoker
from siklus.store import WorkspaceContext


def test_onnx_and_native_variants_agree(ctx: WorkspaceContext, helpers) -> None:
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(features, target)
    package = helpers.register(ctx, pipeline, features)
    config = resolve_config(
        ctx,
        EndpointConfig.from_dict(
            {
                "variants": [
                    {"model": package.ref, "name": "onnx", "runtime": "onnx"},
                    {"model": package.ref, "name": "native"},
                ]
            }
        ),
        force=False,
    )
    invoker = build_invoker(
        lambda: ctx, ctx.root, "e", config, {}, max_payload_bytes=2**20, slot=None
    )
    rows = features.iloc[:20]
    body = json.dumps(helpers.records(rows)).encode()

    async def ask(variant: str) -> dict:
        headers = {"x-siklus-target-variant": variant}
        status, payload, _ = await invoker.invoke(body, "application/json", headers)
        assert status == 200, payload
        return json.loads(payload)

    onnx, native = asyncio.run(ask("onnx")), asyncio.run(ask("native"))
    assert onnx["variant"] == "onnx" and native["variant"] == "native"
    assert onnx["predictions"] == native["predictions"] == pipeline.predict(rows).tolist()
    np.testing.assert_allclose(onnx["probabilities"], native["probabilities"], atol=1e-5)
