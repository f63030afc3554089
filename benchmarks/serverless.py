"""Serverless cold starts and async round trips, next to raw in-process ``predict``.

For a logistic regression and a 100-tree random forest (breast cancer, 30 features), on
a fresh workspace in a temporary folder, measures:

- raw: ``model.predict`` of one row in process (median), and loading the model in a
  process whose libraries are already imported;
- serverless: launch → first answer (``create_serverless_endpoint`` until the first
  prediction is back, cold start included; goal < 1 s), the cold-start load time the
  server reported, warm single-row latency over a kept-alive HTTP connection (p50/p99
  over sequential requests), and a
  second cold start after the idle timeout unloaded the model;
- async: round trip of one single-row request over HTTP (submit → result fetched): the first one
  (a worker is started), warm ones (p50, a worker alive), and one after the workers
  scaled to zero.

Usage:
    python benchmarks/serverless.py [--requests 200]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.registry import approve, register_model
from siklus.serving.asynchronous import (
    create_async_endpoint,
    delete_async_endpoint,
    describe_async_endpoint,
)
from siklus.serving.serverless import (
    create_serverless_endpoint,
    delete_serverless_endpoint,
    invoke_serverless,
)
from siklus.store import WorkspaceContext
from siklus.training import load_model, log_model


def _ms(seconds: float) -> float:
    return seconds * 1000


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def _register(ctx: WorkspaceContext, name: str, estimator: Any) -> None:
    """Fit on breast cancer, then log, register (ONNX export included) and approve."""
    bunch = load_breast_cancer(as_frame=True)
    pipeline = make_pipeline(StandardScaler(), estimator).fit(bunch.data, bunch.target)
    model = log_model(ctx, pipeline, bunch.data, name=name)
    package = register_model(ctx, model.id, name)
    approve(ctx, package.ref, reason="bench", by="bench")


def _wait(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def bench_model(
    ctx: WorkspaceContext, name: str, requests: int, runtime: str = "native"
) -> dict[str, float]:
    bunch = load_breast_cancer(as_frame=True)
    row = bunch.data.iloc[:1]
    body = json.dumps(row.to_dict(orient="records")).encode()
    out: dict[str, float] = {}

    load_s, loaded = _timed(lambda: load_model(ctx, ctx.store.get_model(_model_id(ctx, name))))
    out["raw load (libs imported)"] = _ms(load_s)
    raw = [_timed(lambda: loaded.predict(row))[0] for _ in range(requests)]
    out["raw predict 1 row p50"] = _ms(statistics.median(raw))

    # Serverless: launch → first answer (through the Python API), then a plain HTTP client
    # with a kept-alive connection, as a service calling the endpoint would use.
    ep = f"{name}-{runtime}-sl"
    started = time.perf_counter()
    record = create_serverless_endpoint(
        ctx, ep, name, idle_timeout=1.0, max_concurrency=4, runtime=runtime
    )
    in_service = time.perf_counter()
    first = invoke_serverless(ctx, ep, body)
    out["serverless launch -> InService"] = _ms(in_service - started)
    out["serverless launch -> first answer"] = _ms(time.perf_counter() - started)
    out["serverless cold start (reported)"] = first["cold_start_ms"]
    headers = {"Content-Type": "application/json"}
    with (
        contextlib.closing(_Cleanup(lambda: delete_serverless_endpoint(ctx, ep))),
        httpx.Client(base_url=record["url"], timeout=60.0) as client,
    ):
        warm = [
            _timed(lambda: client.post("/invocations", content=body, headers=headers))[0]
            for _ in range(requests)
        ]
        out["serverless warm p50"] = _ms(statistics.median(warm))
        out["serverless warm p99"] = _ms(_pct(warm, 0.99))
        _wait(lambda: client.get("/ping").json()["model_loaded"] is False)
        again_s, again = _timed(lambda: client.post("/invocations", content=body, headers=headers))
    out["serverless 2nd cold request"] = _ms(again_s)
    out["serverless 2nd cold start (reported)"] = float(again.headers["X-Siklus-Cold-Start-Ms"])

    if runtime != "native":  # the async workers serve natively; measured once per model
        return out
    # Async: round trips of one single-row request (submit, then poll the result every 2 ms).
    ep = f"{name}-async"
    record = create_async_endpoint(ctx, ep, name, max_workers=1, worker_idle_timeout=1.0)
    with (
        contextlib.closing(_Cleanup(lambda: delete_async_endpoint(ctx, ep))),
        httpx.Client(base_url=record["url"], timeout=60.0) as client,
    ):
        _async_round_trips(ctx, ep, client, body, requests, out)
    return out


def _async_round_trips(
    ctx: WorkspaceContext,
    ep: str,
    client: httpx.Client,
    body: bytes,
    requests: int,
    out: dict[str, float],
) -> None:
    headers = {"Content-Type": "application/json"}

    def round_trip() -> float:
        started = time.perf_counter()
        ticket = client.post("/invocations", content=body, headers=headers).json()
        while True:
            done = client.get(f"/results/{ticket['inference_id']}").json()
            if done["status"] in ("Completed", "Failed"):
                break
            time.sleep(0.002)
        assert done["status"] == "Completed", done
        return time.perf_counter() - started

    out["async first round trip (starts a worker)"] = _ms(round_trip())
    trips = [round_trip() for _ in range(max(10, requests // 10))]
    out["async warm round trip p50"] = _ms(statistics.median(trips))
    _wait(lambda: describe_async_endpoint(ctx, ep).get("workers") == 0)
    out["async round trip from zero workers"] = _ms(round_trip())


class _Cleanup:
    """Runs ``action`` on ``close()``: endpoints are deleted even when a step fails."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self.close = action


def _model_id(ctx: WorkspaceContext, group: str) -> str:
    return ctx.store.get_model_package(group, None).model_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = WorkspaceContext.open(Path(tmp) / "ws")
        models = {
            "logreg": LogisticRegression(max_iter=2000),
            "forest": RandomForestClassifier(n_estimators=100, random_state=0),
        }
        results = {}
        for name, estimator in models.items():
            _register(ctx, name, estimator)
            results[name] = bench_model(ctx, name, args.requests)
            # The same version through its ONNX export (what runtime "auto" picks, since
            # registration exported it): no scikit-learn import in the server process.
            results[f"{name}-onnx"] = bench_model(ctx, name, args.requests, runtime="onnx")
    rows = list(next(iter(results.values())))
    width = max(len(r) for r in rows) + 2
    print(f"{'ms':<{width}}" + "".join(f"{name:>13}" for name in results))
    for row in rows:
        cells = (results[n].get(row, float("nan")) for n in results)
        print(f"{row:<{width}}" + "".join(f"{cell:>13.1f}" for cell in cells))
    print("goal: serverless launch -> first answer (cold start included) < 1000 ms")
    for name, result in results.items():
        first = result["serverless launch -> first answer"]
        print(f"  {name:<14} {first:7.0f} ms -> {'met' if first < 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
