"""Experiments: runs with their params, metrics (scalars and series), tags and artifacts.

A tracking API for any script, cheap in a tight loop (writes are buffered and batched)
and safe with many processes logging at once; search by a filter expression; compare
runs in a table or a self-contained HTML report.

Example:
    >>> from siklus.experiments import start_run, search_runs
    >>> with start_run("churn", params={"C": 1.0}, tags={"model": "lr"}) as run:  # doctest: +SKIP
    ...     for step, loss in enumerate(losses):
    ...         run.log_metric("loss", loss, step=step)
    ...     run.log_metric("accuracy", 0.93)
    >>> best = search_runs(  # doctest: +SKIP
    ...     "churn", filter="metrics.accuracy > 0.9", order_by=["metrics.accuracy DESC"]
    ... )

Inside a job process started by siklus, ``SIKLUS_RUN_ID`` names the job's run, and
``log_metric()`` and friends (and ``start_run()`` without ``job_id``) log into it.
"""

from __future__ import annotations

from siklus.experiments._active_run import FAILURE_TAG, FLUSH_EVERY, FLUSH_INTERVAL_S, ActiveRun
from siklus.experiments._compare import RunComparison, compare_runs
from siklus.experiments._fluent import (
    RUN_ID_ENV,
    active_run,
    attach_run,
    end_run,
    flush,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_model,
    set_tag,
    set_tags,
    start_run,
)
from siklus.experiments._query import (
    get_experiment,
    get_metric_history,
    get_run,
    list_experiments,
    search_runs,
)
from siklus.experiments._report import render_report, write_report
from siklus.store import (
    Experiment,
    MetricPoint,
    Run,
    RunFilter,
    RunStatus,
    parse_order_by,
    parse_run_filter,
)

__all__ = [
    "FAILURE_TAG",
    "FLUSH_EVERY",
    "FLUSH_INTERVAL_S",
    "RUN_ID_ENV",
    "ActiveRun",
    "Experiment",
    "MetricPoint",
    "Run",
    "RunComparison",
    "RunFilter",
    "RunStatus",
    "active_run",
    "attach_run",
    "compare_runs",
    "end_run",
    "flush",
    "get_experiment",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "parse_order_by",
    "parse_run_filter",
    "render_report",
    "search_runs",
    "set_model",
    "set_tag",
    "set_tags",
    "start_run",
    "write_report",
]
