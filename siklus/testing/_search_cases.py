"""Runs and filters for the search tests of :class:`~siklus.testing.TrackingContract`.

:func:`seed_runs` makes runs that exercise every corner of the filter semantics: params
logged as numbers and as numeric-looking text, NaN and ±inf metrics, missing keys,
upper-case and non-ASCII text. :data:`FILTER_CASES` pairs filters with predicates
written by hand from the documented semantics (not with the parser's own evaluator),
and :func:`random_filters` generates many more to compare SQL with
:meth:`~siklus.store.RunFilter.matches`.
"""

from __future__ import annotations

import math
import operator
import random
import time
from collections.abc import Callable
from typing import Any

from siklus.store import BaseStore, Run, RunStatus

_MISSING = object()


def seed_runs(store: BaseStore, count: int = 90, seed: int = 3) -> list[Run]:
    """``count`` runs in experiment ``search`` with random params, metrics and tags."""
    rng = random.Random(seed)
    experiment = store.ensure_experiment("search")
    names = ["alpha", "Beta", "gamma", "Ärger", "zeta", "b"]
    runs = []
    for i in range(count):
        choices: dict[str, list[Any]] = {
            "C": [0.1, 1.0, 1, 10, "1.0", "abc", "10", _MISSING],
            "lr": [1e-3, 0.01, 0.1, 0.5, "0.01", _MISSING],
            "solver": ["lbfgs", "saga", "Saga", "b", _MISSING],
            "depth": [*range(1, 13), _MISSING],
        }
        params = {
            k: v for k, options in choices.items() if (v := rng.choice(options)) is not _MISSING
        }
        tag_choices = {"model": ["rf", "lr", "gb", "RF", ""], "team": ["ml", "ops", ""]}
        tags = {k: v for k, opts in tag_choices.items() if (v := rng.choice(opts))}
        tags["seed"] = str(i)
        run = store.create_run(
            experiment.id, name=f"{rng.choice(names)}-{i:03d}", params=params, tags=tags
        )
        metrics: list[tuple[str, float, int, float]] = []
        accuracy = rng.choice(
            [rng.random(), rng.random(), 0.5, math.nan, math.inf, -math.inf, None]
        )
        if accuracy is not None:
            metrics.append(("accuracy", accuracy, 0, time.time()))
        if rng.random() < 0.8:
            metrics.append(("loss", rng.random() * 2, 0, time.time()))
        status = rng.choice([None, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.KILLED])
        store.log_run_batch(run.id, metrics=metrics, status=status)
        runs.append(store.get_run(run.id))
    return runs


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def _metric(run: Run, key: str, op: str, number: float) -> bool:
    value = run.metrics.get(key)
    return value is not None and not math.isnan(value) and _OPS[op](value, number)


def _param(run: Run, key: str, op: str, text: str) -> bool:
    """A number param compares with the literal's number; a text param with its text."""
    value = run.params.get(key)
    if value is None:
        return False
    if isinstance(value, str):
        return _OPS[op](value, text)
    try:
        number = float(text)
    except ValueError:
        return op == "!="
    return _OPS[op](float(value), number)


def _tag(run: Run, key: str, op: str, text: str) -> bool:
    value = run.tags.get(key)
    return value is not None and _OPS[op](value, text)


