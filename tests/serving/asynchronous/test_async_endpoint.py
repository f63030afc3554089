"""Async endpoints end to end over a real socket: queue, workers, scale to zero, webhooks.

The expected predictions come from the fitted scikit-learn pipeline itself, in process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from siklus.exceptions import AlreadyExists, InvalidInput, InvalidParameter, NotFound
from siklus.jobs import process_alive
from siklus.serving import UnsupportedMediaType
from siklus.serving.asynchronous import (
    create_async_endpoint,
    delete_async_endpoint,
    describe_async_endpoint,
    get_async_result,
    invoke_async,
    list_async_endpoints,
    open_queue,
)

from .._wait import wait_for

pytestmark = pytest.mark.slow  # each endpoint starts a server and worker processes


def _records(frame: Any) -> bytes:
    return json.dumps(frame.to_dict(orient="records")).encode()


class _Hooks(BaseHTTPRequestHandler):
    """Records each POSTed JSON body; answers 503 to every first attempt (to test retries)."""

    received: list[dict[str, Any]] = []
    attempts: dict[str, int] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = f"{self.path}:{body['inference_id']}"
        self.attempts[key] = self.attempts.get(key, 0) + 1
        status = 503 if self.attempts[key] == 1 else 200
        if status == 200:
            self.received.append({"path": self.path, **body})
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    """A local HTTP server receiving the endpoint's webhooks."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def endpoint(model: Any, hooks: str) -> Iterator[dict[str, Any]]:
    record = create_async_endpoint(
        model.ctx,
        "bc-async",
        model.group,
        max_workers=2,
        worker_idle_timeout=1.0,
        visibility_timeout=2.0,
        success_webhook=f"{hooks}/ok",
        failure_webhook=f"{hooks}/failed",
    )
    yield record
    delete_async_endpoint(model.ctx, "bc-async", grace_seconds=5)


def test_inline_and_reference_round_trip_and_scale_to_zero(
    model: Any, endpoint: dict[str, Any]
) -> None:
    ctx, name = model.ctx, "bc-async"
    assert endpoint["status"] == "InService" and endpoint["url"].startswith("http://127.0.0.1:")
    rows = model.features.iloc[:7]
    ticket = invoke_async(ctx, name, _records(rows))
    assert ticket["status"] == "Queued"
    assert Path(ticket["output_location"]).is_relative_to(ctx.root / ".siklus")
    done = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert done["status"] == "Completed", done
    assert done["result"]["predictions"] == model.pipeline.predict(rows).tolist()
    assert done["rows"] == 7
    on_disk = json.loads(Path(done["output_location"]).read_text())
    assert on_disk["predictions"] == done["result"]["predictions"]

    # A payload by reference: the whole data set as CSV with a header, relative path.
    model.features.to_csv(ctx.root / "all.csv", index=False)
    ticket = invoke_async(ctx, name, input_location="all.csv")
    done = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert done["status"] == "Completed", done
    assert done["result"]["predictions"] == model.pipeline.predict(model.features).tolist()
    proba = model.pipeline.predict_proba(model.features)
    np.testing.assert_allclose(done["result"]["probabilities"], proba, rtol=1e-9)

    # A Parquet file by reference (told by its suffix), streamed in chunks by the worker.
    model.features.to_parquet(ctx.root / "all.parquet", index=False)
    ticket = invoke_async(ctx, name, input_location="all.parquet")
    done = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert done["status"] == "Completed", done
    assert done["result"]["predictions"] == model.pipeline.predict(model.features).tolist()

    # Idle workers exit: zero run, then the next request brings one back.
    wait_for(lambda: describe_async_endpoint(ctx, name)["workers"] == 0)
    assert describe_async_endpoint(ctx, name)["queue"]["Completed"] >= 2
    ticket = invoke_async(ctx, name, _records(rows.iloc[:1]))
    assert describe_async_endpoint(ctx, name)["workers"] >= 1
    done = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert done["result"]["predictions"] == model.pipeline.predict(rows.iloc[:1]).tolist()
    assert [e["name"] for e in list_async_endpoints(ctx)] == [name]


