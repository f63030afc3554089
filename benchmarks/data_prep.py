"""Data preparation at scale: a 10-step recipe (DuckDB, streaming) against the same steps in pandas.

Generates a seeded CSV (numeric, categorical, string, date and nullable columns) with
DuckDB, streaming from ``range()`` so no more than a chunk of rows is ever in memory,
then runs, each in its own process so their memory peaks cannot mix:

- **recipe**: ``run_recipe`` on the CSV file, a ``recipe`` job under a DuckDB
  ``memory_limit`` (peak RSS measured by the job's own metering, VmHWM);
- **pandas**: ``read_csv`` → the same ten steps → ``to_parquet`` (peak RSS = the worker's
  VmHWM).

and prints rows/s and peak memory for both, next to the CSV size and pandas' own in-memory
size of the frame. Both outputs are checked to agree on row count and a few statistics.

Usage::

    .venv/bin/python benchmarks/data_prep.py                 # 10 million rows
    .venv/bin/python benchmarks/data_prep.py --rows 200000   # quick
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SALT = "benchmark-salt"
CATEGORIES = ["retail", "online", "wholesale", "partner", "kiosk", "phone", "mail", "app",
              "store", "outlet", "export", "other"]  # fmt: skip

# The ten steps, written once for the recipe; `pandas_steps` mirrors them one by one.
STEPS: list[dict[str, Any]] = [
    {"step": "filter", "expression": "age IS NULL OR age >= 21"},
    {"step": "fill_missing", "column": "amount", "strategy": "median"},
    {"step": "fill_missing", "column": "age", "strategy": "mode"},
    {"step": "clip_outliers_iqr", "column": "amount"},
    {"step": "log_transform", "column": "amount"},
    {"step": "scale_standard", "columns": ["score", "age"]},
    {"step": "one_hot", "column": "category"},
    {"step": "date_parts", "column": "signup", "parts": ["year", "month", "dow"]},
    {"step": "trim", "column": "name"},
    {"step": "hash", "column": "email", "salt": SALT},
]


def generate_csv(path: Path, rows: int, seed: int) -> None:
    """Write ``rows`` seeded rows as CSV with DuckDB, streaming (bounded memory).

    Randomness is ``hash(row number, seed)``, not ``random()``, so the file is the same
    whatever the number of threads.
    """
    import duckdb

    def u(k: int) -> str:  # uniform [0, 1) from the row number, column key k and the seed
        return f"((hash(i, {seed}, {k}) % 1000000007) / 1000000007.0)"

    categories = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    query = f"""
        SELECT
            i AS id,
            CASE WHEN {u(1)} < 0.05 THEN NULL
                 ELSE round(exp(3 + 1.2 * ({u(2)} + {u(3)} + {u(4)} - 1.5) * 2), 2) END AS amount,
            CASE WHEN {u(5)} < 0.03 THEN NULL
                 ELSE 16 + CAST(floor({u(6)} * 70) AS INTEGER) END AS age,
            round(({u(7)} + {u(8)} + {u(9)} + {u(10)} - 2) * 1.7, 4) AS score,
            {categories}[1 + CAST(floor(pow({u(11)}, 2) * 12) AS INTEGER)] AS category,
            'city_' || CAST(floor({u(12)} * 50) AS INTEGER) AS city,
            CASE WHEN {u(13)} < 0.5 THEN '  ' ELSE '' END || 'Name ' || CAST(i % 100003 AS VARCHAR)
                || CASE WHEN {u(14)} < 0.5 THEN ' ' ELSE '' END AS name,
            'user' || CAST(i AS VARCHAR) || '@example.com' AS email,
            DATE '2015-01-01' + CAST(floor({u(15)} * 3650) AS INTEGER) AS signup,
            CASE WHEN {u(16)} < 0.1 THEN NULL WHEN {u(17)} < 0.5 THEN 'yes' ELSE 'no' END AS flag
        FROM range({rows}) t(i)
    """
    con = duckdb.connect(config={"memory_limit": "512MB", "preserve_insertion_order": True})
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT csv, HEADER)")
    con.close()


# -- the pandas side ------------------------------------------------------------------------------


def pandas_steps(df: Any) -> Any:
    """The ten recipe steps in pandas (same statistics: median/quantile linear, std ddof=1)."""
    import numpy as np
    import pandas as pd

    df = df[df["age"].isna() | (df["age"] >= 21)].reset_index(drop=True)
    df["amount"] = df["amount"].fillna(df["amount"].median())
    df["age"] = df["age"].fillna(df["age"].mode()[0])
    q1, q3 = df["amount"].quantile(0.25), df["amount"].quantile(0.75)
    df["amount"] = df["amount"].clip(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
    df["amount"] = np.log1p(df["amount"])
    for column in ("score", "age"):
        df[column] = (df[column] - df[column].mean()) / df[column].std()
    dummies = pd.get_dummies(df["category"], prefix="category", dtype="int32")
    df = pd.concat([df.drop(columns="category"), dummies], axis=1)
    signup = pd.to_datetime(df["signup"])
    df["signup_year"] = signup.dt.year
    df["signup_month"] = signup.dt.month
    df["signup_dow"] = signup.dt.day_of_week
    df["name"] = df["name"].str.strip()
    df["email"] = [hashlib.sha256((SALT + e).encode()).hexdigest() for e in df["email"]]
    return df


def pandas_worker(csv: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    started = time.perf_counter()
    df = pd.read_csv(csv, parse_dates=["signup"])
    in_memory = int(df.memory_usage(deep=True).sum())
    df = pandas_steps(df)
    df.to_parquet(out, index=False, compression="zstd")
    return {
        "seconds": time.perf_counter() - started,
        "rows_out": len(df),
        "frame_bytes": in_memory,
        "peak_rss": _own_peak_rss(),
        "amount_mean": float(df["amount"].mean()),
        "age_std": float(df["age"].std()),
    }


def _own_peak_rss() -> int:
    """This process' peak RSS (VmHWM), in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the recipe side ------------------------------------------------------------------------------


