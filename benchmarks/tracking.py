"""Experiment-tracking speed: siklus against MLflow's SQLite backend, in one run.

Measures, on a fresh SQLite workspace in a temporary folder:

- single ``log_metric`` calls per second (buffered; the time includes ``end()``, the
  final durable flush);
- metrics per second through ``log_metrics`` of 100 keys per call;
- runs created per second (``with start_run(): pass``: create and end);
- search: a filter on a metric, a param and a tag, ordered by the metric (max 1,000
  results), over 1,000 runs and over ``--runs`` runs (30,000 by default); also the newest
  1,000 runs, and the best 1,000 of the half that matches a wide filter.

When ``mlflow`` is importable (it is not a siklus dependency; use a separate venv:
``python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -e . mlflow``) the
same operations run on MLflow's SQLite tracking store in the same process, and the table
shows the ratios. Without it, the ratios are against reference numbers measured with
MLflow 3.17 on the same kind of machine (marked "ref").

Usage:
    python benchmarks/tracking.py [--quick] [--runs 30000] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siklus.experiments import log_metric, log_metrics, search_runs, start_run
from siklus.store import WorkspaceContext

#: MLflow 3.17 on SQLite, measured on this kind of machine (used when mlflow is absent).
REFERENCE = {"single": 218.0, "runs": 42.0, "search_1k_ms": 102.0}
GOALS = "goals: single log_metric >= 50x MLflow, run creation >= 10x, search 30,000 < 300 ms"

FILTER = "metrics.accuracy > 0.9 and params.C = '1.0' and tags.model = 'rf'"
WIDE_FILTER = "metrics.accuracy > 0.5"


@dataclass(frozen=True)
class Sizes:
    calls: int
    batches: int
    runs: int
    search_runs: int
    mlflow_calls: int
    mlflow_batches: int
    mlflow_runs: int
    mlflow_search_runs: int


def sizes(quick: bool, runs: int) -> Sizes:
    if quick:
        return Sizes(50_000, 500, 1_000, runs, 200, 20, 60, 300)
    return Sizes(200_000, 2_000, 3_000, runs, 1_000, 100, 300, 1_000)


@dataclass(frozen=True)
class Row:
    what: str
    siklus: float
    mlflow: float | None
    higher_is_better: bool
    reference: bool = False

    def ratio(self) -> str:
        if self.mlflow is None or self.siklus <= 0 or self.mlflow <= 0:
            return "-"
        ratio = self.siklus / self.mlflow if self.higher_is_better else self.mlflow / self.siklus
        return f"{ratio:,.1f}x" + (" (ref)" if self.reference else "")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(fn: Callable[[], Any], repeat: int = 5) -> float:
    fn()  # warm: first query plans, caches
    return statistics.median(timed(fn) for _ in range(repeat)) * 1000


def run_values(rng: random.Random) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """Params, metrics and tags of one synthetic training run."""
    params = {
        "C": rng.choice([0.01, 0.1, 1.0, 10.0]),
        "solver": rng.choice(["lbfgs", "saga", "liblinear"]),
        "max_iter": rng.randint(50, 1000),
    }
    metrics = {"accuracy": rng.random(), "loss": rng.random() * 2, "f1": rng.random()}
    tags = {"model": rng.choice(["rf", "lr", "gb"]), "team": rng.choice(["ml", "ops"])}
    return params, metrics, tags


# -- siklus -------------------------------------------------------------------------------------
def siklus_single(ctx: WorkspaceContext, n: int) -> float:
    def work() -> None:
        with start_run("single", ctx=ctx):
            for i in range(n):
                log_metric("loss", 1.0 / (i + 1))

    return n / timed(work)


def siklus_batched(ctx: WorkspaceContext, n: int) -> float:
    values = {f"m{k}": k * 0.01 for k in range(100)}

    def work() -> None:
        with start_run("batched", ctx=ctx):
            for step in range(n):
                log_metrics(values, step=step)

    return n * 100 / timed(work)


def siklus_runs(ctx: WorkspaceContext, n: int) -> float:
    def work() -> None:
        for _ in range(n):
            with start_run("runs", ctx=ctx):
                pass

    return n / timed(work)


def siklus_populate(ctx: WorkspaceContext, experiment: str, n: int, seed: int) -> float:
    rng = random.Random(seed)

    def work() -> None:
        for _ in range(n):
            params, metrics, tags = run_values(rng)
            with start_run(experiment, params=params, tags=tags, ctx=ctx) as run:
                run.log_metrics(metrics)

    return n / timed(work)


def siklus_searches(ctx: WorkspaceContext, experiment: str) -> dict[str, float]:
    def query(text: str, order: list[str]) -> Callable[[], Any]:
        return lambda: search_runs(experiment, text, order, 1000, ctx=ctx)

    return {
        "filter": median_ms(query(FILTER, ["metrics.accuracy DESC"])),
        "newest": median_ms(query("", ["start_time DESC"])),
        "wide": median_ms(query(WIDE_FILTER, ["metrics.accuracy DESC"])),
    }


# -- MLflow -------------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """MLflow's warnings and INFO lines (it configures its logger on import) stay out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow  # noqa: F401 - configures the "mlflow" logger, which is then quietened

        for name in ("mlflow", "alembic", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.ERROR)
        yield


