"""``siklus recommend GROUP:VERSION``: load-test configurations and recommend one."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json

RUNTIME_HELP = "Runtimes to try: native, onnx (repeatable; default both)."


def _number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def results_table(rec: Any) -> Table:
    """One row per candidate; the recommended one starred, p99 green when it meets the target."""
    table = Table(title=f"Candidates for {rec.package} (target p99 <= {rec.p99_ms:g} ms)")
    for column in ("", "runtime", "batch", "workers", "inf/s", "p50 ms", "p99 ms", "mem GB"):
        table.add_column(column, justify="left" if column in ("", "runtime") else "right")
    table.add_column(f"{rec.results[0]['currency'] if rec.results else 'USD'}/1M", justify="right")
    chosen = rec.recommended
    for row in rec.results:
        mark = "[green]*[/]" if chosen and row["label"] == chosen["label"] else ""
        meets = row["p99_ms"] is not None and row["errors"] == 0 and row["p99_ms"] <= rec.p99_ms
        p99 = _number(row["p99_ms"], 1)
        colour = "green" if meets else "red"
        table.add_row(
            mark, row["runtime"], str(row["batch_size"]), str(row["workers"]),
            _number(row["rows_per_second"], 0), _number(row["p50_ms"], 1),
            f"[{colour}]{p99}[/]" if row["p99_ms"] is not None else p99,
            _number(row["memory_gb"], 2), _cost(row["cost_per_million"]),
        )  # fmt: skip
    return table


def _cost(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def recommend(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="GROUP:VERSION (or GROUP for the newest)."),
    p99_ms: float = typer.Option(20.0, "--p99-ms", help="Latency target: p99 per request (ms)."),
    duration: float = typer.Option(5.0, "--duration", help="Seconds of load per candidate."),
    warmup: float = typer.Option(0.5, "--warmup", help="Unmeasured seconds before each test."),
    runtime: list[str] = typer.Option(None, "--runtime", help=RUNTIME_HELP),
    batch_size: list[int] = typer.Option(
        None, "--batch-size", "-b", help="Rows per request to try (repeatable; default 1 10 100)."
    ),
    workers: list[int] = typer.Option(
        None, "--workers", help="Worker counts to try (repeatable; default 1 2)."
    ),
    concurrency: int = typer.Option(
        None, "--concurrency", help="Requests in flight (default: one per worker)."
    ),
    data: str = typer.Option(
        None, "--data", help="Dataset whose rows to send (default: the model's input example)."
    ),
    cpu_hour_price: float = typer.Option(
        None, "--cpu-hour-price", help="Price per CPU-hour (default 0.04048 USD)."
    ),
    gb_hour_price: float = typer.Option(
        None, "--gb-hour-price", help="Price per GB-hour (default 0.004445 USD)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Load-test runtimes, batch sizes, worker counts; recommend the cheapest meeting --p99-ms."""
    from siklus.serving.recommender import (
        DEFAULT_BATCH_SIZES,
        DEFAULT_WORKERS,
        RUNTIMES,
        CostModel,
    )
    from siklus.serving.recommender import (
        recommend as run_recommendation,
    )

    ws = open_workspace(ctx)
    prices = CostModel(
        **{
            k: v
            for k, v in (("cpu_hour", cpu_hour_price), ("gb_hour", gb_hour_price))
            if v is not None
        }
    )
    options: dict[str, Any] = {
        "p99_ms": p99_ms, "duration_s": duration, "warmup_s": warmup,
        "runtimes": runtime or RUNTIMES, "batch_sizes": batch_size or DEFAULT_BATCH_SIZES,
        "workers": workers or DEFAULT_WORKERS, "concurrency": concurrency, "prices": prices,
        "data": data,
    }  # fmt: skip
    show = bool(ws.ctx.setting("progress")) and not as_json
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console,
        disable=not show, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("Starting the recommendation job", total=None)

        def on_progress(job: Any, state: dict[str, Any] | None) -> None:
            if state is None:
                progress.update(task, description=f"Job {job.id} {job.status.value}")
                return
            current = state.get("current")
            progress.update(
                task, total=state["total"], completed=state["done"],
                description=f"Measuring {current}" if current else "Choosing",
            )  # fmt: skip

        rec = run_recommendation(ws.ctx, ref, on_progress=on_progress, **options)
    if as_json:
        print_json(rec.to_dict())
        return
    console.print(results_table(rec))
    for row in rec.results:
        if row["note"]:
            console.print(f"[yellow]{row['label']}:[/] {row['note']}", soft_wrap=True)
    for note in rec.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print(
        f"Cost model: {prices.cpu_hour:g} {prices.currency}/CPU-hour, {prices.gb_hour:g} "
        f"{prices.currency}/GB-hour, times the measured time per inference and the "
        f"configuration's CPUs/memory (job {rec.job_id})."
    )
    console.print(
        ("[green]Recommended:[/] " if rec.recommended else "[red]No recommendation:[/] ")
        + rec.message
    )
