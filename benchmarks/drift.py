"""Drift + data-quality run over 1,000,000 rows x 100 columns, against pandas + SciPy.

Builds, with fixed seeds, a baseline table and a current table of ``--rows`` rows and
``--columns`` columns (70% Fractional, 20% Integral, 10% String with 5-40 categories,
1% missing cells in every tenth column) where the current table has injected shifts in
a few columns. Stores both as dataset versions and the baseline as a monitoring
baseline (timed, but not part of the comparison), then, each in a fresh process
(``spawn``, so the peak memory is that run's own):

1. **siklus**: ``run_monitoring(dataset=current, kinds=[data_quality, data_drift])``
   against the stored baseline: the six checks and PSI / KS / chi-square /
   Jensen-Shannon / Wasserstein per column, reports written, metrics emitted;
2. **pandas + SciPy**: both tables read with ``pandas.read_parquet``, then per column
   ``scipy.stats.ks_2samp``, ``scipy.stats.wasserstein_distance``, PSI on the baseline's
   deciles with ``numpy.histogram``, ``scipy.spatial.distance.jensenshannon``,
   ``scipy.stats.chi2_contingency`` on ``value_counts``, and the completeness / type /
   domain checks with pandas.

Prints seconds and peak RSS (``VmHWM``) of each, and how far siklus' statistics are from
SciPy's (siklus compares with the baseline's 1,024-value quantile sketch rather than the
1,000,000 baseline values, so KS and Wasserstein agree to about 1/1024).

Usage::

    .venv/bin/python benchmarks/drift.py                      # 1M rows x 100 columns
    .venv/bin/python benchmarks/drift.py --rows 100000        # quick
    .venv/bin/python benchmarks/drift.py --skip-reference     # siklus only
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

for _name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
    os.environ.pop(_name, None)

MB = 1024 * 1024


def column_kinds(columns: int) -> list[str]:
    kinds = []
    for i in range(columns):
        if i % 10 == 9:
            kinds.append("string")
        elif i % 10 in (7, 8):
            kinds.append("int")
        else:
            kinds.append("float")
    return kinds


def make_table(rows: int, columns: int, seed: int, *, shifted: bool) -> pa.Table:
    """Seeded synthetic data; ``shifted`` scales c0, moves c1, skews the categories of c9."""
    arrays, names = [], []
    for i, kind in enumerate(column_kinds(columns)):
        rng = np.random.default_rng([seed, i])
        mask = (rng.random(rows) < 0.01) if i % 10 == 3 else None
        if kind == "float":
            values = rng.normal(i % 7, 1 + i % 3, rows)
            if shifted and i == 0:
                values = values * 1.5
            if shifted and i == 1:
                values = values + 0.5
            arrays.append(pa.array(values, mask=mask))
        elif kind == "int":
            arrays.append(pa.array(rng.poisson(3 + i % 5, rows).astype(np.int64), mask=mask))
        else:
            k = 5 + (i * 7) % 36
            p = np.arange(1, k + 1, dtype=float)[::-1]
            if shifted and i == 9:
                p = p[::-1]
            codes = rng.choice(k, size=rows, p=p / p.sum())
            labels = pa.array([f"cat_{j:02d}" for j in range(k)])
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes), labels).cast(pa.string()))
        names.append(f"c{i}")
    return pa.table(arrays, names=names)


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_siklus(root: str, threads: int | None) -> dict[str, Any]:
    from siklus.monitoring import run_monitoring
    from siklus.store import WorkspaceContext

    ctx = WorkspaceContext.open(root)
    ctx.store  # noqa: B018 (open the database before the clock starts, as a job has)
    start, cpu = time.perf_counter(), time.process_time()
    result = run_monitoring(
        ctx,
        baseline="bench",
        dataset="current",
        kinds=["data_quality", "data_drift"],
        threads=threads,
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_mb": peak_rss_mb(),
        "violations": len(result.violations),
        "drifted": result.drifted_features,
        "stats": {d.feature: d.statistics for d in result.drift},
    }


def run_reference(baseline_path: str, current_path: str) -> dict[str, Any]:
    import pandas as pd
    from scipy import stats
    from scipy.spatial import distance

    start, cpu = time.perf_counter(), time.process_time()
    base = pd.read_parquet(baseline_path)
    cur = pd.read_parquet(current_path)
    out: dict[str, dict[str, float]] = {}
    problems = 0
    for name in base.columns:
        b, c = base[name], cur[name]
        if c.isna().mean() > b.isna().mean() + 0.01:
            problems += 1
        if b.dtype.kind not in "fiu":
            domain = set(b.dropna().unique())
            if (~c.dropna().isin(domain)).mean() > 0.1:
                problems += 1
            vb, vc = b.value_counts(), c.value_counts()
            keys = sorted(set(vb.index) | set(vc.index))
            table = np.array([[vb.get(k, 0) for k in keys], [vc.get(k, 0) for k in keys]])
            chi = stats.chi2_contingency(table)
            p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
            pe, qe = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
            out[name] = {
                "chi_square": float(chi.statistic),
                "jensen_shannon": float(distance.jensenshannon(p, q, base=2)),
                "psi": float(np.sum((qe - pe) * np.log(qe / pe))),
            }
            continue
        if c.dtype.kind != b.dtype.kind and not (b.dtype.kind == "f" and c.dtype.kind in "iu"):
            problems += 1
        bv, cv = b.dropna().to_numpy(float), c.dropna().to_numpy(float)
        edges = np.unique(np.quantile(bv, np.arange(1, 10) / 10))
        edges = edges[edges > bv.min()]
        bins = [-np.inf, *edges, np.inf]
        p = np.histogram(bv, bins)[0] / len(bv)
        q = np.histogram(cv, bins)[0] / len(cv)
        pe, qe = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
        out[name] = {
            "ks": float(stats.ks_2samp(bv, cv).statistic),
            "wasserstein": float(stats.wasserstein_distance(bv, cv)) / float(bv.std()),
            "psi": float(np.sum((qe - pe) * np.log(qe / pe))),
            "jensen_shannon": float(distance.jensenshannon(p, q, base=2)),
        }
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "peak_mb": peak_rss_mb(),
        "problems": problems,
        "stats": out,
    }


def in_fresh_process(function: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="default: CPUs")
    parser.add_argument("--workspace", default=None, help="default: a temporary folder")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    from siklus.data import store_table
    from siklus.monitoring import build_baseline
    from siklus.store import WorkspaceContext

    folder = args.workspace or tempfile.mkdtemp(prefix="siklus-drift-bench-")
    ctx = WorkspaceContext.open(Path(folder) / "ws")
    print(f"{args.rows:,} rows x {args.columns} columns, {os.cpu_count()} CPUs; workspace {folder}")
    start = time.perf_counter()
    base_version, _ = store_table(
        ctx, make_table(args.rows, args.columns, 0, shifted=False), "baseline", source="bench"
    )
    cur_version, _ = store_table(
        ctx, make_table(args.rows, args.columns, 1, shifted=True), "current", source="bench"
    )
    print(f"data generated and stored in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    build_baseline(ctx, base_version.ref, "bench", threads=args.threads)
    print(f"baseline job body (build_baseline) in {time.perf_counter() - start:.1f} s")

    ours = in_fresh_process(run_siklus, str(ctx.root), args.threads)
    rows = [("siklus run_monitoring", ours["seconds"], ours["cpu_seconds"], ours["peak_mb"])]
    print(f"siklus: {ours['violations']} violations, drifted {ours['drifted']}")
    if not args.skip_reference:
        ref = in_fresh_process(
            run_reference,
            str(ctx.artifacts.local_path(base_version.sha256)),
            str(ctx.artifacts.local_path(cur_version.sha256)),
        )
        rows.append(("pandas + SciPy", ref["seconds"], ref["cpu_seconds"], ref["peak_mb"]))
    with open("/proc/loadavg", encoding="utf-8") as handle:
        load = handle.read().split()[0]
    print(f"\n(load average {load} on {os.cpu_count()} CPUs when the runs ended)")
    print(f"| {'run':<24} | {'wall s':>8} | {'CPU s':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 26}|{'-' * 10}|{'-' * 10}|{'-' * 13}|")
    for name, seconds, cpu_seconds, peak in rows:
        print(f"| {name:<24} | {seconds:>8.2f} | {cpu_seconds:>8.2f} | {peak:>11.0f} |")
    if args.skip_reference:
        return
    print(f"\nspeed-up: {ref['seconds'] / ours['seconds']:.1f}x")
    print("\nlargest difference, siklus vs SciPy, over all columns:")
    mine_key = {"wasserstein": "wasserstein_normalized"}
    for key, unit in (
        ("ks", "absolute"),
        ("wasserstein", "in baseline standard deviations"),
        ("psi", "absolute"),
        ("jensen_shannon", "absolute"),
        ("chi_square", "relative"),
    ):
        diffs = []
        for name, theirs in ref["stats"].items():
            mine = ours["stats"].get(name, {}).get(mine_key.get(key, key))
            if key in theirs and mine is not None:
                scale = max(abs(theirs[key]), 1e-12) if unit == "relative" else 1.0
                diffs.append(abs(mine - theirs[key]) / scale)
        if diffs:
            print(f"  {key:<15} {max(diffs):.2e} ({unit}, {len(diffs)} columns)")


if __name__ == "__main__":
    main()