def test_bad_payloads_get_4xx_and_the_endpoint_keeps_serving(
    model: Any, endpoint: dict[str, Any], tmp_path: Path
) -> None:
    ctx, name, url = model.ctx, "bc-async", endpoint["url"]
    rows = model.features.iloc[:2]
    bad: list[tuple[bytes, str, int, str]] = [
        (b'[{"mean radius": 1,', "application/json", 400, "not valid JSON"),
        (_records(rows.drop(columns=["mean radius"])), "application/json", 400, "Missing column"),
        (b'{"input_location": "nowhere.csv"}', "application/json", 400, "does not exist"),
        (b'{"input_location": 5}', "application/json", 400, "non-empty string"),
        (b'{"input_location": "a.csv", "x": 1}', "application/json", 400, "remove ['x']"),
        (b"", "application/json", 400, "empty"),
        (b"<xml/>", "application/xml", 415, "not supported"),
    ]
    for body, content_type, status, message in bad:
        response = httpx.post(
            f"{url}/invocations", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"]["message"]
    # A 100 MB inline body is refused from its Content-Length, before it is read.
    with socket.create_connection((endpoint["host"], endpoint["port"])) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n[{"
        )
        answer = b""
        while b"input_location" not in answer and (chunk := sock.recv(65536)):
            answer += chunk  # headers and body may arrive in separate segments
        assert answer.startswith(b"HTTP/1.1 413") and b"input_location" in answer
    with pytest.raises(InvalidInput, match="Missing column"):
        invoke_async(ctx, name, _records(rows.drop(columns=["mean radius"])))
    with pytest.raises(InvalidInput, match="does not exist"):
        invoke_async(ctx, name, input_location=str(tmp_path / "missing.csv"))
    (tmp_path / "rows.txt").write_text("x")
    with pytest.raises(UnsupportedMediaType, match="suffix"):
        invoke_async(ctx, name, input_location=str(tmp_path / "rows.txt"))
    with pytest.raises(NotFound, match="No inference 'nope'"):
        get_async_result(ctx, name, "nope")
    assert httpx.get(f"{url}/nothing-here").status_code == 404

    # Not checkable at submit time (a referenced file): the result is Failed with the reason.
    rows.drop(columns=["mean radius"]).to_csv(tmp_path / "short.csv", index=False)
    ticket = invoke_async(ctx, name, input_location=str(tmp_path / "short.csv"))
    failed = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert failed["status"] == "Failed" and "mean radius" in failed["failure_reason"]
    assert "result" not in failed

    # Still serving.
    ticket = invoke_async(ctx, name, rows.to_csv(index=False).encode(), "text/csv")
    done = get_async_result(ctx, name, ticket["inference_id"], wait=60)
    assert done["result"]["predictions"] == model.pipeline.predict(rows).tolist()


def test_create_refuses_bad_settings_and_taken_names(model: Any, endpoint: dict[str, Any]) -> None:
    ctx = model.ctx
    with pytest.raises(AlreadyExists, match="bc-async"):
        create_async_endpoint(ctx, "bc-async", model.group)
    with pytest.raises(InvalidParameter, match="name"):
        create_async_endpoint(ctx, "bad name!", model.group)
    with pytest.raises(InvalidParameter, match="max_workers"):
        create_async_endpoint(ctx, "x", model.group, max_workers=0)
    with pytest.raises(InvalidParameter, match="Webhook"):
        create_async_endpoint(ctx, "x", model.group, success_webhook="ftp://x")
    with pytest.raises(InvalidParameter, match="not supported"):
        create_async_endpoint(ctx, "x", model.group, queue_url="kafka://x")
    with pytest.raises(InvalidParameter, match="exactly one"):
        invoke_async(ctx, "bc-async")
    with pytest.raises(NotFound, match="siklus async list"):
        describe_async_endpoint(ctx, "x")


def test_webhooks_are_retried_and_recorded(
    model: Any, endpoint: dict[str, Any], tmp_path: Path
) -> None:
    ctx, name = model.ctx, "bc-async"
    rows = model.features.iloc[10:14]
    good = invoke_async(ctx, name, _records(rows))
    rows.drop(columns=["worst area"]).to_csv(tmp_path / "bad.csv", index=False)
    bad = invoke_async(ctx, name, input_location=str(tmp_path / "bad.csv"))
    assert get_async_result(ctx, name, bad["inference_id"], wait=60)["status"] == "Failed"
    assert get_async_result(ctx, name, good["inference_id"], wait=60)["status"] == "Completed"
    ids = {good["inference_id"], bad["inference_id"]}

    def delivered() -> dict[str, dict[str, Any]]:
        hooks = {h["inference_id"]: h for h in _Hooks.received if h["inference_id"] in ids}
        return hooks if len(hooks) == 2 else {}

    by_id = wait_for(delivered)
    assert by_id[good["inference_id"]]["path"] == "/ok"
    assert by_id[good["inference_id"]]["status"] == "Completed"
    assert by_id[good["inference_id"]]["rows"] == 4
    assert by_id[bad["inference_id"]]["path"] == "/failed"
    assert "worst area" in by_id[bad["inference_id"]]["failure_reason"]
    assert all(_Hooks.attempts[f"{by_id[i]['path']}:{i}"] == 2 for i in ids)  # 503, then 200

    def recorded() -> bool:  # the worker records the delivery just after the answer
        events = ctx.store.list_events("async-endpoint", name)
        return ids <= {e.body["inference_id"] for e in events if e.body.get("delivered")}

    wait_for(recorded)


def test_a_request_whose_worker_died_is_processed_after_the_visibility_timeout(
    model: Any, endpoint: dict[str, Any]
) -> None:
    """A worker that claimed a request and died: here a claim the test takes and abandons."""
    ctx, name = model.ctx, "bc-async"
    record = describe_async_endpoint(ctx, name)
    rows = model.features.iloc[20:23]
    source = Path(record["inputs_dir"]) / "ghost.json"
    source.write_bytes(_records(rows))
    queue = open_queue(record["queue_url"])
    queue.put(
        "ghost",
        {
            "input_location": str(source),
            "content_type": "application/json",
            "output_location": str(Path(record["results_dir"]) / "ghost.json"),
        },
    )
    assert queue.claim("dead-worker", visibility_timeout=2.0).id == "ghost"
    queue.close()
    # The front sees work in progress and starts a worker, which takes the request over
    # once the dead worker's claim expires.
    done = get_async_result(ctx, name, "ghost", wait=60)
    assert done["status"] == "Completed" and done["attempts"] == 2
    assert done["result"]["predictions"] == model.pipeline.predict(rows).tolist()


def test_a_dead_front_is_reported_failed_and_can_be_deleted(
    model: Any, endpoint: dict[str, Any]
) -> None:
    """Runs last in this module: it kills the shared endpoint's front."""
    ctx, name = model.ctx, "bc-async"
    os.kill(endpoint["pid"], signal.SIGKILL)
    wait_for(lambda: not process_alive(endpoint["pid"], endpoint["pid_started_at"]))
    described = describe_async_endpoint(ctx, name)
    assert described["status"] == "Failed" and "died" in described["failure_reason"]
    deleted = delete_async_endpoint(ctx, name, grace_seconds=5)
    assert deleted["status"] == "Deleted"
    assert name not in [e["name"] for e in list_async_endpoints(ctx)]
