"""Variants, shadow, data capture, per-variant metrics and payload checks over a real socket.

One endpoint serves the module: two production variants (weights 3:1) of two different
models, a shadow variant, 100 % data capture and metrics every 0.3 s.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState
from siklus.serving import (
    create_endpoint,
    delete_endpoint,
    endpoint_config,
    endpoint_metrics,
    invoke_endpoint,
)
from siklus.store import ModelPackage, WorkspaceContext
from siklus.store.capture import read_capture

from ._wait import wait_for

JSON = {"Content-Type": "application/json"}
records: Callable[..., list[dict]]
register: Callable[..., ModelPackage]


@dataclass(frozen=True)
class Live:
    ctx: WorkspaceContext
    url: str
    a: Pipeline
    b: Pipeline
    package_a: ModelPackage
    package_b: ModelPackage
    sample: pd.DataFrame


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    bc_xy: tuple[pd.DataFrame, pd.Series],
    bc_pipeline: Pipeline,
    bc_pipeline_b: Pipeline,
    helpers,
) -> Iterator[Live]:
    global records, register
    records, register = helpers.records, helpers.register
    features, _ = bc_xy
    with pytest.MonkeyPatch.context() as patch:
        for name in helpers.isolate:
            patch.delenv(name, raising=False)
        ctx = WorkspaceContext.open(tmp_path_factory.mktemp("realtime") / "ws")
        package_a = register(ctx, bc_pipeline, features)
        package_b = register(ctx, bc_pipeline_b, features)
        config = {
            "variants": [
                {"model": package_a.ref, "name": "blue", "weight": 3},
                {"model": package_b.ref, "name": "green", "weight": 1},
            ],
            "shadow": {"model": package_b.ref, "name": "shadow"},
            "capture_percent": 100,
            "metrics_interval_s": 0.3,
        }
        try:
            endpoint = create_endpoint(ctx, "rt", config=config)
            assert endpoint.url is not None
            yield Live(
                ctx,
                endpoint.url,
                bc_pipeline,
                bc_pipeline_b,
                package_a,
                package_b,
                features.iloc[:80],
            )
        finally:
            for endpoint in ctx.store.list_endpoints():
                delete_endpoint(ctx, endpoint.name, grace_seconds=5)


def _good(live: Live) -> None:
    rows = live.sample.iloc[:3]
    answer = invoke_endpoint(
        live.ctx, "rt", json.dumps(records(rows)).encode(), target_variant="blue"
    )
    assert answer["predictions"] == live.a.predict(rows).tolist()


def test_config_is_stored_pinned_to_versions(live: Live) -> None:
    config = endpoint_config(live.ctx, "rt")
    assert [(v.name, v.model, v.weight) for v in config.variants] == [
        ("blue", live.package_a.ref, 3.0),
        ("green", live.package_b.ref, 1.0),
    ]
    assert config.shadow is not None and config.shadow.model_id == live.package_b.model_id
    ping = httpx.get(f"{live.url}/ping").json()
    assert ping["variants"] == {"blue": live.package_a.model_id, "green": live.package_b.model_id}
    deployed = {
        (e.source_type, e.source_id)
        for e in live.ctx.store.list_lineage("rt", "upstream")
        if e.relation == "deployed"
    }
    assert deployed == {
        ("model_package", live.package_a.id),
        ("model_package", live.package_b.id),
    }


def test_traffic_is_split_by_weight_and_answers_match_each_model(live: Live) -> None:
    seen: Counter[str] = Counter()
    expected = {
        "blue": (live.a.predict(live.sample), live.a.predict_proba(live.sample)),
        "green": (live.b.predict(live.sample), live.b.predict_proba(live.sample)),
    }
    with httpx.Client(base_url=live.url, headers=JSON) as client:
        for i in range(80):
            row = live.sample.iloc[[i % len(live.sample)]]
            answer = client.post("/invocations", content=json.dumps(records(row)[0]))
            assert answer.status_code == 200
            body = answer.json()
            variant = answer.headers["x-siklus-variant"]
            assert body["variant"] == variant and variant in ("blue", "green")
            predictions, probabilities = expected[variant]
            assert body["predictions"] == [predictions[i % len(live.sample)]]
            np.testing.assert_allclose(
                body["probabilities"], probabilities[[i % len(live.sample)]], rtol=1e-9
            )
            assert answer.headers["x-siklus-inference-id"] == body["inference_id"]
            seen[variant] += 1
    # 3:1 weights over 80 draws: blue gets more, green still gets a share (the chance of
    # either failing is below 1e-4).
    assert seen["blue"] > seen["green"] >= 5, seen
    for _ in range(5):
        body = json.dumps(records(live.sample.iloc[:2])).encode()
        assert invoke_endpoint(live.ctx, "rt", body, target_variant="green")["variant"] == "green"
    with pytest.raises(InvalidInput, match="not a production variant"):
        invoke_endpoint(live.ctx, "rt", body, target_variant="shadow")


def test_capture_records_requests_shadow_answers_and_inference_ids(live: Live) -> None:
    rows = live.sample.iloc[10:14]
    body = json.dumps(records(rows)).encode()
    answer = invoke_endpoint(live.ctx, "rt", body, target_variant="blue", inference_id="req-42")
    assert answer["inference_id"] == "req-42" and answer["variant"] == "blue"

    def captured() -> dict[str, list]:
        scan = read_capture(live.ctx.root, "rt")
        assert not scan.errors
        found = {r.variant: r for r in scan.records if r.inference_id == "req-42"}
        return found if {"blue", "shadow"} <= set(found) else {}

    found = wait_for(captured)
    assert isinstance(found, dict)
    blue, shadow = found["blue"], found["shadow"]
    assert blue.predictions == answer["predictions"]
    assert blue.row_ids == [f"req-42:{i}" for i in range(4)]
    assert blue.model == live.package_a.ref and blue.columns == list(rows.columns)
    assert blue.rows[0][0] == pytest.approx(rows.iloc[0, 0])
    # The shadow saw the same rows; its answers are recorded, never returned.
    assert shadow.predictions == live.b.predict(rows).tolist()
    assert shadow.model == live.package_b.ref


def test_metrics_count_requests_and_errors_per_variant(live: Live) -> None:
    # Let earlier tests' requests reach the metrics first (several flush intervals, 0.3 s).
    previous = None
    while True:
        before = {row["variant"]: row for row in endpoint_metrics(live.ctx, "rt")}
        totals = {k: v["invocations"] for k, v in before.items()}
        if totals == previous:
            break
        previous = totals
        time.sleep(1.0)
    body = json.dumps(records(live.sample.iloc[:1])).encode()
    for _ in range(7):
        invoke_endpoint(live.ctx, "rt", body, target_variant="green")
    bad = httpx.post(
        f"{live.url}/invocations",
        content=b"{",
        headers={**JSON, "X-Siklus-Target-Variant": "green"},
    )
    assert bad.status_code == 400

    def counted() -> dict:
        rows = {row["variant"]: row for row in endpoint_metrics(live.ctx, "rt")}
        old = before.get("green", {"invocations": 0, "errors_4xx": 0})
        green = rows.get("green")
        if green and green["invocations"] - old["invocations"] >= 8:
            return rows
        return {}

    rows = wait_for(counted)
    assert isinstance(rows, dict)
    green = rows["green"]
    old = before.get("green", {"invocations": 0, "errors_4xx": 0})
    assert green["invocations"] - old["invocations"] == 8
    assert green["errors_4xx"] - old["errors_4xx"] == 1 and green["errors_5xx"] == 0
    assert green["role"] == "production" and rows["shadow"]["role"] == "shadow"
    assert 0 < green["latency_p50_ms"] <= green["latency_p90_ms"] <= green["latency_p99_ms"]
    assert rows["shadow"]["invocations"] >= 7
    # One request at a time: seven predict calls of one row (the bad body never got to
    # one); the shadow predicts outside the micro-batcher.
    assert green["predict_calls"] - old.get("predict_calls", 0) == 7
    assert green["rows_per_call"] >= 1.0 and rows["shadow"]["predict_calls"] == 0


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_parquet_payload_predicts_like_the_pipeline(live: Live) -> None:
    rows = live.sample.iloc[:25]
    for media in ("application/x-parquet", "application/vnd.apache.parquet"):
        answer = invoke_endpoint(live.ctx, "rt", _parquet(rows), media, target_variant="blue")
        assert answer["predictions"] == live.a.predict(rows).tolist()


def _record(live: Live, **changes: object) -> dict:
    record = records(live.sample.iloc[:1])[0]
    for key, value in changes.items():
        if value is None and key.startswith("-"):
            del record[key[1:]]
        else:
            record[key] = value
    return record


_BAD = {
    "malformed-json": (
        lambda lv: b'[{"mean radius": 1.0,',
        "application/json",
        400,
        "not valid JSON",
    ),
    "missing-column": (
        lambda lv: json.dumps(_record(lv, **{"-clinic": None})).encode(),
        "application/json",
        400,
        "Missing column(s) ['clinic']",
    ),
    "extra-column": (
        lambda lv: json.dumps(_record(lv, bogus=1)).encode(),
        "application/json",
        400,
        "Unexpected column(s) ['bogus']",
    ),
    "wrong-type": (
        lambda lv: json.dumps(_record(lv, **{"mean texture": "abc"})).encode(),
        "application/json",
        400,
        "Column 'mean texture' must be a number",
    ),
    "nan-not-allowed": (
        lambda lv: json.dumps(_record(lv, **{"mean texture": math.nan})).encode(),
        "application/json",
        400,
        "Column 'mean texture' has a missing value",
    ),
    "null-not-allowed": (
        lambda lv: json.dumps(_record(lv, **{"worst area": None})).encode(),
        "application/json",
        400,
        "Column 'worst area' has a missing value",
    ),
    "infinity": (
        lambda lv: json.dumps(_record(lv, **{"mean area": math.inf})).encode(),
        "application/json",
        400,
        "Column 'mean area' holds an infinite number",
    ),
    "bad-parquet": (lambda lv: b"PAR1 not really", "application/x-parquet", 400, "not a readable"),
    "parquet-missing-column": (
        lambda lv: _parquet(lv.sample.iloc[:3].drop(columns=["clinic"])),
        "application/x-parquet",
        400,
        "Missing column(s) ['clinic']",
    ),
    "csv-wrong-type": (
        lambda lv: lv.sample.iloc[:2].assign(**{"mean area": "big"}).to_csv(index=False).encode(),
        "text/csv",
        400,
        "Column 'mean area' must be a number",
    ),
    "media-type": (lambda lv: b"<rows/>", "application/xml", 415, "application/x-parquet"),
    "100MB": (lambda lv: b" " * (100 * 1024 * 1024), "application/json", 413, "limit of 10485760"),
}


@pytest.mark.parametrize("case", list(_BAD))
def test_bad_payloads_get_a_clear_4xx_and_the_endpoint_keeps_serving(live: Live, case: str) -> None:
    make, media, status, fragment = _BAD[case]
    answer = httpx.post(
        f"{live.url}/invocations",
        content=make(live),
        headers={"Content-Type": media, "X-Siklus-Target-Variant": "blue"},
        timeout=60,
    )
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]["message"]
    _good(live)


def test_create_refuses_bad_configs_before_starting_anything(live: Live) -> None:
    ctx = live.ctx
    pending = register(ctx, live.a, live.sample, approve=False)
    with pytest.raises(InvalidState, match=f"{pending.ref} .*PendingManualApproval"):
        create_endpoint(ctx, "rt-x", config={"variants": [{"model": pending.ref}]})
    with pytest.raises(InvalidState, match="PendingManualApproval"):
        create_endpoint(
            ctx,
            "rt-x",
            config={"variants": [{"model": live.package_a.ref}], "shadow": pending.ref},
        )
    bad = [
        ({"variants": []}, "at least one production variant"),
        ({"variants": [{"model": "bc:1", "weight": -1}]}, "weight must be >= 0"),
        ({"variants": [{"model": "bc:1", "min_workers": 3, "max_workers": 2}]}, "min (3)"),
        ({"variants": [{"model": "bc:1"}, {"model": "bc:1"}]}, "used twice"),
        ({"variants": [{"model": "bc:1", "runtime": "gpu"}]}, "runtime must be one of"),
        ({"variants": [{"model": "bc:1"}], "capture_percent": 120}, "between 0 and 100"),
        ({"variants": [{"model": "bc:1"}], "colour": "red"}, "Unknown endpoint config"),
    ]
    for config, message in bad:
        with pytest.raises(InvalidParameter, match=message.replace("(", r"\(").replace(")", r"\)")):
            create_endpoint(ctx, "rt-x", config=config)
    assert "rt-x" not in {e.name for e in ctx.store.list_endpoints()}
