"""Batch transform throughput and memory against raw in-process ``model.predict``.

Builds, with a fixed seed, ``--rows`` (default 1,000,000) breast-cancer-like rows: real
breast-cancer rows drawn with replacement, each feature scaled by N(1, 0.02) noise, plus
an integer ``id``. Fits a logistic regression and a 100-tree random forest (each behind a
StandardScaler) on the real 569 rows, registers and approves both, and then, in one run:

1. **raw predict**: the fitted pipeline's ``predict`` on all rows in this process, already
   in memory as a pandas frame (one thread: no ``n_jobs``; the rows/s ceiling that batch
   transform is measured against). The best of three calls: the first call of a process
   also pays one-off costs (page faults, lazy imports) that would flatter batch transform.
   Next to it, **read + predict + write**: the same in one process from the stored
   Parquet file to a Parquet output (``id`` and ``prediction``), no job, no checks; the
   floor of any file-to-file batch scoring in Python, which shows where the input's I/O
   alone costs more than ``predict``;
2. **batch transform**: ``siklus.serving.batch.transform`` on the same rows stored as a
   dataset, ``--workers`` worker processes, ``--chunk-rows`` rows per chunk, predictions
   only (``probabilities=False``, like ``predict``) and again with class probabilities,
   with the native runtime (scikit-learn in every worker) and the ONNX runtime (the
   verified export through onnxruntime; what ``runtime="auto"`` picks).
   Its rows/s is end to end: from the call to the stored output dataset, including job
   start, worker spawn, model loading, reading, signature checks, writing and publishing.
   "start-up" is the job's time to its first finished chunk (spawning workers that import
   scikit-learn, loading the model) and "steady" the rate after it: start-up is paid once
   per job, so the steady rate is what a larger input approaches. "CPU s" is the CPU time
   of raw predict, and of the transform job with its workers (metered by the job): on a
   shared machine it is the fairer comparison when wall times are inflated by other load;
3. **memory**: the random forest transformed at two data sizes (``--rows / 4`` and
   ``--rows``, or the sizes given by ``--memory-rows``) with two chunk sizes; peak RSS
   (``VmHWM``) of the job process and of each worker, reported by the job. Bounded memory
   means the peaks follow the chunk size and level off as the data grows.

Outputs are checked: every id once, predictions equal to ``predict``.

Usage::

    .venv/bin/python benchmarks/batch_transform.py                  # 1M rows
    .venv/bin/python benchmarks/batch_transform.py --rows 200000    # quick
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

for _name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
    os.environ.pop(_name, None)

from _rows import breast_cancer_rows  # noqa: E402  (beside this script)

from siklus.data import read_frame, store_table  # noqa: E402
from siklus.registry import approve, get_onnx_export, register_model  # noqa: E402
from siklus.serving.batch import transform  # noqa: E402
from siklus.store import WorkspaceContext  # noqa: E402
from siklus.training import log_model  # noqa: E402

MB = 1024 * 1024


def register(ctx: WorkspaceContext, name: str, pipeline: Pipeline, x: pd.DataFrame) -> None:
    """Log, register (ONNX export included) and approve the fitted pipeline."""
    package = register_model(ctx, log_model(ctx, pipeline, x, name=name).id, name)
    approve(ctx, package.ref, reason="benchmark", by="bench")
    record = get_onnx_export(ctx, package)
    if record["status"] != "exported":
        raise SystemExit(f"{name} did not convert to ONNX: {record['reason']}")


def run_transform(ctx: WorkspaceContext, model: str, data: str, **options: Any) -> dict[str, Any]:
    started = time.perf_counter()
    bt = transform(ctx, model, data, f"{model}.scored", id_column="id", **options)
    seconds = time.perf_counter() - started
    if bt.status != "Completed":
        raise SystemExit(f"transform failed: {bt.failure_reason}")
    peaks = bt.outputs["peak_rss_bytes"]
    return {
        "cpu_s": ctx.store.get_job(bt.job_id).cpu_seconds or 0.0,
        "seconds": seconds,
        "rows_per_s": bt.rows_done / seconds,
        "startup_s": bt.outputs.get("startup_seconds") or 0.0,
        "steady_rows_per_s": bt.outputs.get("steady_rows_per_second") or 0.0,
        "job_mb": peaks["job"] / MB,
        "worker_mb": peaks["workers_max"] / MB,
        "total_mb": peaks["total"] / MB,
        "output": bt.output_dataset,
    }


def best_of(repeat: int, call: Any) -> tuple[Any, float, float]:
    """``call()``'s result, and its fastest wall and CPU seconds over ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return result, min(walls), min(cpus)


def read_predict_write(pipeline: Pipeline, source: Path, target: Path) -> None:
    """File to file in this process: the floor of any batch scoring (no job, no checks)."""
    frame = pq.read_table(source).to_pandas()
    predictions = pipeline.predict(frame.drop(columns="id"))
    pq.write_table(pa.table({"id": frame["id"], "prediction": predictions}), target)


