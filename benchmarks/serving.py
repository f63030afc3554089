"""Real-time endpoint speed: requests/s and latency next to raw in-process predict.

For a logistic regression and a 100-tree random forest (scikit-learn pipelines trained
on the breast cancer data), this script

1. times raw in-process ``pipeline.predict`` of one row (what a caller would pay without
   a server), and ``predict`` + ``predict_proba`` (what the endpoint computes and returns);
2. deploys the model as a siklus endpoint and measures the time from launch
   (``create_endpoint`` called) to the first answered request, cold (a new Python
   process imports everything) and through the warm host (``siklus endpoints host
   start``: a pre-imported process forks the endpoint);
   ("added p50 ms" is the endpoint's p50 at concurrency 1 minus raw ``predict``);
3. sends single-row JSON requests at concurrency 1 and 16 over keep-alive connections
   (a raw-socket client in threads, so the client costs little) and reports
   requests/s and p50/p99 latency;
4. does the same against ``mlflow models serve`` when ``mlflow`` is importable.

Run: ``.venv/bin/python benchmarks/serving.py [--seconds 3] [--workers 1]``.
The issue's goals: >= 1420 req/s at concurrency 16 for the logistic regression (20x
MLflow's 71), <= 1 ms added to raw predict at concurrency 1, first answer <= 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.registry import approve, get_onnx_export, register_model
from siklus.serving import create_endpoint, delete_endpoint, start_host, stop_host
from siklus.store import WorkspaceContext
from siklus.training import log_model


def _request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_response(stream: Any) -> int:
    status = int(stream.readline().split()[1])
    length = 0
    while True:
        line = stream.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    stream.read(length)
    return status


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by the endpoint's worker processes."""
    total = 0.0
    for child in psutil.Process(pid).children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def load(
    port: int, body: bytes, concurrency: int, seconds: float, server_pid: int | None = None
) -> dict[str, float]:
    """Closed-loop load: ``concurrency`` keep-alive connections, each sending back to back.

    With ``server_pid`` (the endpoint's supervisor), also the workers' CPU time per request:
    on a loaded machine this is the stable measure of what a request costs the server.
    """
    request = _request(port, body)
    cpu_before = _cpu_seconds(server_pid) if server_pid else 0.0
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start_gate = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        mine = latencies[i]
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            sock.sendall(request)
            if _read_response(stream) != 200:
                errors[i] += 1
            mine.append(time.perf_counter() - t0)
        sock.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    stop_at[0] = begin + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    cpu = _cpu_seconds(server_pid) - cpu_before if server_pid else float("nan")
    every = sorted(x for sub in latencies for x in sub)
    return {
        "cpu_ms": cpu * 1000 / max(1, len(every)),
        "rps": len(every) / elapsed,
        "p50_ms": every[len(every) // 2] * 1000,
        "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000,
        "errors": float(sum(errors)),
    }


def raw_cost(pipeline: Pipeline, row: pd.DataFrame, repeat: int = 300) -> tuple[float, ...]:
    """Median wall seconds of ``predict`` and of ``predict`` + ``predict_proba`` on one
    row, and the mean CPU seconds of ``predict``."""
    only, both = [], []
    cpu0 = time.process_time()
    for _ in range(repeat):
        pipeline.predict(row)
    cpu = (time.process_time() - cpu0) / repeat
    for _ in range(repeat):
        t0 = time.perf_counter()
        pipeline.predict(row)
        t1 = time.perf_counter()
        pipeline.predict_proba(row)
        t2 = time.perf_counter()
        only.append(t1 - t0)
        both.append(t2 - t0)
    return statistics.median(only), statistics.median(both), cpu


def deploy(
    ctx: WorkspaceContext,
    name: str,
    pipeline: Pipeline,
    features: pd.DataFrame,
    workers: int,
    runtime: str = "native",
) -> tuple[int, int, float]:
    """Register, launch, and return (port, seconds from launch to the first answer)."""
    model = log_model(ctx, pipeline, features, name=name)
    package = register_model(ctx, model.id, name, onnx=runtime == "onnx")
    approve(ctx, package.ref, reason="bench", by="bench")
    body = json.dumps(features.iloc[0].to_dict()).encode()
    if runtime == "onnx":
        record = get_onnx_export(ctx, package)
        if record["status"] != "exported":
            raise RuntimeError(f"{name} did not convert to ONNX: {record['reason']}")
    config = {"variants": [{"model": package.ref, "workers": workers, "runtime": runtime}]}
    launched = time.perf_counter()
    create_endpoint(ctx, name, config=config, wait=False)
    while (endpoint := ctx.store.get_endpoint(name)).port is None:
        if endpoint.status.value == "Failed":
            raise RuntimeError(endpoint.failure_reason)
        time.sleep(0.005)
    first = _first_answer(
        endpoint.port,
        body,
        launched,
        lambda: ctx.store.get_endpoint(name).status.value != "Failed",
        60.0,
    )
    assert endpoint.pid is not None
    return endpoint.port, endpoint.pid, first


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _first_answer(port: int, body: bytes, launched: float, alive: Any, timeout: float) -> float:
    """Seconds from ``launched`` until ``port`` answers ``body`` with 200."""
    while time.perf_counter() - launched < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(_request(port, body))
                if _read_response(sock.makefile("rb")) == 200:
                    return time.perf_counter() - launched
        except OSError:
            pass
        if not alive():
            raise RuntimeError("the server exited before answering")
        time.sleep(0.005)
    raise RuntimeError(f"no answer within {timeout:g} s")


def deploy_mlflow(
    folder: Path, name: str, pipeline: Pipeline, features: pd.DataFrame, workers: int
) -> tuple[int, subprocess.Popen[bytes], float, bytes]:
    """Save ``pipeline`` as an MLflow model, start ``mlflow models serve`` (local env) on it.

    Returns:
        (port, server process, seconds from launch to the first answer, request body).
    """
    import mlflow.sklearn

    path = folder / f"mlflow-{name}"
    # Our own freshly fitted model: trust the tree storage skops flags for files of
    # unknown origin.
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        input_example=features.head(2),
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", str(path),
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers),
    ]  # fmt: skip
    body = json.dumps(
        {"dataframe_split": json.loads(features.iloc[[0]].to_json(orient="split", index=False))}
    ).encode()
    # mlflow starts `uvicorn` by name: the interpreter's scripts folder must be on PATH.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log_path = folder / f"mlflow-{name}.log"
    launched = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        first = _first_answer(port, body, launched, lambda: proc.poll() is None, 120.0)
    except BaseException as exc:
        _stop(proc)
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"mlflow models serve failed ({exc}); its log ends:\n{tail}") from None
    return port, proc, first, body


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds per load level.")
    parser.add_argument("--workers", type=int, default=1, help="Endpoint worker processes.")
    parser.add_argument(
        "--no-mlflow", action="store_true", help="Skip MLflow even when it is importable."
    )
    args = parser.parse_args()
    bunch = load_breast_cancer(as_frame=True)
    features, target = bunch.data, bunch.target
    models = {
        "logistic-regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
        "random-forest-100": make_pipeline(
            RandomForestClassifier(n_estimators=100, random_state=0)
        ),
    }
    body = json.dumps(features.iloc[0].to_dict()).encode()
    row = features.iloc[[0]]
    with_mlflow = not args.no_mlflow and importlib.util.find_spec("mlflow") is not None
    rows = []
    firsts: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
            os.environ.pop(key, None)
        ctx = WorkspaceContext.open(Path(tmp) / "ws")
        for label, pipeline in models.items():
            pipeline.fit(features, target)
            predict_s, both_s, predict_cpu = raw_cost(pipeline, row)
            for runtime in ("native", "onnx"):
                server = "siklus" if runtime == "native" else "siklus-onnx"
                name = f"{label}-{runtime}"
                port, pid, first = deploy(ctx, name, pipeline, features, args.workers, runtime)
                firsts[(label, server)] = first
                try:
                    load(port, body, 4, 0.5)  # warm up
                    for concurrency in (1, 16):
                        result = load(port, body, concurrency, args.seconds, pid)
                        result["raw_cpu_ms"] = predict_cpu * 1000
                        rows.append((label, server, concurrency, result, predict_s, both_s))
                finally:
                    delete_endpoint(ctx, name, grace_seconds=5)
            if with_mlflow:
                port, proc, first, ml_body = deploy_mlflow(
                    Path(tmp), label, pipeline, features, args.workers
                )
                firsts[(label, "mlflow")] = first
                try:
                    load(port, ml_body, 4, 0.5)
                    for concurrency in (1, 16):
                        result = load(port, ml_body, concurrency, args.seconds, proc.pid)
                        result["raw_cpu_ms"] = predict_cpu * 1000
                        rows.append((label, "mlflow", concurrency, result, predict_s, both_s))
                finally:
                    _stop(proc)
        start_host(ctx)
        try:
            for label, pipeline in models.items():
                name = f"{label}-warm"
                _, _, firsts[(label, "siklus-host")] = deploy(
                    ctx, name, pipeline, features, args.workers
                )
                delete_endpoint(ctx, name, grace_seconds=5)
        finally:
            stop_host(ctx)
    print(
        f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
        f"{args.workers} worker(s); {args.seconds:g} s per level"
    )
    header = (
        f"{'model':<20} {'server':<11} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'raw predict ms':>14} {'raw +proba ms':>13} {'added p50 ms':>12} "
        f"{'errors':>6} {'srv cpu ms/req':>14} {'raw cpu ms':>10} {'req/s per core':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, server, concurrency, result, predict_s, both_s in rows:
        added = result["p50_ms"] - predict_s * 1000 if concurrency == 1 else float("nan")
        print(
            f"{label:<20} {server:<11} {concurrency:>4} {result['rps']:>8.0f} "
            f"{result['p50_ms']:>7.2f} {result['p99_ms']:>7.2f} {predict_s * 1000:>14.3f} "
            f"{both_s * 1000:>13.3f} {added:>12.3f} {int(result['errors']):>6} "
            f"{result['cpu_ms']:>14.3f} {result['raw_cpu_ms']:>10.3f} "
            f"{1000 / result['cpu_ms']:>14.0f}"
        )
    if not with_mlflow:
        print(
            "mlflow: not importable (or --no-mlflow); `mlflow models serve` was not measured. "
            "Issue reference: 71 req/s LR, 39 req/s forest at concurrency 16."
        )
    servers = ["siklus", "siklus-onnx", "siklus-host"] + (["mlflow"] if with_mlflow else [])
    print()
    print(f"{'launch -> first answer s':<24} " + " ".join(f"{s:>11}" for s in servers))
    for label in models:
        print(f"{label:<24} " + " ".join(f"{firsts[(label, s)]:>11.2f}" for s in servers))
    print("(siklus: new process, native; siklus-onnx: new process, ONNX runtime; siklus-host:")
    print(" native, forked by `siklus endpoints host start`)")
    print()
    by = {(label, server, c): r for label, server, c, r, *_ in rows}
    reference = {"logistic-regression": 71.0, "random-forest-100": 39.0}
    for label in models:
        base = by[(label, "mlflow", 16)]["rps"] if with_mlflow else reference[label]
        source = "measured here" if with_mlflow else "issue reference"
        for server in ("siklus", "siklus-onnx"):
            ratio = by[(label, server, 16)]["rps"] / base
            print(
                f"goal >= 20x MLflow req/s at concurrency 16 ({label}, {server}, MLflow "
                f"{base:.0f} req/s {source}): {ratio:.1f}x -> {'met' if ratio >= 20 else 'NOT met'}"
            )
    lr_raw = next(only for label, _, _, _, only, _ in rows if label == "logistic-regression")
    for server in ("siklus", "siklus-onnx"):
        added = by[("logistic-regression", server, 1)]["p50_ms"] - lr_raw * 1000
        print(
            f"goal <= 1 ms added at concurrency 1 (LR, {server}, p50 - raw predict): "
            f"{added:.3f} ms -> {'met' if added <= 1.0 else 'NOT met'}"
        )
    for server in ("siklus", "siklus-onnx", "siklus-host"):
        worst = max(firsts[(label, server)] for label in models)
        print(
            f"goal first answer <= 1 s after launch ({server}): {worst:.2f} s -> "
            f"{'met' if worst <= 1.0 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