FILTER_CASES: list[tuple[str, Callable[[Run], bool]]] = [
    ("", lambda r: True),
    ("metrics.accuracy > 0.5", lambda r: _metric(r, "accuracy", ">", 0.5)),
    ("metrics.accuracy <= 0.5", lambda r: _metric(r, "accuracy", "<=", 0.5)),
    ("metrics.accuracy != 0.5", lambda r: _metric(r, "accuracy", "!=", 0.5)),
    ("metrics.accuracy >= 1e308", lambda r: _metric(r, "accuracy", ">=", 1e308)),
    ("metrics.accuracy < -1e308", lambda r: _metric(r, "accuracy", "<", -1e308)),
    (
        "metrics.loss < 1 and metrics.accuracy > 0.2",
        lambda r: _metric(r, "loss", "<", 1) and _metric(r, "accuracy", ">", 0.2),
    ),
    ("params.C = '1.0'", lambda r: _param(r, "C", "=", "1.0")),
    ("params.C = 1", lambda r: _param(r, "C", "=", "1")),
    ("params.C > 0.5", lambda r: _param(r, "C", ">", "0.5")),
    ("params.C != 'abc'", lambda r: _param(r, "C", "!=", "abc")),
    ("params.C = '10'", lambda r: _param(r, "C", "=", "10")),
    ("params.solver = 'saga'", lambda r: _param(r, "solver", "=", "saga")),
    ("params.solver < 'c'", lambda r: _param(r, "solver", "<", "c")),
    ("params.depth >= 6", lambda r: _param(r, "depth", ">=", "6")),
    ("params.nothing = 1", lambda r: False),
    ("tags.model = 'rf'", lambda r: _tag(r, "model", "=", "rf")),
    (
        "tags.model = \"RF\" or tags.team = 'ops'",
        lambda r: _tag(r, "model", "=", "RF") or _tag(r, "team", "=", "ops"),
    ),
    ("tags.seed = 7", lambda r: _tag(r, "seed", "=", "7")),
    ("tags.team != 'ml'", lambda r: _tag(r, "team", "!=", "ml")),
    ("status = 'Completed'", lambda r: r.status == "Completed"),
    (
        "status != 'Running' and (tags.model = 'rf' or params.solver = 'saga')",
        lambda r: (
            r.status != "Running"
            and (_tag(r, "model", "=", "rf") or _param(r, "solver", "=", "saga"))
        ),
    ),
    ("name >= 'gamma'", lambda r: r.name >= "gamma"),
    ("attributes.name < 'b'", lambda r: r.name < "b"),
    (
        "metrics.`accuracy` > 0.1 AND params.lr < 0.05",
        lambda r: _metric(r, "accuracy", ">", 0.1) and _param(r, "lr", "<", "0.05"),
    ),
]

_ATOMS: list[tuple[str, list[str]]] = [
    ("metrics.accuracy", ["0", "0.25", "0.5", "1", "-1", "1e308", "-1e308", "'0.5'"]),
    ("metrics.loss", ["0.5", "1", "2"]),
    ("metrics.missing", ["0"]),
    ("params.C", ["0.1", "1", "'1.0'", "'abc'", "10", "'10'", "'1'"]),
    ("params.lr", ["0.01", "'0.01'", "0.5", "'zzz'"]),
    ("params.solver", ["'saga'", "'Saga'", "'b'", "1"]),
    ("params.depth", ["3", "6", "'6'", "12"]),
    ("tags.model", ["'rf'", "'RF'", "'lr'"]),
    ("tags.team", ["'ml'", "'ops'"]),
    ("tags.seed", ["7", "'70'", "'8'"]),
    ("status", ["'Completed'", "'Failed'", "'Running'", "'Killed'"]),
    ("name", ["'b'", "'gamma'", "'Ärger'"]),
]


def _atom(rng: random.Random) -> str:
    name, literals = rng.choice(_ATOMS)
    return f"{name} {rng.choice(list(_OPS))} {rng.choice(literals)}"


def random_filters(rng: random.Random, count: int) -> list[str]:
    """``count`` random filters of one to four comparisons, with and/or and parentheses."""
    filters = []
    for _ in range(count):
        parts = [_atom(rng) for _ in range(rng.randint(1, 4))]
        text = parts[0]
        for part in parts[1:]:
            joined = f"{text} {rng.choice(['and', 'or'])} {part}"
            text = f"({joined})" if rng.random() < 0.3 else joined
        filters.append(text)
    return filters


__all__ = ["FILTER_CASES", "random_filters", "seed_runs"]