def check_output(ctx: WorkspaceContext, ref: str, expected: np.ndarray) -> None:
    _, out = read_frame(ctx, ref)
    ids = out["id"].to_numpy()
    assert len(ids) == len(expected) and np.array_equal(np.sort(ids), np.arange(len(expected)))
    assert np.array_equal(out["prediction"].to_numpy(), expected[ids]), "predictions differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--memory-chunks", default="10000,100000")
    parser.add_argument(
        "--memory-rows",
        default="",
        help="Input sizes of the memory runs, comma-separated (default: --rows / 4 and --rows).",
    )
    args = parser.parse_args()
    bunch = load_breast_cancer(as_frame=True)
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
        "forest": make_pipeline(
            StandardScaler(), RandomForestClassifier(n_estimators=100, random_state=0)
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        ctx = WorkspaceContext.open(Path(tmp) / "ws")
        for name, pipeline in models.items():
            pipeline.fit(bunch.data, bunch.target)
            register(ctx, name, pipeline, bunch.data)
        frame = breast_cancer_rows(args.rows, with_id=True)
        x = frame.drop(columns="id")
        data, _ = store_table(ctx, pa.Table.from_pandas(frame, preserve_index=False), "rows",
                              source="benchmark")  # fmt: skip
        data_mb = x.memory_usage(index=False).sum() / MB
        print(
            f"{args.rows:,} rows x {x.shape[1]} features ({data_mb:.0f} MB in memory, "
            f"{data.size_bytes / MB:.0f} MB Parquet), {args.workers} workers, "
            f"{args.chunk_rows:,} rows per chunk, {os.cpu_count()} CPUs\n"
        )
        print(
            f"{'model':<8} {'path':<26} {'seconds':>8} {'rows/s':>10} {'vs raw':>7} "
            f"{'CPU s':>7} {'start-up s':>10} {'steady rows/s':>13} {'vs raw':>7}"
        )
        data_path = ctx.artifacts.local_path(data.sha256)
        goals: list[tuple[str, float, float]] = []
        for name, pipeline in models.items():
            expected, raw_s, raw_cpu = best_of(3, lambda p=pipeline, x=x: p.predict(x))
            raw = args.rows / raw_s
            print(
                f"{name:<8} {'raw pipeline.predict':<26} {raw_s:>8.2f} {raw:>10,.0f} {1:>7.2f} "
                f"{raw_cpu:>7.2f}"
            )
            _, floor_s, floor_cpu = best_of(
                2, lambda p=pipeline: read_predict_write(p, data_path, Path(tmp) / "floor.pq")
            )
            print(
                f"{name:<8} {'read + predict + write':<26} {floor_s:>8.2f} "
                f"{args.rows / floor_s:>10,.0f} {raw_s / floor_s:>7.2f} {floor_cpu:>7.2f}"
            )
            paths = [
                (f"{runtime} (predictions)" if not proba else "  + probabilities", runtime, proba)
                for runtime in ("native", "onnx")
                for proba in (False, True)
            ]
            for label, runtime, proba in paths:
                result = run_transform(
                    ctx, name, data.ref, workers=args.workers, chunk_rows=args.chunk_rows,
                    probabilities=proba, runtime=runtime,
                )  # fmt: skip
                check_output(ctx, result["output"], expected)
                print(
                    f"{name:<8} {label:<26} {result['seconds']:>8.2f} "
                    f"{result['rows_per_s']:>10,.0f} {result['rows_per_s'] / raw:>7.2f} "
                    f"{result['cpu_s']:>7.2f} {result['startup_s']:>10.2f} "
                    f"{result['steady_rows_per_s']:>13,.0f} "
                    f"{result['steady_rows_per_s'] / raw:>7.2f}"
                )
                if (runtime, proba) == ("onnx", False):  # what runtime "auto" runs
                    goals.append((name, result["rows_per_s"] / raw, raw_s / floor_s))
        for name, ratio, floor in goals:
            print(
                f"goal >= 0.8x raw predict end to end ({name}, default runtime): {ratio:.2f}x "
                f"-> {'met' if ratio >= 0.8 else 'NOT met'} (read + predict + write in one "
                f"process, no job: {floor:.2f}x)"
            )
        del x, frame
        sizes = [int(r) for r in args.memory_rows.split(",") if r] or [args.rows // 4, args.rows]
        versions = []
        for size in sizes:
            if size == args.rows:
                versions.append(data)
                continue
            table = pa.Table.from_pandas(
                breast_cancer_rows(size, with_id=True), preserve_index=False
            )
            version, _ = store_table(ctx, table, f"rows-{size}", source="benchmark")
            versions.append(version)
            del table
        print("\nPeak memory (VmHWM), random forest, predictions only (native):")
        print(
            f"{'rows':>10} {'chunk rows':>10} {'job MB':>8} {'worker MB':>10} "
            f"{'job+workers MB':>15} {'rows/s':>12}"
        )
        for chunk in [int(c) for c in args.memory_chunks.split(",")]:
            for version in versions:
                result = run_transform(
                    ctx, "forest", version.ref, workers=args.workers, chunk_rows=chunk,
                    probabilities=False, runtime="native",
                )  # fmt: skip
                print(
                    f"{version.row_count:>10,} {chunk:>10,} {result['job_mb']:>8.0f} "
                    f"{result['worker_mb']:>10.0f} {result['total_mb']:>15.0f} "
                    f"{result['rows_per_s']:>12,.0f}"
                )


if __name__ == "__main__":
    sys.exit(main())
