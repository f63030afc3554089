"""Serverless endpoints over a real socket: cold, warm, cold again; 429; bad payloads.

Expected predictions come from the fitted scikit-learn pipeline, in process.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from siklus.exceptions import AlreadyExists, InvalidInput, InvalidParameter, NotFound
from siklus.jobs import process_alive
from siklus.serving.serverless import (
    COLD_START_METRIC,
    METRIC_NAMESPACE,
    TooManyRequests,
    create_serverless_endpoint,
    delete_serverless_endpoint,
    describe_serverless_endpoint,
    invoke_serverless,
    list_serverless_endpoints,
)

from .._wait import wait_for

pytestmark = pytest.mark.slow  # starts a server process

NAME = "bc-sl"


def _records(frame: Any) -> bytes:
    return json.dumps(frame.to_dict(orient="records")).encode()


@pytest.fixture(scope="module")
def endpoint(model: Any) -> Iterator[dict[str, Any]]:
    record = create_serverless_endpoint(
        model.ctx, NAME, model.group, idle_timeout=1.0, max_concurrency=1
    )
    yield record
    delete_serverless_endpoint(model.ctx, NAME, grace_seconds=5)


def _ping(endpoint: dict[str, Any]) -> dict[str, Any]:
    return dict(httpx.get(f"{endpoint['url']}/ping").json())


def test_cold_then_warm_then_cold_after_idle(model: Any, endpoint: dict[str, Any]) -> None:
    ctx = model.ctx
    assert endpoint["status"] == "InService" and endpoint["model_state"] == "Unloaded"
    assert _ping(endpoint)["model_loaded"] is False  # launched without loading the model
    rows = model.features.iloc[:5]
    expected = model.pipeline.predict(rows).tolist()

    response = httpx.post(
        f"{endpoint['url']}/invocations",
        content=_records(rows),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["X-Siklus-Cold-Start"] == "1"
    assert float(response.headers["X-Siklus-Cold-Start-Ms"]) > 0
    assert response.json()["predictions"] == expected

    warm = invoke_serverless(ctx, NAME, _records(rows))
    assert warm["cold_start_ms"] is None and warm["predictions"] == expected

    # Idle past the timeout: unloaded, and the next request is cold again.
    wait_for(lambda: _ping(endpoint)["model_loaded"] is False)
    again = invoke_serverless(ctx, NAME, rows.to_csv(index=False).encode(), "text/csv")
    assert again["cold_start_ms"] is not None and again["predictions"] == expected

    def recorded() -> dict[str, Any] | None:
        # The record and the metric series are written one after the other, off the
        # request path: wait for both.
        described = describe_serverless_endpoint(ctx, NAME)
        both = described["cold_start"]["count"] == 2 and described["cold_starts"] == 2
        return described if both else None

    described = wait_for(recorded)
    assert described["cold_starts"] == 2 and described["model_state"] == "Loaded"
    assert described["cold_start"]["last_ms"] == pytest.approx(again["cold_start_ms"], abs=0.1)
    points = ctx.store.get_metric_data(
        METRIC_NAMESPACE, COLD_START_METRIC, dimensions={"endpoint": NAME}
    )
    assert len(points) == 2 and all(point.value > 0 for point in points)
    assert [e["name"] for e in list_serverless_endpoints(ctx)] == [NAME]


def test_excess_requests_get_429_with_retry_after(model: Any, endpoint: dict[str, Any]) -> None:
    host, port = endpoint["host"], endpoint["port"]
    body = _records(model.features.iloc[:2])
    # Hold the only slot: a request whose body arrives slowly stays in flight.
    held = socket.create_connection((host, port))
    try:
        held.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        wait_for(lambda: _ping(endpoint)["in_flight"] == 1)
        throttled = httpx.post(
            f"{endpoint['url']}/invocations",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"
        assert "max_concurrency of 1" in throttled.json()["error"]["message"]
        with pytest.raises(TooManyRequests, match="max_concurrency") as caught:
            invoke_serverless(model.ctx, NAME, body)
        assert caught.value.http_status == 429
        held.sendall(body[10:])
        answer = held.recv(65536).split(b"\r\n\r\n", 1)
        assert answer[0].startswith(b"HTTP/1.1 200")
    finally:
        held.close()
    ok = invoke_serverless(model.ctx, NAME, body)
    assert ok["predictions"] == model.pipeline.predict(model.features.iloc[:2]).tolist()


def test_bad_payloads_get_4xx_and_it_keeps_serving(model: Any, endpoint: dict[str, Any]) -> None:
    url = endpoint["url"]
    rows = model.features.iloc[:2]
    wrong_type = rows.astype(object)
    wrong_type.iloc[1, 0] = "big"
    bad = [
        (b'[{"mean radius": 1', "application/json", 400, "not valid JSON"),
        (_records(rows.drop(columns=["mean radius"])), "application/json", 400, "Missing column"),
        (_records(wrong_type), "application/json", 400, "mean radius"),
        (b"a,b\n1,2\n", "text/csv", 400, "fields"),
        (b"<xml/>", "application/xml", 415, "not supported"),
    ]
    for body, content_type, status, message in bad:
        response = httpx.post(
            f"{url}/invocations", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"]["message"]
    # A 100 MB body is refused from its Content-Length, before it is read.
    with socket.create_connection((endpoint["host"], endpoint["port"])) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n[{"
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 413")
    with pytest.raises(InvalidInput, match="Missing column"):
        invoke_serverless(model.ctx, NAME, _records(rows.drop(columns=["mean radius"])))
    assert invoke_serverless(model.ctx, NAME, _records(rows))["predictions"] == (
        model.pipeline.predict(rows).tolist()
    )


def test_create_checks_and_delete(model: Any, endpoint: dict[str, Any]) -> None:
    ctx = model.ctx
    with pytest.raises(AlreadyExists):
        create_serverless_endpoint(ctx, NAME, model.group)
    with pytest.raises(InvalidParameter, match="max_concurrency"):
        create_serverless_endpoint(ctx, "x", model.group, max_concurrency=0)
    with pytest.raises(InvalidParameter, match="idle_timeout"):
        create_serverless_endpoint(ctx, "x", model.group, idle_timeout=0)
    with pytest.raises(NotFound, match="siklus serverless list"):
        invoke_serverless(ctx, "x", b"[]")
    record = describe_serverless_endpoint(ctx, NAME)
    assert process_alive(record["pid"], record["pid_started_at"])
    deleted = delete_serverless_endpoint(ctx, NAME, grace_seconds=5)
    assert deleted["status"] == "Deleted"
    assert not process_alive(record["pid"], record["pid_started_at"])
    assert list_serverless_endpoints(ctx) == []


def test_runtime_auto_serves_a_verified_onnx_export(model: Any) -> None:
    """After ``export-onnx`` the default runtime is ONNX; "native" still forces scikit-learn."""
    import numpy as np

    from siklus.registry import export_onnx

    ctx = model.ctx
    assert export_onnx(ctx, f"{model.group}:1")["status"] == "exported"
    with pytest.raises(InvalidParameter, match="runtime must be one of"):
        create_serverless_endpoint(ctx, "x", model.group, runtime="tensorrt")
    rows = model.features.iloc[:9]
    for name, runtime, expected in (("sl-auto", "auto", "onnx"), ("sl-nat", "native", "native")):
        record = create_serverless_endpoint(ctx, name, model.group, runtime=runtime)
        try:
            assert record["runtime"] == expected
            answer = invoke_serverless(ctx, name, _records(rows))
            assert answer["cold_start_ms"] is not None
            assert answer["predictions"] == model.pipeline.predict(rows).tolist()
            np.testing.assert_allclose(
                answer["probabilities"], model.pipeline.predict_proba(rows), atol=1e-9
            )
        finally:
            delete_serverless_endpoint(ctx, name, grace_seconds=5)
