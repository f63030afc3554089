"""Comparing runs: which is best by a metric, and which params made the difference.

:func:`compare_runs` gathers the runs (given by id, or the best of an experiment) into a
:class:`RunComparison`, which the CLI prints as a table and :mod:`._report` renders as a
self-contained HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from siklus.exceptions import InvalidParameter
from siklus.experiments._query import get_run, search_runs
from siklus.experiments._workspace import workspace
from siklus.store import Run, WorkspaceContext, check_key


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side, best first when a metric is given.

    Attributes:
        runs: The runs, sorted by ``metric`` (best first; runs without it last).
        metric: The metric that ranks them, or None (given order).
        ascending: True when smaller is better (a loss).
        metric_keys: Every metric any run has, the ranking metric first.
        param_keys: Every param any run has, those that differ between runs first.
        varying_params: The params whose values differ between the runs.
    """

    runs: tuple[Run, ...]
    metric: str | None
    ascending: bool
    metric_keys: tuple[str, ...]
    param_keys: tuple[str, ...]
    varying_params: frozenset[str]

    def value(self, run: Run) -> float | None:
        """The ranking metric of ``run`` (None when it has none)."""
        if self.metric is None:
            return None
        value = run.metrics.get(self.metric)
        return None if value is None or math.isnan(value) else value


def _rank(runs: Sequence[Run], metric: str | None, ascending: bool) -> list[Run]:
    if metric is None:
        return list(runs)

    def key(run: Run) -> tuple[int, float]:
        value = run.metrics.get(metric)
        if value is None or math.isnan(value):
            return (1, 0.0)
        return (0, value if ascending else -value)

    return sorted(runs, key=key)  # stable: ties keep the given order


def compare_runs(
    run_ids: Sequence[str] | None = None,
    *,
    experiment: str | None = None,
    metric: str | None = None,
    ascending: bool = False,
    filter: str = "",
    max_runs: int = 50,
    ctx: WorkspaceContext | None = None,
) -> RunComparison:
    """Collect runs for comparison, ranked by ``metric``.

    Args:
        run_ids: The runs to compare; or None to take them from ``experiment``.
        experiment: Compare the best ``max_runs`` runs of this experiment (matching
            ``filter``), ranked in the database.
        metric: Rank by this metric; None keeps the given order (newest first for an
            experiment).
        ascending: Smaller is better (e.g. a loss).

    Raises:
        InvalidParameter: Neither or both of ``run_ids`` and ``experiment``.
        NotFound: A run or the experiment does not exist.
    """
    if (run_ids is None) == (experiment is None) or (run_ids is not None and not run_ids):
        raise InvalidParameter(
            "Compare either given runs (run ids) or the runs of an experiment, not both "
            "nor neither; e.g. `siklus runs compare RUN_A RUN_B` or "
            "`siklus runs compare --experiment churn --metric accuracy`."
        )
    if metric is not None:
        check_key("metric", metric)
    ctx = workspace(ctx)
    if run_ids is not None:
        runs = [get_run(run_id, ctx) for run_id in dict.fromkeys(run_ids)]
    else:
        order = [f"metrics.`{metric}` {'ASC' if ascending else 'DESC'}"] if metric else None
        runs = search_runs(experiment, filter, order, max_runs, ctx)
    ranked = _rank(runs, metric, ascending)
    metric_keys = sorted({k for run in ranked for k in run.metrics})
    if metric is not None:
        metric_keys = [metric, *(k for k in metric_keys if k != metric)]
    all_params = sorted({k for run in ranked for k in run.params})
    varying = {key for key in all_params if len({repr(run.params.get(key)) for run in ranked}) > 1}
    param_keys = [k for k in all_params if k in varying] + [
        k for k in all_params if k not in varying
    ]
    return RunComparison(
        runs=tuple(ranked),
        metric=metric,
        ascending=ascending,
        metric_keys=tuple(metric_keys),
        param_keys=tuple(param_keys),
        varying_params=frozenset(varying),
    )


__all__ = ["RunComparison", "compare_runs"]
