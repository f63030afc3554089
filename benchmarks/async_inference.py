"""Asynchronous inference of a payload by reference of hundreds of MB, against raw pandas.

Builds, with a fixed seed, ``--rows`` (default 1,000,000) breast-cancer-like rows (real
rows drawn with replacement, each feature scaled by N(1, 0.02) noise) and writes them as
one CSV file in the workspace (about 300 MB at 1 M rows). Fits a logistic regression
(behind a StandardScaler) on the real 569 rows, registers and approves it, and then:

1. **raw**: in this process, ``pandas.read_csv`` of the whole file, ``predict`` and
   ``predict_proba``, and ``json.dump`` of the answer (predictions, probabilities) to a
   file: what a script would do with the file, whole in memory;
2. **async endpoint**: ``create_async_endpoint`` (one worker), then
   ``invoke_async(input_location=<the CSV>)`` and ``get_async_result`` until Completed;
   the time from the call to the stored result, the worker process's peak resident
   memory (``VmHWM``, sampled every 50 ms while it runs) and the result file's size.

Each runs in its own process, so the peaks compare what each way of working holds.

The answers are checked: same row count, predictions equal to the raw ``predict``.

Usage::

    .venv/bin/python benchmarks/async_inference.py                 # 1M rows, ~300 MB
    .venv/bin/python benchmarks/async_inference.py --rows 200000   # quick
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

for _name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
    os.environ.pop(_name, None)

from _rows import breast_cancer_rows  # noqa: E402  (beside this script)

from siklus.registry import approve, register_model  # noqa: E402
from siklus.serving.asynchronous import (  # noqa: E402
    create_async_endpoint,
    delete_async_endpoint,
    describe_async_endpoint,
    get_async_result,
    invoke_async,
)
from siklus.store import WorkspaceContext  # noqa: E402
from siklus.training import log_model  # noqa: E402

MB = 1024 * 1024


def register(ctx: WorkspaceContext, name: str, pipeline, x: pd.DataFrame) -> None:
    """Log, register (ONNX export included) and approve the fitted pipeline."""
    package = register_model(ctx, log_model(ctx, pipeline, x, name=name).id, name)
    approve(ctx, package.ref, reason="benchmark", by="bench")


def _peak_kib(pid: int) -> int:
    """``VmHWM`` of ``pid`` in KiB (Linux), else its current RSS; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        return psutil.Process(pid).memory_info().rss // 1024
    except psutil.Error:
        return 0


class PeakWatcher:
    """Samples the peak memory of every process under ``root`` until stopped."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                children = psutil.Process(self.root).children(recursive=True)
            except psutil.Error:
                children = []
            for child in children:
                self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), _peak_kib(child.pid))
            time.sleep(0.05)

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def raw(path: Path, pipeline, out: Path) -> tuple[float, int, np.ndarray]:
    """Run in a fresh process: (seconds, its peak KiB, predictions)."""
    started = time.perf_counter()
    frame = pd.read_csv(path)
    predictions = pipeline.predict(frame)
    probabilities = pipeline.predict_proba(frame)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"predictions": predictions.tolist(), "probabilities": probabilities.tolist()},
                  handle)  # fmt: skip
    return time.perf_counter() - started, _peak_kib(os.getpid()), predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bunch = load_breast_cancer(as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    pipeline.fit(bunch.data, bunch.target)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = WorkspaceContext.open(Path(tmp) / "ws")
        register(ctx, "logreg", pipeline, bunch.data)
        path = ctx.root / "rows.csv"
        breast_cancer_rows(args.rows).to_csv(path, index=False, float_format="%.6g")
        size_mb = path.stat().st_size / MB
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            raw_s, raw_kib, expected = pool.submit(
                raw, path, pipeline, Path(tmp) / "raw.json"
            ).result()
        raw_peak = raw_kib / 1024
        record = create_async_endpoint(ctx, "bench", "logreg", max_workers=1)
        front = describe_async_endpoint(ctx, "bench")["pid"]
        try:
            with PeakWatcher(front) as watcher:
                started = time.perf_counter()
                queued = invoke_async(ctx, "bench", input_location=str(path))
                result = get_async_result(
                    ctx, "bench", queued["inference_id"], wait=3600, poll_interval=0.05
                )
                seconds = time.perf_counter() - started
            if result["status"] != "Completed":
                raise SystemExit(f"the inference ended {result['status']}: {result}")
            out = Path(result["output_location"])
            with open(out, encoding="utf-8") as handle:
                answer = json.load(handle)
            assert len(answer["predictions"]) == args.rows
            assert answer["predictions"] == expected.tolist(), "predictions differ"
        finally:
            delete_async_endpoint(ctx, "bench", grace_seconds=5)
        worker_mb = max(watcher.peaks.values(), default=0) / 1024
        print(
            f"{args.rows:,} rows x {bunch.data.shape[1]} columns, CSV {size_mb:.0f} MB by "
            f"reference; logistic regression; {os.cpu_count()} CPUs; endpoint {record['name']}"
        )
        print(f"{'path':<44} {'seconds':>8} {'rows/s':>10} {'peak MB':>8} {'result MB':>10}")
        print(
            f"{'raw: read_csv + predict + proba + json':<44} {raw_s:>8.2f} "
            f"{args.rows / raw_s:>10,.0f} {raw_peak:>8.0f} "
            f"{(Path(tmp) / 'raw.json').stat().st_size / MB:>10.0f}"
        )
        print(
            f"{'async endpoint (invoke -> Completed)':<44} {seconds:>8.2f} "
            f"{args.rows / seconds:>10,.0f} {worker_mb:>8.0f} {out.stat().st_size / MB:>10.0f}"
        )
        print("(peak MB: VmHWM of the process that did the work: a fresh one for raw; the")
        print(" biggest process under the endpoint's front, its worker, for async)")


if __name__ == "__main__":
    main()
