"""The experiment-tracking contract every store backend passes, as a reusable pytest suite.

:class:`TrackingContract` is used like :class:`~siklus.testing.StoreContract`: a test
module supplies a ``store`` fixture (a fresh, empty store per test) and subclasses it.
The search tests compare the backend's SQL with :meth:`RunFilter.matches` and with
hand-written Python predicates over the same runs, so a backend cannot drift from the
filter semantics documented in :mod:`siklus.store._filter`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.store import BaseStore, Run, RunStatus, get_store, parse_run_filter
from siklus.testing._search_cases import FILTER_CASES, random_filters, seed_runs
from siklus.testing._store_contract import run_in_processes, sha

_PROCESSES = 8
_BATCHES = 12
_POINTS = 50


def _points(key: str, count: int, first_step: int = 0) -> list[tuple[str, float, int, float]]:
    now = time.time()
    return [(key, float(i), first_step + i, now) for i in range(count)]


def _log_batches_in_child(
    url: str, worker: int, own_run: str, shared_run: str, start: Any, results: Any
) -> None:
    """Child body of the concurrency test (module level so 'spawn' can import it)."""
    try:
        store = get_store(url)
        start.wait(timeout=180)
        for batch in range(_BATCHES):
            first = batch * _POINTS
            store.log_run_batch(own_run, metrics=_points("loss", _POINTS, first))
            store.log_run_batch(
                shared_run,
                metrics=_points(f"w{worker}", _POINTS, first),
                tags={f"worker{worker}": str(batch)},
            )
        store.close()
        results.put((worker, "ok", None))
    except BaseException:
        results.put((worker, "error", traceback.format_exc()))
        start.abort()


def _run(store: BaseStore, experiment: str = "exp", **kwargs: Any) -> Run:
    return store.create_run(store.ensure_experiment(experiment).id, **kwargs)


class TrackingContract:
    """What every store backend must do for experiments, runs and metric series."""

    # -- experiments --------------------------------------------------------------------
    def test_ensure_experiment_is_idempotent(self, store: BaseStore) -> None:
        first = store.ensure_experiment("churn", tags={"team": "ml"})
        again = store.ensure_experiment("churn", tags={"ignored": "x"})
        assert again == first and first.tags == {"team": "ml"}
        assert store.get_experiment("churn") == first == store.get_experiment(first.id)
        store.ensure_experiment("alpha")
        assert [e.name for e in store.list_experiments()] == ["alpha", "churn"]

    def test_unknown_experiment_lists_the_known_ones(self, store: BaseStore) -> None:
        store.ensure_experiment("churn")
        with pytest.raises(NotFound, match=r"'nope' does not exist.*churn"):
            store.get_experiment("nope")
        with pytest.raises(InvalidParameter, match="non-empty"):
            store.ensure_experiment("  ")

    def test_concurrent_ensure_experiment_gives_one(self, store: BaseStore) -> None:
        seen: list[str] = []

        def ensure() -> None:
            seen.append(store.ensure_experiment("race").id)

        threads = [threading.Thread(target=ensure) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen)) == 1 and len(store.list_experiments()) == 1

    # -- runs -----------------------------------------------------------------------------
    def test_create_run_round_trips(self, store: BaseStore) -> None:
        version, _ = store.add_dataset_version(
            "iris", sha256=sha("iris"), schema=[], row_count=1, size_bytes=1, source="x"
        )
        job = store.create_job(
            name="j", kind="training", entrypoint="m:f", inputs={}, parameters={},
            resources={}, tags={},
        )  # fmt: skip
        params = {"C": 1.0, "n": 5, "solver": "saga", "flag": True, "nan": math.nan}
        run = _run(
            store, params=params, tags={"model": "rf"}, job_id=job.id,
            inputs={"train": version.id},
        )  # fmt: skip
        assert run.status is RunStatus.RUNNING and run.end_time is None
        assert run.params == {"C": 1.0, "n": 5, "solver": "saga", "flag": "True", "nan": "nan"}
        assert run.experiment == "exp" and run.name.startswith("exp-")
        assert (run.job_id, run.inputs, run.metrics, run.artifacts) == (
            job.id, {"train": version.id}, {}, {},
        )  # fmt: skip
        assert store.get_run(run.id) == run
        assert abs(datetime.now(UTC) - run.start_time) < timedelta(minutes=5)
        [edge] = store.list_lineage(run.id, "upstream")
        assert (edge.source_id, edge.relation) == (version.id, "input:train")
        assert store.count_runs() == {run.experiment_id: 1}

    def test_create_run_checks_its_links_and_keys(self, store: BaseStore) -> None:
        experiment = store.ensure_experiment("exp")
        with pytest.raises(NotFound, match="Experiment 'exp-nope'"):
            store.create_run("exp-nope")
        with pytest.raises(NotFound, match="Job 'job-nope'"):
            store.create_run(experiment.id, job_id="job-nope")
        with pytest.raises(NotFound, match="dataset version 'ds-nope'"):
            store.create_run(experiment.id, inputs={"train": "ds-nope"})
        with pytest.raises(InvalidParameter, match="characters filters cannot address"):
            store.create_run(experiment.id, params={'bad"key': 1})
        with pytest.raises(NotFound, match="Run 'run-nope'"):
            store.get_run("run-nope")
        assert store.search_runs() == []

    def test_log_run_batch_appends_points_and_keeps_the_latest(self, store: BaseStore) -> None:
        run = _run(store)
        now = time.time()
        store.log_run_batch(
            run.id,
            metrics=[("loss", 0.9, 0, now), ("loss", 0.5, 1, now), ("acc", math.nan, 0, now)],
            params={"C": 2},
            tags={"a": "1"},
        )
        store.log_run_batch(
            run.id,
            metrics=[("loss", 0.7, 0, now), ("big", math.inf, 0, now), ("low", -math.inf, 0, now)],
            tags={"b": "2"},
            artifacts={"model.skops": sha("m")},
        )
        got = store.get_run(run.id)
        assert got.metrics["loss"] == 0.7  # the last logged, whatever its step
        assert math.isnan(got.metrics["acc"])
        assert (got.metrics["big"], got.metrics["low"]) == (math.inf, -math.inf)
        assert got.params == {"C": 2} and got.tags == {"a": "1", "b": "2"}
        assert got.artifacts == {"model.skops": sha("m")}
        history = store.get_metric_history(run.id, "loss")
        assert [(p.step, p.value) for p in history] == [(0, 0.9), (0, 0.7), (1, 0.5)]
        assert all(p.key == "loss" and p.timestamp.tzinfo is not None for p in history)
        assert math.isnan(store.get_metric_history(run.id, "acc")[0].value)
        assert store.get_metric_history(run.id, "never") == []
        with pytest.raises(NotFound):
            store.get_metric_history("run-nope", "loss")

    def test_ending_a_run_is_final(self, store: BaseStore) -> None:
        run = _run(store)
        model = store.create_model(
            name="m", sha256=sha("m"), manifest={}, training_job_id=None, tags={}
        )
        with pytest.raises(InvalidParameter, match="final status"):
            store.log_run_batch(run.id, status=RunStatus.RUNNING)
        with pytest.raises(NotFound, match="Model 'model-nope'"):
            store.log_run_batch(run.id, model_id="model-nope")
        store.log_run_batch(
            run.id, metrics=[("loss", 1.0, 0, time.time())], status=RunStatus.FAILED
        )
        ended = store.get_run(run.id)
        assert ended.status is RunStatus.FAILED and ended.metrics == {"loss": 1.0}
        assert ended.end_time is not None and ended.end_time >= ended.start_time
        with pytest.raises(InvalidState, match="has ended"):
            store.log_run_batch(run.id, status=RunStatus.COMPLETED)
        with pytest.raises(InvalidState, match="has ended"):
            store.log_run_batch(run.id, metrics=[("loss", 2.0, 1, time.time())])
        store.log_run_batch(run.id, tags={"best": "no"}, model_id=model.id)  # still allowed
        again = store.get_run(run.id)
        assert again.tags == {"best": "no"} and again.model_id == model.id
        assert [e.target_id for e in store.list_lineage(run.id, "downstream")] == [model.id]
        with pytest.raises(NotFound):
            store.log_run_batch("run-nope", tags={"a": "b"})

    def test_records_are_frozen_json_friendly_values(self, store: BaseStore) -> None:
        run = _run(store, params={"C": 1})
        store.log_run_batch(run.id, metrics=[("loss", 1.0, 0, time.time())])
        records: list[Any] = [
            store.get_experiment("exp"),
            store.get_run(run.id),
            *store.get_metric_history(run.id, "loss"),
        ]
        for record in records:
            first_field = dataclasses.fields(record)[0].name
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(record, first_field, "x")
            json.dumps(record.to_dict())
        got = store.get_run(run.id)
        got.params["C"] = 99
        assert store.get_run(run.id).params == {"C": 1}

    # -- search ---------------------------------------------------------------------------
    def test_search_equals_brute_force_python_filters(self, store: BaseStore) -> None:
        runs = seed_runs(store)
        experiment_ids = [store.get_experiment("search").id]
        for text, predicate in FILTER_CASES:
            found = {r.id for r in store.search_runs(experiment_ids, text, max_results=10_000)}
            expected = {r.id for r in runs if predicate(r)}
            assert found == expected, f"filter {text!r}"
            assert {r.id for r in runs if parse_run_filter(text).matches(r)} == expected, text
        for text in random_filters(random.Random(7), 60):
            found = {r.id for r in store.search_runs(experiment_ids, text, max_results=10_000)}
            expected = {r.id for r in runs if parse_run_filter(text).matches(r)}
            assert found == expected, f"filter {text!r}"

    def test_search_orders_with_missing_values_last(self, store: BaseStore) -> None:
        runs = seed_runs(store)
        found = store.search_runs(None, "", ["metrics.accuracy DESC"], 10_000)
        assert len(found) == len(runs)
        values = [r.metrics.get("accuracy", math.nan) for r in found]
        known = [v for v in values if not math.isnan(v)]
        assert values[: len(known)] == sorted(known, reverse=True)
        assert math.inf in known and -math.inf in known

        by_c = store.search_runs(None, "", ["params.C"], 10_000)
        c_values = [r.params.get("C") for r in by_c]
        numbers = [v for v in c_values if isinstance(v, int | float)]
        texts = [v for v in c_values if isinstance(v, str)]
        assert c_values == sorted(numbers) + sorted(texts) + [None] * c_values.count(None)

        newest = store.search_runs(None, "", None, 5)
        assert [r.start_time for r in newest] == sorted(
            (r.start_time for r in newest), reverse=True
        )
        by_name = store.search_runs(None, "", ["name DESC"], 10_000)
        assert [r.name for r in by_name] == sorted((r.name for r in runs), reverse=True)

    def test_search_scopes_limits_and_rejects_bad_input(self, store: BaseStore) -> None:
        a, b = _run(store, "a"), _run(store, "b")
        assert [r.id for r in store.search_runs([a.experiment_id])] == [a.id]
        assert {r.id for r in store.search_runs()} == {a.id, b.id}
        assert len(store.search_runs(max_results=1)) == 1
        with pytest.raises(InvalidParameter, match="column 12"):
            store.search_runs(None, "metrics.x >> 1")
        with pytest.raises(InvalidParameter, match="ASC or DESC"):
            store.search_runs(None, "", ["metrics.x UP"])
        with pytest.raises(InvalidParameter, match="positive"):
            store.search_runs(None, "", None, 0)

    # -- concurrency ------------------------------------------------------------------------
    def test_threads_logging_into_one_run_lose_nothing(self, store: BaseStore) -> None:
        run = _run(store)

        def log(worker: int) -> None:
            for batch in range(5):
                store.log_run_batch(
                    run.id, metrics=_points(f"t{worker}", 20, batch * 20), tags={f"t{worker}": "x"}
                )

        threads = [threading.Thread(target=log, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = store.get_run(run.id)
        assert set(got.metrics) == set(got.tags) == {f"t{i}" for i in range(6)}
        for i in range(6):
            assert [p.step for p in store.get_metric_history(run.id, f"t{i}")] == list(range(100))

    def test_concurrent_processes_lose_no_metric_points(self, store: BaseStore) -> None:
        """Eight processes write batches into their own runs and into one shared run."""
        experiment = store.ensure_experiment("concurrent")
        own = [store.create_run(experiment.id).id for _ in range(_PROCESSES)]
        shared = store.create_run(experiment.id).id
        url = store.url
        reports = run_in_processes(
            _log_batches_in_child,
            lambda i, barrier, results: (url, i, own[i], shared, barrier, results),
            _PROCESSES,
        )
        errors = [payload for _, status, payload in reports if status != "ok"]
        assert not errors, "child processes failed:\n" + "\n".join(errors)
        expected_steps = list(range(_BATCHES * _POINTS))
        for run_id in own:
            assert [p.step for p in store.get_metric_history(run_id, "loss")] == expected_steps
        got = store.get_run(shared)
        keys = {f"w{i}" for i in range(_PROCESSES)}
        assert set(got.metrics) == keys, "a concurrent batch lost another's latest metric"
        assert got.tags == {f"worker{i}": str(_BATCHES - 1) for i in range(_PROCESSES)}
        for key in keys:
            assert [p.step for p in store.get_metric_history(shared, key)] == expected_steps


Predicate = Callable[[Run], bool]

__all__ = ["TrackingContract"]
