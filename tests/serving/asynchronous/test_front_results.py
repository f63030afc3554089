"""``GET /results/{id}`` of the async front, in process (httpx's ASGI transport): what it
inlines from a result file the worker wrote."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx

from siklus.serving.asynchronous import open_queue
from siklus.serving.asynchronous._front import create_app
from siklus.serving.asynchronous._io import ResultWriter
from siklus.store import WorkspaceContext


class _NoWorkers:
    def scale(self, backlog: int) -> int:
        return 0

    def alive(self) -> int:
        return 0


def _get(app: Any, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
            return await client.get(path)

    return asyncio.run(call())


def test_a_result_with_infinite_predictions_is_inlined(tmp_path: Path) -> None:
    """A regressor's prediction overflows to infinity on large finite input. The result
    file holds it as ``json.dumps`` writes it (``Infinity``, as the real-time endpoints
    answer), and ``GET /results`` returns it instead of failing with a 500."""
    ctx = WorkspaceContext.open(tmp_path / "ws")
    results = tmp_path / "results"
    record = {"name": "reg", "inputs_dir": str(tmp_path / "in"), "results_dir": str(results)}
    queue = open_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    try:
        out = results / "i1.json"
        queue.put("i1", {"input_location": "x.csv", "content_type": "text/csv",
                         "output_location": str(out)})  # fmt: skip
        assert queue.claim("w", visibility_timeout=60).id == "i1"
        with ResultWriter(out) as writer:
            writer.add({"predictions": [math.inf, 1.5, -math.inf]})
            writer.commit(model_id="m", inference_id="i1")
        assert queue.complete("i1", "w", {"rows": 3})
        app = create_app(ctx, record, queue, _NoWorkers(), [])  # type: ignore[arg-type]
        answer = _get(app, "/results/i1")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "Completed" and body["rows"] == 3
        assert body["result"] == {"predictions": [math.inf, 1.5, -math.inf], "model_id": "m",
                                  "inference_id": "i1"}  # fmt: skip
    finally:
        queue.close()
