"""``search_runs`` over runs logged through the tracking API equals a brute-force filter."""

from __future__ import annotations

import math
import random

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.experiments import (
    Run,
    get_experiment,
    get_run,
    list_experiments,
    parse_run_filter,
    search_runs,
    start_run,
)
from siklus.store import RunStatus, WorkspaceContext
from siklus.testing import FILTER_CASES, random_filters


def _log_runs(ws: WorkspaceContext, count: int = 60) -> list[Run]:
    """Runs with the value shapes the filter semantics care about (see FILTER_CASES)."""
    rng = random.Random(11)
    ids = []
    for i in range(count):
        options = {
            "C": [0.1, 1.0, 1, 10, "1.0", "abc", "10", None],
            "lr": [1e-3, 0.01, 0.5, "0.01", None],
            "solver": ["lbfgs", "saga", "Saga", "b", None],
            "depth": [3, 6, 12, None],
        }
        params = {k: v for k, vs in options.items() if (v := rng.choice(vs)) is not None}
        tags = {"model": rng.choice(["rf", "lr", "RF"]), "seed": str(i)}
        if rng.random() < 0.5:
            tags["team"] = rng.choice(["ml", "ops"])
        name = f"{rng.choice(['alpha', 'Beta', 'gamma', 'b'])}-{i:02d}"
        status = rng.choice([RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.KILLED])
        run = start_run("api", name=name, params=params, tags=tags, ctx=ws)
        accuracy = rng.choice([rng.random(), 0.5, math.nan, math.inf, None])
        if accuracy is not None:
            run.log_metric("accuracy", accuracy)
        for step in range(3):
            run.log_metric("loss", rng.random() * 2, step=step)
        run.end(status)
        ids.append(run.run_id)
    return [get_run(run_id, ws) for run_id in ids]


def test_search_equals_brute_force_filters(ws: WorkspaceContext) -> None:
    runs = _log_runs(ws)
    with start_run("other", ctx=ws):
        pass
    for text, predicate in FILTER_CASES:
        found = {r.id for r in search_runs("api", text, ctx=ws)}
        assert found == {r.id for r in runs if predicate(r)}, f"filter {text!r}"
    for text in random_filters(random.Random(5), 40):
        found = {r.id for r in search_runs(["api"], text, ctx=ws)}
        assert found == {r.id for r in runs if parse_run_filter(text).matches(r)}, text


def test_search_orders_limits_and_scopes(ws: WorkspaceContext) -> None:
    runs = _log_runs(ws, count=20)
    with start_run("other", ctx=ws) as other:
        other.log_metric("accuracy", 2.0)
    best = search_runs("api", "metrics.accuracy >= 0", ["metrics.accuracy DESC"], 3, ctx=ws)
    finite = sorted(
        (r.metrics["accuracy"] for r in runs if r.metrics.get("accuracy", -1) >= 0), reverse=True
    )
    assert [r.metrics["accuracy"] for r in best] == finite[:3]
    assert len(search_runs(None, ctx=ws)) == len(runs) + 1
    assert len(search_runs(["api", "other"], ctx=ws)) == len(runs) + 1
    assert search_runs("other", ctx=ws)[0].id == other.run_id
    assert [e.name for e in list_experiments(ws)] == ["api", "other"]
    assert get_experiment("other", ws).name == "other"


def test_search_errors(ws: WorkspaceContext) -> None:
    with start_run("api", ctx=ws):
        pass
    with pytest.raises(NotFound, match=r"'nope' does not exist\. Known experiments: api"):
        search_runs("nope", ctx=ws)
    with pytest.raises(InvalidParameter, match="column 18"):
        search_runs("api", "metrics.accuracy is 0.9", ctx=ws)
    with pytest.raises(InvalidParameter, match="a name or a list of names"):
        search_runs(["api", 3], ctx=ws)  # type: ignore[list-item]
