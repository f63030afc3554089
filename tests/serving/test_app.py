"""The endpoint ASGI app in-process (no socket): routes, limits, the error contract."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from starlette.applications import Starlette

from siklus.exceptions import InvalidInput, InvalidState, NotFound, PayloadTooLarge
from siklus.serving import EndpointError, UnsupportedMediaType, create_app
from siklus.serving._errors import error_from_answer
from siklus.training import LoadedModel, infer_signature

LIMIT = 4096


class _Exploding:
    """An estimator that fails in a way no validation foresees."""

    def predict(self, frame: pd.DataFrame) -> None:
        raise RuntimeError("the GPU caught fire")


@pytest.fixture
def loaded(bc_xy: tuple[pd.DataFrame, pd.Series], bc_pipeline: Pipeline) -> LoadedModel:
    features, _ = bc_xy
    manifest = {
        "input_signature": infer_signature(features),
        "classes": bc_pipeline.classes_.tolist(),
        "task": "binary_classification",
        "target": "target",
    }
    return LoadedModel("model-1", bc_pipeline, manifest)


class Client:
    """A synchronous face over httpx's in-process ASGI transport (no socket, no thread).

    Starlette's TestClient would do, but it now warns when used with httpx.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(call())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def client(loaded: LoadedModel) -> Client:
    return Client(create_app(loaded, max_payload_bytes=LIMIT, endpoint_name="unit"))


def _row(features: pd.DataFrame) -> dict:
    first = features.iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in first.items()}


def test_ping(client: Client) -> None:
    answer = client.get("/ping")
    assert answer.status_code == 200
    assert answer.json() == {"status": "healthy", "endpoint": "unit", "model_id": "model-1"}


def test_invocations_answer_shape(client: Client, bc_xy, bc_pipeline: Pipeline) -> None:
    features, _ = bc_xy
    answer = client.post("/invocations", json=[_row(features)])
    assert answer.status_code == 200
    body = answer.json()
    assert body["predictions"] == bc_pipeline.predict(features.iloc[:1]).tolist()
    assert body["classes"] == [0, 1]
    assert len(body["probabilities"][0]) == 2
    assert body["model_id"] == "model-1"


def test_chunked_body_over_limit_is_413(client: Client) -> None:
    # A generator has no Content-Length: the limit is enforced while the body streams.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    answer = client.post(
        "/invocations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["type"] == "PayloadTooLarge"
    assert f"limit of {LIMIT} bytes" in error["message"]


def test_declared_length_over_limit_is_413(client: Client) -> None:
    answer = client.post(
        "/invocations", content=b"[" + b" " * LIMIT + b"]", headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 413
    assert f"({LIMIT + 2} bytes)" in answer.json()["error"]["message"]


def test_unexpected_error_is_500_and_server_keeps_serving(
    loaded: LoadedModel, bc_xy, caplog: pytest.LogCaptureFixture
) -> None:
    features, _ = bc_xy
    broken = LoadedModel("model-x", _Exploding(), loaded.manifest)
    app = create_app(broken, max_payload_bytes=LIMIT, endpoint_name="broken")
    client = Client(app)
    answer = client.post("/invocations", json=[_row(features)])
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["type"] == "RuntimeError"
    assert "the GPU caught fire" in error["message"]
    assert "unexpected error" in caplog.text
    assert client.get("/ping").status_code == 200


def test_routing_errors_use_the_json_error_shape(client: Client) -> None:
    missing = client.get("/predict")
    assert missing.status_code == 404
    assert "GET /ping and POST /invocations" in missing.json()["error"]["message"]
    wrong_method = client.get("/invocations")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "HTTPException"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": {"type": "InvalidInput", "message": "bad"}}, InvalidInput),
        (413, {"error": {"type": "PayloadTooLarge", "message": "big"}}, PayloadTooLarge),
        (415, {"error": {"type": "UnsupportedMediaType", "message": "x"}}, UnsupportedMediaType),
        (409, None, InvalidState),
        (404, {"error": {"type": "HTTPException", "message": "nope"}}, NotFound),
        (418, "teapot", InvalidInput),
        (500, {"error": {"type": "RuntimeError", "message": "boom"}}, EndpointError),
    ],
)
def test_error_from_answer_rebuilds_the_class(status: int, body, expected: type) -> None:
    error = error_from_answer(status, json.loads(json.dumps(body)), "fallback")
    assert type(error) is expected
    assert error.message == (body["error"]["message"] if isinstance(body, dict) else "fallback")
