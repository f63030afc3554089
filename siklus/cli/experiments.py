"""``siklus experiments`` (list, describe) and ``siklus runs`` (search, describe, compare)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, fmt, print_json, print_record, print_table

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)
runs_app = typer.Typer(
    help="Runs: what training logged (params, metrics, tags); search and compare.",
    no_args_is_help=True,
)

#: Metric and param columns shown in a table at most (``--json`` has everything).
MAX_METRIC_COLUMNS = 6
MAX_PARAM_COLUMNS = 5


def _workspace_ctx(ctx: typer.Context) -> Any:
    return open_workspace(ctx).ctx


def _number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return fmt(value)


def _runs_table(
    runs: Sequence[Any], *, title: str, first_metrics: Sequence[str] = (), rank: bool = False
) -> Table:
    """Runs as rows; metric columns (``first_metrics`` first), then params that differ.

    The run id never wraps or shrinks (it is what the next command needs); the
    experiment column appears only when the runs span several experiments.
    """
    metric_keys = list(
        dict.fromkeys([*first_metrics, *sorted({k for r in runs for k in r.metrics})])
    )
    param_keys = sorted({k for r in runs for k in r.params})
    varying = [k for k in param_keys if len({repr(r.params.get(k)) for r in runs}) > 1]
    param_keys = (varying + [k for k in param_keys if k not in varying])[:MAX_PARAM_COLUMNS]
    metric_keys = metric_keys[:MAX_METRIC_COLUMNS]
    several = len({r.experiment for r in runs}) > 1
    table = Table(title=title)
    if rank:
        table.add_column("#", justify="right")
    table.add_column("run", no_wrap=True, min_width=20)
    if several:
        table.add_column("experiment")
    for column in ("name", "status"):
        table.add_column(column)
    for key in metric_keys:
        table.add_column(key, justify="right", style="bold" if key in first_metrics else None)
    for key in param_keys:
        table.add_column(f"params.{key}", justify="right")
    for i, run in enumerate(runs, 1):
        cells = [run.id, *([run.experiment] if several else []), run.name, run.status.value]
        cells += [_number(run.metrics.get(k)) for k in metric_keys]
        cells += [fmt(run.params.get(k)) for k in param_keys]
        table.add_row(*([str(i)] if rank else []), *cells)
    return table


def _metrics_in(order_by: Sequence[str]) -> list[str]:
    from siklus.experiments import parse_order_by

    return [o.key for o in parse_order_by(list(order_by)) if o.kind == "metrics"]


# -- siklus experiments ---------------------------------------------------------------------
@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List experiments with their number of runs."""
    workspace = _workspace_ctx(ctx)
    counts = workspace.store.count_runs()
    rows = [
        {**e.to_dict(), "runs": counts.get(e.id, 0)} for e in workspace.store.list_experiments()
    ]
    print_table(
        rows, ("name", "id", "runs", "created_at", "tags"), as_json=as_json, title="Experiments"
    )


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Experiment name (or id)."),
    limit: int = typer.Option(10, "--limit", "-n", help="Show this many of the newest runs."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show an experiment and its newest runs."""
    from siklus.experiments import get_experiment, search_runs

    workspace = _workspace_ctx(ctx)
    experiment = get_experiment(name, workspace)
    runs = search_runs(experiment.name, max_results=limit, ctx=workspace)
    total = workspace.store.count_runs().get(experiment.id, 0)
    if as_json:
        print_json({**experiment.to_dict(), "runs": total, "newest_runs": runs})
        return
    print_record({**experiment.to_dict(), "runs": total}, as_json=False)
    if runs:
        console.print(_runs_table(runs, title=f"Newest {len(runs)} of {total} runs"))


# -- siklus runs ----------------------------------------------------------------------------
@runs_app.command("search")
def search(
    ctx: typer.Context,
    experiment: list[str] = typer.Option(
        None, "--experiment", "-e", help="Only runs of this experiment (repeatable)."
    ),
    filter: str = typer.Option(
        "",
        "--filter",
        "-f",
        help="e.g. \"metrics.accuracy > 0.9 and params.C = '1.0' and tags.model = 'rf'\".",
    ),
    order_by: list[str] = typer.Option(
        None, "--order-by", "-o", help="e.g. 'metrics.accuracy DESC' (repeatable)."
    ),
    max_results: int = typer.Option(100, "--max-results", "-n", help="At most this many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find runs by params, metrics, tags and status."""
    from siklus.experiments import search_runs

    order = list(order_by or [])
    runs = search_runs(
        list(experiment) if experiment else None,
        filter,
        order,
        max_results,
        ctx=_workspace_ctx(ctx),
    )
    if as_json:
        print_json(runs)
        return
    console.print(_runs_table(runs, title=f"{len(runs)} runs", first_metrics=_metrics_in(order)))


@runs_app.command("describe")
def describe_run(
    ctx: typer.Context, run_id: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show a run: params, latest metrics, tags, inputs, artifacts, links."""
    from siklus.experiments import get_run

    print_record(get_run(run_id, _workspace_ctx(ctx)), as_json=as_json)


@runs_app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, help="Runs to compare (or use --experiment)."),
    experiment: str = typer.Option(
        None, "--experiment", "-e", help="Compare the best runs of this experiment."
    ),
    metric: str = typer.Option(None, "--metric", "-m", help="Rank by this metric."),
    ascending: bool = typer.Option(
        False, "--ascending/--descending", help="Smaller is better (e.g. a loss)."
    ),
    filter: str = typer.Option("", "--filter", "-f", help="Only runs matching this filter."),
    max_runs: int = typer.Option(20, "--max-runs", "-n", help="With --experiment: this many."),
    html: Path = typer.Option(
        None, "--html", help="Also write a self-contained HTML report (curves, parallel axes)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank runs by a metric in a table, and optionally an HTML report."""
    from siklus.experiments import compare_runs, write_report

    workspace = _workspace_ctx(ctx)
    comparison = compare_runs(
        list(run_ids) if run_ids else None,
        experiment=experiment,
        metric=metric,
        ascending=ascending,
        filter=filter,
        max_runs=max_runs,
        ctx=workspace,
    )
    report = write_report(comparison, html, ctx=workspace) if html is not None else None
    if as_json:
        print_json(
            {
                "metric": comparison.metric,
                "ascending": comparison.ascending,
                "runs": list(comparison.runs),
                "report": str(report) if report else None,
            }
        )
        return
    order = f" by {metric} ({'lower' if ascending else 'higher'} is better)" if metric else ""
    console.print(
        _runs_table(
            comparison.runs,
            title=f"{len(comparison.runs)} runs{order}",
            first_metrics=[metric] if metric else [],
            rank=True,
        )
    )
    if report is not None:
        console.print(f"Report: [bold]{report}[/]")