class MlflowBench:
    """The same operations through MLflow's fluent API and client on a SQLite store."""

    def __init__(self, folder: Path) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.mlflow = mlflow
        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        self.client = MlflowClient()
        self.artifacts = (folder / "mlartifacts").as_uri()

    def experiment(self, name: str) -> str:
        """The id of experiment ``name``, created on first use (rounds share it)."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(name, artifact_location=self.artifacts))

    def single(self, n: int) -> float:
        experiment = self.experiment("single")

        def work() -> None:
            with self.mlflow.start_run(experiment_id=experiment):
                for i in range(n):
                    self.mlflow.log_metric("loss", 1.0 / (i + 1), step=i)

        return n / timed(work)

    def batched(self, n: int) -> float:
        experiment = self.experiment("batched")
        values = {f"m{k}": k * 0.01 for k in range(100)}

        def work() -> None:
            with self.mlflow.start_run(experiment_id=experiment):
                for step in range(n):
                    self.mlflow.log_metrics(values, step=step)

        return n * 100 / timed(work)

    def runs(self, n: int) -> float:
        experiment = self.experiment("runs")

        def work() -> None:
            for _ in range(n):
                with self.mlflow.start_run(experiment_id=experiment):
                    pass

        return n / timed(work)

    def populate(self, n: int, seed: int) -> str:
        from mlflow.entities import Metric, Param

        experiment = self.experiment("search")
        rng = random.Random(seed)
        for _ in range(n):
            params, metrics, tags = run_values(rng)
            run = self.client.create_run(experiment, tags=tags)
            now = int(time.time() * 1000)
            self.client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                params=[Param(k, str(v)) for k, v in params.items()],
            )
            self.client.set_terminated(run.info.run_id)
        return experiment

    def searches(self, experiment: str) -> dict[str, float]:
        def query(text: str, order: list[str]) -> Callable[[], Any]:
            return lambda: self.client.search_runs(
                [experiment], filter_string=text, order_by=order, max_results=1000
            )

        return {
            "filter": median_ms(query(FILTER, ["metrics.accuracy DESC"]), repeat=3),
            "newest": median_ms(query("", ["attributes.start_time DESC"]), repeat=3),
            "wide": median_ms(query(WIDE_FILTER, ["metrics.accuracy DESC"]), repeat=3),
        }


# -- report -------------------------------------------------------------------------------------
def print_table(rows: list[Row], title: str) -> None:
    print(f"\n{title}")
    header = f"{'operation':<58} {'siklus':>12} {'mlflow':>12} {'ratio':>16}"
    print(header)
    print("-" * len(header))
    for row in rows:
        unit_digits = 0 if row.higher_is_better else 1
        mine = f"{row.siklus:,.{unit_digits}f}"
        theirs = "-" if row.mlflow is None else f"{row.mlflow:,.{unit_digits}f}"
        if row.reference and row.mlflow is not None:
            theirs += "*"
        print(f"{row.what:<58} {mine:>12} {theirs:>12} {row.ratio():>16}")
    if any(r.reference for r in rows):
        print("* reference: MLflow 3.17 on SQLite on this kind of machine (mlflow not importable)")


def table_rows(
    size: Sizes,
    single: float,
    batched: float,
    runs: float,
    small: dict[str, float],
    big: dict[str, float],
    theirs: dict[str, Any],
) -> list[Row]:
    """The result table; MLflow's column is measured, or the reference when absent."""
    measured = bool(theirs)
    search = theirs.get("search", {})
    n_small, n_big = size.mlflow_search_runs, size.search_runs
    # The reference search time is for 1,000 runs, listed newest first.
    listing_reference = REFERENCE["search_1k_ms"] if n_small == 1000 else None
    return [
        Row(
            f"single log_metric calls/s ({size.calls:,} calls + final flush)",
            single,
            theirs.get("single", REFERENCE["single"]),
            True,
            reference=not measured,
        ),
        Row("batched metrics/s (log_metrics of 100 keys)", batched, theirs.get("batched"), True),
        Row(
            "runs created/s (start_run + end)",
            runs,
            theirs.get("runs", REFERENCE["runs"]),
            True,
            reference=not measured,
        ),
        Row(
            f"search {n_small:,} runs: metric+param+tag filter (ms)",
            small["filter"],
            search.get("filter"),
            False,
        ),
        Row(
            f"search {n_small:,} runs: newest 1,000 (ms)",
            small["newest"],
            search.get("newest", None if measured else listing_reference),
            False,
            reference=not measured and listing_reference is not None,
        ),
        Row(
            f"search {n_small:,} runs: wide filter, best 1,000 (ms)",
            small["wide"],
            search.get("wide"),
            False,
        ),
        Row(f"search {n_big:,} runs: metric+param+tag filter (ms)", big["filter"], None, False),
        Row(f"search {n_big:,} runs: newest 1,000 (ms)", big["newest"], None, False),
        Row(f"search {n_big:,} runs: wide filter, best 1,000 (ms)", big["wide"], None, False),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30_000, help="runs in the big search")
    parser.add_argument("--quick", action="store_true", help="fewer calls (about a minute)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow even if present")
    parser.add_argument(
        "--database-url",
        default=None,
        help="siklus' metadata store (default: SQLite in a temporary folder), e.g. "
        "postgresql+psycopg://siklus:siklus@127.0.0.1/siklus_bench; MLflow stays on SQLite",
    )
    args = parser.parse_args(argv)
    size = sizes(args.quick, args.runs)
    has_mlflow = not args.no_mlflow and importlib.util.find_spec("mlflow") is not None

    with tempfile.TemporaryDirectory(prefix="siklus-bench-") as tmp:
        folder = Path(tmp)
        settings = {"database_url": args.database_url} if args.database_url else {}
        ctx = WorkspaceContext.open(folder / "siklus", settings=settings)
        ctx.store.list_experiments()  # create and migrate the database before timing
        print(f"siklus on {ctx.database_url} (python {sys.version.split()[0]}, pid {os.getpid()})")
        bench: MlflowBench | None = None
        if has_mlflow:
            with quiet():
                import mlflow

                print(f"mlflow {mlflow.__version__} on SQLite")
                bench = MlflowBench(folder / "mlflow")
                bench.experiment("warm-up")  # create MLflow's tables before timing
        rounds = 2 if args.quick else 3
        print(f"best of {rounds} rounds; siklus and MLflow alternate, so both see the same load")

        def both(
            mine: Callable[[], float], theirs: Callable[[MlflowBench], float]
        ) -> tuple[float, float | None]:
            ours, other = [], []
            for _ in range(rounds):
                ours.append(mine())
                if bench is not None:
                    with quiet():
                        other.append(theirs(bench))
            return max(ours), (max(other) if other else None)

        single, mlflow_single = both(
            lambda: siklus_single(ctx, size.calls), lambda b: b.single(size.mlflow_calls)
        )
        batched, mlflow_batched = both(
            lambda: siklus_batched(ctx, size.batches), lambda b: b.batched(size.mlflow_batches)
        )
        runs, mlflow_runs = both(
            lambda: siklus_runs(ctx, size.runs), lambda b: b.runs(size.mlflow_runs)
        )
        siklus_populate(ctx, "search-small", size.mlflow_search_runs, seed=1)
        small = siklus_searches(ctx, "search-small")
        theirs: dict[str, Any] = {}
        if bench is not None:
            with quiet():
                search = bench.searches(bench.populate(size.mlflow_search_runs, seed=1))
            theirs = {
                "single": mlflow_single,
                "batched": mlflow_batched,
                "runs": mlflow_runs,
                "search": search,
            }
        populate_rate = siklus_populate(ctx, "search-big", size.search_runs, seed=2)
        big = siklus_searches(ctx, "search-big")
        print(f"(populated {size.search_runs:,} runs for the big search at {populate_rate:,.0f}/s)")
        rows = table_rows(size, single, batched, runs, small, big, theirs)
        backend = ctx.database_url.split(":", 1)[0].split("+", 1)[0]
        print_table(rows, f"Experiment tracking on {backend} (MLflow on SQLite), one process")
        print(GOALS)
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
