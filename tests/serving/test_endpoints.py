"""Real-time endpoints end to end: a real server process, a real socket, the registry gate.

One endpoint serves the whole module (starting a server costs about two seconds of
imports); tests that need their own server start it and delete it themselves.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.pipeline import Pipeline

from siklus.config import config_context
from siklus.exceptions import (
    AlreadyExists,
    InvalidInput,
    InvalidParameter,
    InvalidState,
    NotFound,
    PayloadTooLarge,
)
from siklus.jobs import process_alive
from siklus.serving import (
    EndpointError,
    UnsupportedMediaType,
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    invoke_endpoint,
    list_endpoints,
)
from siklus.store import ApprovalStatus, EndpointStatus, ModelPackage, WorkspaceContext
from siklus.training import infer_signature, save_estimator

_ISOLATE = (
    "SIKLUS_WORKSPACE",
    "SIKLUS_DATABASE_URL",
    "SIKLUS_ARTIFACT_ROOT",
    "SIKLUS_MAX_PAYLOAD_BYTES",
    "SIKLUS_ENDPOINT_HOST",
    "SIKLUS_ENDPOINT_START_TIMEOUT",
)


@dataclass(frozen=True)
class Deployment:
    ctx: WorkspaceContext
    pipeline: Pipeline
    sample: pd.DataFrame
    approved: ModelPackage
    pending: ModelPackage
    url: str


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready records, missing values as null (standard JSON has no NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    bc_xy: tuple[pd.DataFrame, pd.Series],
    bc_pipeline: Pipeline,
) -> Iterator[Deployment]:
    features, _ = bc_xy
    with pytest.MonkeyPatch.context() as patch:
        for name in _ISOLATE:
            patch.delenv(name, raising=False)
        ctx = WorkspaceContext.open(tmp_path_factory.mktemp("serving") / "ws")
        model = ctx.store.create_model(
            name="bc",
            sha256=save_estimator(ctx, bc_pipeline),
            manifest={
                "input_signature": infer_signature(features),
                "classes": bc_pipeline.classes_.tolist(),
                "task": "binary_classification",
                "target": "target",
            },
            training_job_id=None,
            tags={},
        )
        ctx.store.ensure_model_package_group("bc")
        packages = [
            ctx.store.create_model_package(
                "bc", model_id=model.id, metrics={}, description="", tags={}
            )
            for _ in range(2)
        ]
        approved = ctx.store.set_approval(
            packages[0].id, ApprovalStatus.APPROVED, reason="test", by="pytest"
        )
        # Rows with a missing number and a missing category: the pipeline imputes both.
        sample = features.iloc[:60]
        assert sample["mean radius"].isna().any() and sample["clinic"].isna().any()
        try:
            endpoint = create_endpoint(ctx, "bc", "bc", approved.version)
            assert endpoint.url is not None
            yield Deployment(ctx, bc_pipeline, sample, approved, packages[1], endpoint.url)
        finally:
            for endpoint in ctx.store.list_endpoints():
                delete_endpoint(ctx, endpoint.name, grace_seconds=5)


def _good(deployment: Deployment) -> None:
    """The endpoint still answers a good request correctly."""
    rows = deployment.sample.iloc[:3]
    answer = invoke_endpoint(deployment.ctx, "bc", json.dumps(_records(rows)).encode())
    assert answer["predictions"] == deployment.pipeline.predict(rows).tolist()


def test_ping_and_loopback_binding(deployment: Deployment) -> None:
    endpoint = describe_endpoint(deployment.ctx, "bc")
    assert endpoint.status == EndpointStatus.IN_SERVICE
    assert endpoint.host == "127.0.0.1"
    ping = httpx.get(f"{deployment.url}/ping")
    assert ping.status_code == 200
    package = deployment.ctx.store.get_model_package("bc", deployment.approved.version)
    assert ping.json() == {"status": "healthy", "endpoint": "bc", "model_id": package.model_id}
    listening = [
        c.laddr
        for c in psutil.Process(endpoint.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", endpoint.port)]


@pytest.mark.parametrize("shape", ["records", "instances", "split", "csv-header", "csv-positional"])
def test_payload_shapes_predict_like_the_pipeline(deployment: Deployment, shape: str) -> None:
    sample, pipeline = deployment.sample, deployment.pipeline
    content_type = "application/json"
    if shape == "records":
        body = json.dumps(_records(sample)).encode()
    elif shape == "instances":
        body = json.dumps({"instances": _records(sample)}).encode()
    elif shape == "split":
        split = json.loads(sample.to_json(orient="split", index=False))
        body = json.dumps(split).encode()
    else:
        body = sample.to_csv(index=False, header=shape == "csv-header").encode()
        content_type = "text/csv"
    answer = invoke_endpoint(deployment.ctx, "bc", body, content_type)
    assert answer["predictions"] == pipeline.predict(sample).tolist()
    np.testing.assert_allclose(answer["probabilities"], pipeline.predict_proba(sample), rtol=1e-9)
    assert answer["classes"] == [0, 1]
    assert answer["model_id"] == deployment.ctx.store.get_model_package("bc", 1).model_id


def test_single_object_is_one_prediction(deployment: Deployment) -> None:
    row = deployment.sample.iloc[[5]]
    answer = invoke_endpoint(deployment.ctx, "bc", json.dumps(_records(row)[0]).encode())
    assert answer["predictions"] == deployment.pipeline.predict(row).tolist()


def _record(deployment: Deployment, **changes: object) -> dict:
    record = _records(deployment.sample.iloc[:1])[0]
    for key, value in changes.items():
        if value is _DROP:
            del record[key]
        else:
            record[key] = value
    return record


_DROP = object()
_BIG = 11 * 1024 * 1024  # over the default 10 MiB limit


@pytest.mark.parametrize(
    ("make_body", "content_type", "status", "error", "fragment"),
    [
        (lambda d: b'[{"mean radius": 1.0,', "application/json", 400, InvalidInput, "line 1"),
        (
            lambda d: json.dumps([_record(d, clinic=_DROP)]).encode(),
            "application/json",
            400,
            InvalidInput,
            "Missing column(s) ['clinic']",
        ),
        (
            lambda d: json.dumps([_record(d, bogus=1)]).encode(),
            "application/json",
            400,
            InvalidInput,
            "Unexpected column(s) ['bogus']",
        ),
        (
            lambda d: json.dumps([_record(d, **{"mean radius": "abc"})]).encode(),
            "application/json",
            400,
            InvalidInput,
            "Column 'mean radius' must be a number; got row 0: 'abc'",
        ),
        (lambda d: b"", "application/json", 400, InvalidInput, "body is empty"),
        (lambda d: b"[]", "application/json", 400, InvalidInput, "zero rows"),
        (lambda d: b"[[1, 2]]", "application/json", 400, InvalidInput, "not a record"),
        (lambda d: b"1.0,2.0\n", "text/csv", 400, InvalidInput, "CSV line 1 has 2 fields"),
        (lambda d: b"<rows/>", "application/xml", 415, UnsupportedMediaType, "text/csv"),
        (lambda d: b" " * _BIG, "application/json", 413, PayloadTooLarge, "limit of 10485760"),
    ],
    ids=[
        "malformed-json",
        "missing-column",
        "extra-column",
        "wrong-type",
        "empty",
        "zero-rows",
        "not-records",
        "csv-width",
        "media-type",
        "too-large",
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_endpoint_survives(
    deployment: Deployment, make_body, content_type, status, error, fragment
) -> None:
    body = make_body(deployment)
    raw = httpx.post(
        f"{deployment.url}/invocations", content=body, headers={"Content-Type": content_type}
    )
    assert raw.status_code == status
    assert raw.json()["error"]["type"] == error.__name__
    assert fragment in raw.json()["error"]["message"]
    with pytest.raises(error) as info:
        invoke_endpoint(deployment.ctx, "bc", body, content_type)
    assert type(info.value) is error and fragment in info.value.message
    _good(deployment)


def test_small_limit_refuses_declared_and_chunked_bodies(deployment: Deployment) -> None:
    ctx = deployment.ctx
    with config_context(max_payload_bytes=2048):  # passed on to the server process
        endpoint = create_endpoint(ctx, "bc-small", "bc", deployment.approved.version)
    try:
        url = f"{endpoint.url}/invocations"
        headers = {"Content-Type": "application/json"}
        declared = httpx.post(url, content=b" " * 3000, headers=headers)
        assert declared.status_code == 413 and "(3000 bytes)" in declared.text
        chunked = httpx.post(url, content=iter([b" " * 1500, b" " * 1500]), headers=headers)
        assert chunked.status_code == 413 and "more than 2048 bytes" in chunked.text
        row = json.dumps(_records(deployment.sample.iloc[:1])).encode()
        assert len(row) < 2048
        assert httpx.post(url, content=row, headers=headers).status_code == 200
    finally:
        deleted = delete_endpoint(ctx, "bc-small", grace_seconds=5)
    assert deleted.status == EndpointStatus.DELETED
    assert not process_alive(endpoint.pid, endpoint.pid_started_at)


def test_unapproved_package_needs_force_and_a_killed_server_is_failed(
    deployment: Deployment,
) -> None:
    ctx, ref = deployment.ctx, deployment.pending.ref
    with pytest.raises(InvalidState) as info:
        create_endpoint(ctx, "bc-pending", "bc", deployment.pending.version)
    for part in (ref, "PendingManualApproval", f"siklus models approve {ref} --reason", "force"):
        assert part in info.value.message
    with pytest.raises(NotFound):
        ctx.store.get_endpoint("bc-pending")

    endpoint = create_endpoint(ctx, "bc-pending", "bc", deployment.pending.version, force=True)
    try:
        assert endpoint.status == EndpointStatus.IN_SERVICE
        body = json.dumps(_records(deployment.sample)).encode()
        answer = invoke_endpoint(ctx, "bc-pending", body)
        assert answer["predictions"] == deployment.pipeline.predict(deployment.sample).tolist()

        os.kill(endpoint.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(endpoint.pid, endpoint.pid_started_at) and time.monotonic() < deadline:
            time.sleep(0.05)
        described = describe_endpoint(ctx, "bc-pending")
        assert described.status == EndpointStatus.FAILED
        assert "server process died" in (described.failure_reason or "")
        assert {e.name: e.status for e in list_endpoints(ctx)}["bc-pending"] == "Failed"
        with pytest.raises(InvalidState, match=r"is Failed .*`siklus endpoints delete bc-pending`"):
            invoke_endpoint(ctx, "bc-pending", b"[]")
        _good(deployment)  # the other endpoint is untouched
    finally:
        deleted = delete_endpoint(ctx, "bc-pending", grace_seconds=5)
    assert deleted.status == EndpointStatus.DELETED
    assert "bc-pending" not in {e.name for e in list_endpoints(ctx)}


def test_start_failure_is_recorded_with_the_log(deployment: Deployment) -> None:
    ctx = deployment.ctx
    taken = describe_endpoint(ctx, "bc").port
    try:
        with pytest.raises(EndpointError) as info:
            create_endpoint(ctx, "bc-clash", "bc", deployment.approved.version, port=taken)
        message = info.value.message
        assert f"Cannot listen on 127.0.0.1:{taken}" in message
        assert "Last lines of its log" in message
        failed = describe_endpoint(ctx, "bc-clash")
        assert failed.status == EndpointStatus.FAILED
        assert "Cannot listen" in (failed.failure_reason or "")
    finally:
        delete_endpoint(ctx, "bc-clash", grace_seconds=5)
    _good(deployment)


def test_create_refuses_bad_names_taken_names_and_unknown_versions(
    deployment: Deployment,
) -> None:
    ctx = deployment.ctx
    with pytest.raises(AlreadyExists, match="siklus endpoints delete bc"):
        create_endpoint(ctx, "bc", "bc", deployment.approved.version)
    with pytest.raises(InvalidParameter, match=r"Endpoint name '\.\./x' is not valid"):
        create_endpoint(ctx, "../x", "bc")
    with pytest.raises(InvalidParameter, match="Port 70000 is out of range"):
        create_endpoint(ctx, "bc-port", "bc", port=70000)
    with pytest.raises(NotFound):
        create_endpoint(ctx, "bc-none", "bc", 99)
    with pytest.raises(NotFound):
        describe_endpoint(ctx, "nope")
