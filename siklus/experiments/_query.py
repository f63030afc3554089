"""Reading runs back: get, search, metric history, experiments.

Every read first writes what this process still has buffered, so a script sees its own
logging at once (other processes' buffers reach the store within about a second).
"""

from __future__ import annotations

from collections.abc import Sequence

from siklus.exceptions import InvalidParameter
from siklus.experiments._flusher import flusher
from siklus.experiments._workspace import workspace
from siklus.store import Experiment, MetricPoint, Run, RunFilter, WorkspaceContext


def get_run(run_id: str, ctx: WorkspaceContext | None = None) -> Run:
    """Return run ``run_id``.

    Raises:
        NotFound: No such run.
    """
    flusher.flush_all()
    return workspace(ctx).store.get_run(run_id)


def _experiment_ids(
    ctx: WorkspaceContext, experiment: str | Sequence[str] | None
) -> list[str] | None:
    if experiment is None:
        return None
    names = [experiment] if isinstance(experiment, str) else list(experiment)
    if not all(isinstance(n, str) for n in names):
        raise InvalidParameter(f"experiment must be a name or a list of names, got {experiment!r}.")
    return [ctx.store.get_experiment(name).id for name in names]


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | RunFilter = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    ctx: WorkspaceContext | None = None,
) -> list[Run]:
    """Find runs by their params, metrics, tags and attributes.

    The filter and the order are evaluated by the database (one row per run), so a search
    over tens of thousands of runs takes milliseconds.

    Example:
        >>> search_runs(  # doctest: +SKIP
        ...     "churn",
        ...     filter="metrics.accuracy > 0.9 and params.C = '1.0' and tags.model = 'rf'",
        ...     order_by=["metrics.accuracy DESC"],
        ... )

    Args:
        experiment: An experiment name, a list of them, or None for every experiment.
        filter: Comparisons of ``metrics.<key>``, ``params.<key>``, ``tags.<key>``,
            ``status``, ``name``, ``job_id``, ``model_id`` with ``= != < <= > >=``,
            joined by ``and``/``or`` with parentheses. A param logged as a number
            compares numerically. A missing key never matches.
        order_by: Clauses such as ``"metrics.accuracy DESC"``, ``"params.C"``,
            ``"start_time"``; runs without the key come last. Default: newest first.
        max_results: At most this many runs.
        ctx: The workspace (default: from ``SIKLUS_*`` and the current folder).

    Raises:
        InvalidParameter: The filter or an order-by clause does not parse; the message
            points at the column.
        NotFound: An experiment does not exist.
    """
    ctx = workspace(ctx)
    flusher.flush_all()
    return ctx.store.search_runs(
        _experiment_ids(ctx, experiment), filter, list(order_by or []), max_results
    )


def get_metric_history(
    run_id: str, key: str, ctx: WorkspaceContext | None = None
) -> list[MetricPoint]:
    """Every point of metric ``key`` of the run, in step order.

    Raises:
        NotFound: No such run.
    """
    flusher.flush_all()
    return workspace(ctx).store.get_metric_history(run_id, key)


def list_experiments(ctx: WorkspaceContext | None = None) -> list[Experiment]:
    """Every experiment of the workspace, by name."""
    return workspace(ctx).store.list_experiments()


def get_experiment(name: str, ctx: WorkspaceContext | None = None) -> Experiment:
    """Raises: NotFound (the message lists the known experiments)."""
    return workspace(ctx).store.get_experiment(name)


__all__ = [
    "get_experiment",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "search_runs",
]