def recipe_worker(
    csv: Path, workspace: Path, memory_limit: str, threads: int | None
) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from siklus.data.recipes import Recipe, run_recipe
    from siklus.store import WorkspaceContext

    ctx = WorkspaceContext.open(workspace)
    recipe = Recipe("benchmark", steps=STEPS)
    started = time.perf_counter()
    job, version = run_recipe(
        ctx, recipe, csv, output_name="benchmark.out", memory_limit=memory_limit, threads=threads
    )
    seconds = time.perf_counter() - started
    submitter_peak = _own_peak_rss()  # before reading the output back for the check below
    table = pq.read_table(ctx.artifacts.local_path(version.sha256), columns=["amount", "age"])
    return {
        "seconds": seconds,
        "job_seconds": job.wall_seconds,
        "rows_out": version.row_count,
        "peak_rss": job.peak_rss_bytes,
        "submitter_peak_rss": submitter_peak,
        "output_bytes": version.size_bytes,
        "amount_mean": float(table.column("amount").to_pandas().mean()),
        "age_std": float(table.column("age").to_pandas().std()),
    }


# -- driver ---------------------------------------------------------------------------------------


def _run_worker(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--memory-limit", default="384MB", help="DuckDB memory limit of the job")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and outputs")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        if kind == "pandas":
            out = pandas_worker(Path(rest[0]), Path(rest[1]))
        else:
            threads = int(rest[3]) if rest[3] != "-" else None
            out = recipe_worker(Path(rest[0]), Path(rest[1]), rest[2], threads)
        print(json.dumps(out))
        return

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="siklus-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "data.csv"
    try:
        started = time.perf_counter()
        generate_csv(csv, args.rows, args.seed)
        generated = time.perf_counter() - started
        size = csv.stat().st_size
        print(f"Generated {args.rows:,} rows, {_mib(size)} of CSV in {generated:.1f} s ({csv})")
        threads = str(args.threads) if args.threads else "-"
        recipe = _run_worker(
            "--worker", "recipe", str(csv), str(work / "ws"), args.memory_limit, threads
        )
        pandas = _run_worker("--worker", "pandas", str(csv), str(work / "pandas.parquet"))
        _report(args, size, recipe, pandas)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _report(
    args: argparse.Namespace, size: int, recipe: dict[str, Any], pandas: dict[str, Any]
) -> None:
    from rich.console import Console
    from rich.table import Table

    agree = (
        recipe["rows_out"] == pandas["rows_out"]
        and abs(recipe["amount_mean"] - pandas["amount_mean"])
        < 1e-6 * max(1, abs(pandas["amount_mean"]))
        and abs(recipe["age_std"] - pandas["age_std"]) < 1e-6
    )
    table = Table(title=f"Data prep: 10 steps over {args.rows:,} rows "
                        f"(CSV {_mib(size)}; {os.cpu_count()} cores)")  # fmt: skip
    for column in ("engine", "wall s", "rows/s", "peak RSS", "peak RSS / CSV size", "notes"):
        table.add_column(column, justify="left" if column in ("engine", "notes") else "right")
    table.add_row(
        f"recipe job (DuckDB, memory_limit {args.memory_limit})",
        f"{recipe['seconds']:.1f}",
        f"{args.rows / recipe['seconds']:,.0f}",
        _mib(recipe["peak_rss"]),
        f"{recipe['peak_rss'] / size:.2f}",
        f"job {recipe['job_seconds']:.1f} s incl. storing {_mib(recipe['output_bytes'])} output; "
        f"submitter {_mib(recipe['submitter_peak_rss'])}",
    )
    table.add_row(
        "pandas (read_csv → steps → to_parquet)",
        f"{pandas['seconds']:.1f}",
        f"{args.rows / pandas['seconds']:,.0f}",
        _mib(pandas["peak_rss"]),
        f"{pandas['peak_rss'] / size:.2f}",
        f"DataFrame after read_csv: {_mib(pandas['frame_bytes'])}",
    )
    console = Console(width=160)
    console.print(table)
    console.print(
        f"Outputs agree (rows {recipe['rows_out']:,}, mean log amount, std of scaled age): "
        + ("[green]yes[/]" if agree else f"[red]NO[/] recipe={recipe} pandas={pandas}")
    )


if __name__ == "__main__":
    main()
