"""Micro-batching in one worker (in-process, no socket) and the row checks behind it."""

from __future__ import annotations

import asyncio
import copy
import json
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from siklus.exceptions import InvalidInput
from siklus.serving import create_app
from siklus.serving._rows import Part, RowPlan
from siklus.training import LoadedModel, conform, infer_signature


@pytest.fixture
def model(bc_xy: tuple[pd.DataFrame, pd.Series], bc_pipeline: Pipeline) -> LoadedModel:
    features, _ = bc_xy
    manifest = {"input_signature": infer_signature(features), "classes": [0, 1]}
    return LoadedModel("m-1", copy.deepcopy(bc_pipeline), manifest)


def _bodies(features: pd.DataFrame, helpers, n: int) -> list[bytes]:
    return [json.dumps(helpers.records(features.iloc[[i]])[0]).encode() for i in range(n)]


async def _invoke_all(invoker, bodies: list[bytes]) -> list[tuple[int, dict]]:
    headers = {"content-type": "application/json"}
    answers = await asyncio.gather(
        *(invoker.invoke(body, "application/json", headers) for body in bodies)
    )
    return [(status, json.loads(payload)) for status, payload, _ in answers]


def test_concurrent_single_rows_share_one_predict_call(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    final = model.estimator[-1]
    bodies = _bodies(features, helpers, 24)
    with mock.patch.object(final, "predict_proba", wraps=final.predict_proba) as proba:
        answers = asyncio.run(_invoke_all(invoker, bodies))
    assert proba.call_count < len(bodies)  # one call for all 24 here
    assert invoker.batcher.calls == proba.call_count
    for i, (status, body) in enumerate(answers):
        row = features.iloc[[i]]
        assert status == 200
        assert body["predictions"] == bc_pipeline.predict(row).tolist()
        np.testing.assert_allclose(body["probabilities"], bc_pipeline.predict_proba(row), rtol=1e-9)


def test_one_request_at_a_time_is_predicted_alone(model: LoadedModel, bc_xy, helpers) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker

    async def one_by_one() -> None:
        for body in _bodies(features, helpers, 5):
            status, _, _ = await invoker.invoke(body, "application/json", {})
            assert status == 200

    asyncio.run(one_by_one())
    assert invoker.batcher.calls == 5


def test_a_bad_request_in_a_burst_fails_alone(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    bodies = _bodies(features, helpers, 6)
    bodies[2] = b'{"mean radius": "x"}'
    answers = asyncio.run(_invoke_all(invoker, bodies))
    assert [status for status, _ in answers] == [200, 200, 400, 200, 200, 200]
    assert "Missing column(s)" in answers[2][1]["error"]["message"]
    assert answers[5][1]["predictions"] == bc_pipeline.predict(features.iloc[[5]]).tolist()


def test_max_batch_rows_splits_a_burst(model: LoadedModel, bc_xy, helpers) -> None:
    features, _ = bc_xy
    app = create_app(model, max_payload_bytes=2**20, endpoint_name="b")
    app.invoker.batcher.max_rows = 4
    answers = asyncio.run(_invoke_all(app.invoker, _bodies(features, helpers, 10)))
    assert all(status == 200 for status, _ in answers)
    assert app.invoker.batcher.calls == 3  # 4 + 4 + 2 rows


def test_fast_and_general_paths_give_the_same_frame(bc_xy, helpers) -> None:
    features, _ = bc_xy
    plan = RowPlan(infer_signature(features))
    sample = features.iloc[:40]
    doc = helpers.records(sample)
    rows = plan.fast_rows(doc)
    assert rows is not None  # numbers, text and nulls where nullable: all plainly valid
    fast = plan.frame([Part(rows=rows)])
    general = plan.conform(pd.DataFrame(doc))
    reference = conform(sample.reset_index(drop=True), infer_signature(features))
    pd.testing.assert_frame_equal(fast, general)
    pd.testing.assert_frame_equal(fast, reference)
    mixed = plan.frame([Part(rows=rows[:3]), Part(frame=general.iloc[3:10])])
    pd.testing.assert_frame_equal(mixed, reference.iloc[:10])


@pytest.mark.parametrize(
    ("value", "message"),
    [("1.5", None), (True, "must be a number"), (None, "has a missing value")],
)
def test_general_path_converts_or_refuses(value, message, bc_xy, helpers) -> None:
    features, _ = bc_xy
    plan = RowPlan(infer_signature(features))
    record = helpers.records(features.iloc[:1])[0]
    record["mean texture"] = value
    assert plan.fast_rows(record) is None  # not plainly valid: the general path decides
    if message is None:
        assert plan.conform(pd.DataFrame([record]))["mean texture"].tolist() == [1.5]
    else:
        with pytest.raises(InvalidInput, match=message):
            plan.conform(pd.DataFrame([record]))
