"""The contract every metadata-store backend passes, as a reusable pytest suite.

:class:`StoreContract` holds plain ``test_*`` methods that take a ``store`` fixture (a
fresh, empty :class:`~siklus.store.BaseStore` per test). A backend's test module supplies
the fixture and subclasses the contract, the way Optuna's storages share
``optuna/testing/pytest_storages.py``:

Example:
    >>> import pytest
    >>> from siklus.store import get_store
    >>> from siklus.testing import StoreContract
    >>> @pytest.fixture
    ... def store(tmp_path):
    ...     backend = get_store(f"sqlite:///{tmp_path / 'siklus.db'}")
    ...     yield backend
    ...     backend.close()
    >>> class TestSqliteStore(StoreContract):
    ...     pass

The concurrency tests re-open the backend from other processes with
``get_store(store.url)``, so the fixture's URL must reach the same database.

:func:`postgres_test_url` and :func:`postgres_schema` give such suites a PostgreSQL
database: a fresh schema per test, skipped with instructions when no server is set up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import queue
import re
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siklus.exceptions import AlreadyExists, InvalidState, NotFound
from siklus.store import (
    FINAL_JOB_STATUSES,
    JOB_TRANSITIONS,
    ApprovalStatus,
    BaseStore,
    EndpointStatus,
    Job,
    JobStatus,
    Model,
    get_store,
)

#: Environment variable holding the SQLAlchemy URL of a PostgreSQL database for tests.
POSTGRES_URL_ENV = "SIKLUS_TEST_POSTGRES_URL"

_PROCESSES = 8
_VERSIONS_PER_PROCESS = 5
_CHILD_TIMEOUT_S = 180.0


def sha(text: str) -> str:
    """Return the hex sha256 of ``text``: a well-formed, distinct digest per string."""
    return hashlib.sha256(text.encode()).hexdigest()


def _add_dataset(store: BaseStore, name: str, content: str, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "sha256": sha(content),
        "schema": [{"name": "x", "type": "int64"}, {"name": "y", "type": "string"}],
        "row_count": 10,
        "size_bytes": 1234,
        "source": f"file:///data/{name}.csv",
        **overrides,
    }
    return store.add_dataset_version(name, **arguments)


def _create_job(store: BaseStore, *, name: str = "job", kind: str = "training") -> Job:
    return store.create_job(
        name=name,
        kind=kind,
        entrypoint="siklus.training:run",
        inputs={"train": "iris:1", "nested": {"a": [1, 2, {"b": None}]}},
        parameters={"max_depth": 3, "learning_rate": 0.1, "flags": [True, False]},
        resources={"cpus": 2, "memory_mb": 512},
        tags={"team": "ml"},
    )


def _path_to(status: JobStatus) -> list[JobStatus]:
    """The shortest list of moves from Pending to ``status`` in ``JOB_TRANSITIONS``."""
    paths: dict[JobStatus, list[JobStatus]] = {JobStatus.PENDING: []}
    todo = deque([JobStatus.PENDING])
    while todo:
        current = todo.popleft()
        for nxt in sorted(JOB_TRANSITIONS[current]):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                todo.append(nxt)
    return paths[status]


def _job_in(store: BaseStore, status: JobStatus) -> Job:
    job = _create_job(store, name=f"to-{status.value}")
    for step in _path_to(status):
        job = store.transition_job(job.id, step)
    assert job.status == status
    return job


def _assert_utc(value: datetime | None, what: str) -> None:
    assert value is not None, f"{what} is None"
    assert value.tzinfo is not None, f"{what} is naive: {value!r}"
    assert value.utcoffset() == timedelta(0), f"{what} is not in UTC: {value!r}"
    assert abs(datetime.now(UTC) - value) < timedelta(minutes=5), f"{what} is not now: {value}"


def _model(store: BaseStore, name: str = "m", content: str = "model") -> Model:
    return store.create_model(
        name=name, sha256=sha(content), manifest={}, training_job_id=None, tags={}
    )


def _registered_package(store: BaseStore, group: str = "churn") -> Any:
    model = _model(store)
    store.ensure_model_package_group(group)
    return store.create_model_package(
        group, model_id=model.id, metrics={"f1": 0.9}, description="first", tags={}
    )


def _add_versions_in_child(
    url: str,
    worker: int,
    count: int,
    start: Any,
    results: Any,
) -> None:
    """Child-process body of the concurrency test (module level so 'spawn' can import it)."""
    try:
        store = get_store(url)
        start.wait(timeout=_CHILD_TIMEOUT_S)
        added = []
        for index in range(count):
            for content in (f"worker-{worker}-{index}", "shared-content"):
                version, created = _add_dataset(store, "shared", content)
                added.append((version.sha256, version.version, version.id, created))
        store.close()
        results.put((worker, "ok", added))
    except BaseException:  # report everything, "database is locked" included
        results.put((worker, "error", traceback.format_exc()))
        start.abort()  # release the others now rather than at the barrier's timeout


def open_store_in_child(url: str, worker: int, start: Any, results: Any) -> None:
    """Child-process body: wait for the others, open (so migrate) the store, write once.

    Each child records the lineage edge ``("worker", str(worker)) → ("database",
    "shared")``, so the parent can check every open reached a working database. Use with
    :func:`run_in_processes`.
    """
    try:
        start.wait(timeout=_CHILD_TIMEOUT_S)
        store = get_store(url)
        store.add_lineage(("worker", str(worker)), ("database", "shared"), "opened")
        store.close()
        results.put((worker, "ok", None))
    except BaseException:
        results.put((worker, "error", traceback.format_exc()))
        start.abort()


def run_in_processes(
    target: Callable[..., None], args_for: Callable[[int, Any, Any], tuple[Any, ...]], n: int
) -> list[tuple[int, str, Any]]:
    """Run ``target`` in ``n`` spawned processes that start together; collect their reports.

    Args:
        target: A function importable by module name (not one defined in a test file):
            it receives ``args_for(i, barrier, results)`` and must put exactly one
            ``(i, "ok" | "error", payload)`` tuple on ``results``.
        args_for: Builds the arguments of process ``i``.
        n: How many processes.

    Returns:
        One report per process, in process order; a process that died without reporting
        gets an ``"error"`` report with its exit code.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    processes = [ctx.Process(target=target, args=args_for(i, barrier, results)) for i in range(n)]
    for process in processes:
        process.start()
    reports: dict[int, tuple[int, str, Any]] = {}
    try:
        deadline = time.monotonic() + _CHILD_TIMEOUT_S
        while len(reports) < n and time.monotonic() < deadline:
            try:
                report = results.get(timeout=0.2)
            except queue.Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    break  # every child is gone; those that did not report crashed
                continue
            reports[report[0]] = report
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
    for i, process in enumerate(processes):
        if i not in reports:
            reports[i] = (
                i,
                "error",
                f"process {i} exited with code {process.exitcode} "
                "without reporting (see its stderr above)",
            )
    return [reports[i] for i in range(n)]


class StoreContract:
    """What every :class:`~siklus.store.BaseStore` backend must do.

    Subclass it in a test module that defines a ``store`` fixture yielding a fresh, empty
    store per test; pytest collects the inherited tests for the subclass.
    """

    # -- datasets ----------------------------------------------------------------------
    def test_add_dataset_version_creates_version_one(self, store: BaseStore) -> None:
        version, created = _add_dataset(
            store, "iris", "v1", parent_id=None, tags={"owner": "ana"}, row_count=150
        )
        assert created is True
        assert version.name == "iris"
        assert version.version == 1
        assert version.ref == "iris:1"
        assert version.sha256 == sha("v1")
        assert version.schema == [{"name": "x", "type": "int64"}, {"name": "y", "type": "string"}]
        assert (version.row_count, version.size_bytes) == (150, 1234)
        assert version.source == "file:///data/iris.csv"
        assert version.parent_id is None
        assert version.tags == {"owner": "ana"}
        assert version.id
        assert store.get_dataset_version_by_id(version.id) == version

    def test_same_content_returns_the_existing_version(self, store: BaseStore) -> None:
        first, _ = _add_dataset(store, "iris", "v1")
        again, created = _add_dataset(store, "iris", "v1", source="elsewhere", row_count=1)
        assert created is False
        assert again == first
        assert [v.version for v in store.list_dataset_versions("iris")] == [1]

    def test_new_content_adds_the_next_version(self, store: BaseStore) -> None:
        v1, _ = _add_dataset(store, "iris", "v1")
        v2, created2 = _add_dataset(store, "iris", "v2", parent_id=v1.id)
        v3, created3 = _add_dataset(store, "iris", "v3", parent_id=v2.id)
        assert (created2, created3) == (True, True)
        assert (v2.version, v3.version) == (2, 3)
        assert v3.parent_id == v2.id
        assert len({v1.id, v2.id, v3.id}) == 3
        # Old content again is still the old version, not a new one.
        assert _add_dataset(store, "iris", "v1") == (v1, False)

    def test_versions_are_numbered_per_dataset(self, store: BaseStore) -> None:
        _add_dataset(store, "iris", "a")
        _add_dataset(store, "iris", "b")
        other, created = _add_dataset(store, "wine", "a")
        assert created is True
        assert other.version == 1
        assert other.sha256 == sha("a")

    def test_get_latest_and_specific_version(self, store: BaseStore) -> None:
        v1, _ = _add_dataset(store, "iris", "v1")
        v2, _ = _add_dataset(store, "iris", "v2")
        assert store.get_dataset_version("iris") == v2
        assert store.get_dataset_version("iris", 1) == v1
        assert store.get_dataset_version("iris", 2) == v2

    def test_missing_dataset_raises_a_helpful_not_found(self, store: BaseStore) -> None:
        with pytest.raises(NotFound, match="nope") as empty:
            store.get_dataset_version("nope")
        assert isinstance(empty.value, KeyError)
        _add_dataset(store, "iris", "v1")
        with pytest.raises(NotFound) as missing:
            store.get_dataset_version("nope")
        assert "'nope'" in str(missing.value)
        assert "iris" in str(missing.value), "the message should list the known datasets"
        with pytest.raises(NotFound) as missing_version:
            store.get_dataset_version("iris", 7)
        assert "7" in str(missing_version.value)
        assert "iris" in str(missing_version.value)
        with pytest.raises(NotFound, match="ds-missing"):
            store.get_dataset_version_by_id("ds-missing")

    def test_list_dataset_versions(self, store: BaseStore) -> None:
        assert store.list_dataset_versions() == []
        wine1, _ = _add_dataset(store, "wine", "w1")
        iris1, _ = _add_dataset(store, "iris", "i1")
        iris2, _ = _add_dataset(store, "iris", "i2")
        wine2, _ = _add_dataset(store, "wine", "w2")
        assert store.list_dataset_versions("iris") == [iris1, iris2]
        assert store.list_dataset_versions("wine") == [wine1, wine2]
        assert store.list_dataset_versions("unknown") == []
        everything = store.list_dataset_versions()
        assert sorted(everything, key=lambda v: v.id) == sorted(
            [wine1, iris1, iris2, wine2], key=lambda v: v.id
        )
        for name in ("iris", "wine"):
            versions = [v.version for v in everything if v.name == name]
            assert versions == [1, 2], f"versions of {name} are not oldest first: {versions}"

    # -- jobs --------------------------------------------------------------------------
    def test_create_job_is_pending_and_round_trips(self, store: BaseStore) -> None:
        job = _create_job(store, name="train-1")
        assert job.status == JobStatus.PENDING
        assert job.name == "train-1"
        assert job.kind == "training"
        assert job.entrypoint == "siklus.training:run"
        assert job.inputs == {"train": "iris:1", "nested": {"a": [1, 2, {"b": None}]}}
        assert job.parameters == {"max_depth": 3, "learning_rate": 0.1, "flags": [True, False]}
        assert job.resources == {"cpus": 2, "memory_mb": 512}
        assert job.tags == {"team": "ml"}
        assert job.outputs == {}
        assert job.stop_requested is False
        assert (job.started_at, job.ended_at, job.failure_reason) == (None, None, None)
        assert (job.pid, job.host, job.log_path) == (None, None, None)
        assert store.get_job(job.id) == job

    def test_get_unknown_job_raises_not_found(self, store: BaseStore) -> None:
        with pytest.raises(NotFound, match="job-missing"):
            store.get_job("job-missing")
        with pytest.raises(NotFound):
            store.transition_job("job-missing", JobStatus.IN_PROGRESS)
        with pytest.raises(NotFound):
            store.update_job("job-missing", pid=1)

    def test_every_allowed_transition_works(self, store: BaseStore) -> None:
        failures = []
        for source, targets in JOB_TRANSITIONS.items():
            for target in sorted(targets):
                job = _job_in(store, source)
                try:
                    moved = store.transition_job(job.id, target)
                except Exception as exc:
                    failures.append(f"{source.value} -> {target.value}: {exc!r}")
                    continue
                if moved.status != target or store.get_job(job.id).status != target:
                    failures.append(f"{source.value} -> {target.value}: ended {moved.status}")
        assert not failures, "allowed moves refused:\n" + "\n".join(failures)

    def test_every_disallowed_transition_raises_invalid_state(self, store: BaseStore) -> None:
        failures = []
        for source in JobStatus:
            for target in JobStatus:
                if target in JOB_TRANSITIONS[source]:
                    continue
                job = _job_in(store, source)
                try:
                    store.transition_job(job.id, target)
                except InvalidState:
                    pass
                except Exception as exc:
                    failures.append(f"{source.value} -> {target.value}: raised {exc!r}")
                else:
                    failures.append(f"{source.value} -> {target.value}: was allowed")
                if store.get_job(job.id) != job:
                    failures.append(f"{source.value} -> {target.value}: changed the job")
        assert not failures, "disallowed moves not refused:\n" + "\n".join(failures)

    def test_final_states_are_final(self, store: BaseStore) -> None:
        for status in FINAL_JOB_STATUSES:
            assert status.is_final
            assert JOB_TRANSITIONS[status] == frozenset()
            job = _job_in(store, status)
            with pytest.raises(InvalidState, match=job.id):
                store.transition_job(job.id, JobStatus.IN_PROGRESS)

    def test_transitions_stamp_started_and_ended_at(self, store: BaseStore) -> None:
        job = _create_job(store)
        running = store.transition_job(job.id, JobStatus.IN_PROGRESS)
        _assert_utc(running.started_at, "started_at")
        assert running.ended_at is None
        stopping = store.transition_job(job.id, JobStatus.STOPPING)
        assert stopping.started_at == running.started_at, "started_at must not move"
        assert stopping.ended_at is None, "Stopping is not final"
        done = store.transition_job(job.id, JobStatus.STOPPED)
        _assert_utc(done.ended_at, "ended_at")
        assert done.started_at == running.started_at
        assert done.ended_at is not None and running.started_at is not None
        assert done.ended_at >= running.started_at >= job.created_at

        never_started = store.transition_job(_create_job(store).id, JobStatus.FAILED)
        assert never_started.started_at is None
        _assert_utc(never_started.ended_at, "ended_at")

    def test_transition_sets_failure_reason_and_fields(self, store: BaseStore) -> None:
        job = _create_job(store)
        running = store.transition_job(
            job.id, JobStatus.IN_PROGRESS, pid=4242, host="worker-1", log_path="/tmp/job.log"
        )
        assert (running.pid, running.host, running.log_path) == (4242, "worker-1", "/tmp/job.log")
        failed = store.transition_job(
            job.id, JobStatus.FAILED, failure_reason="ValueError: bad input", outputs={"n": 1}
        )
        assert failed.failure_reason == "ValueError: bad input"
        assert failed.outputs == {"n": 1}
        assert store.get_job(job.id) == failed

    def test_transition_compare_and_set(self, store: BaseStore) -> None:
        job = _create_job(store)
        with pytest.raises(InvalidState, match="Pending"):
            store.transition_job(job.id, JobStatus.COMPLETED, expected=JobStatus.IN_PROGRESS)
        assert store.get_job(job.id).status == JobStatus.PENDING
        moved = store.transition_job(job.id, JobStatus.IN_PROGRESS, expected=JobStatus.PENDING)
        assert moved.status == JobStatus.IN_PROGRESS
        with pytest.raises(InvalidState):
            store.transition_job(job.id, JobStatus.STOPPED, expected=JobStatus.PENDING)
        assert store.get_job(job.id).status == JobStatus.IN_PROGRESS

    def test_compare_and_set_lets_exactly_one_thread_win(self, store: BaseStore) -> None:
        job = _create_job(store)
        threads = 8
        start = threading.Barrier(threads)
        outcomes: list[str] = []
        lock = threading.Lock()

        def claim() -> None:
            start.wait()
            try:
                store.transition_job(job.id, JobStatus.IN_PROGRESS, expected=JobStatus.PENDING)
                outcome = "won"
            except InvalidState:
                outcome = "lost"
            except Exception as exc:
                outcome = repr(exc)
            with lock:
                outcomes.append(outcome)

        workers = [threading.Thread(target=claim) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=_CHILD_TIMEOUT_S)
        assert sorted(outcomes) == ["lost"] * (threads - 1) + ["won"], outcomes

    def test_update_job_sets_fields(self, store: BaseStore) -> None:
        job = _create_job(store)
        updated = store.update_job(
            job.id,
            pid=99,
            pid_started_at=1700000000.5,
            host="box",
            log_path="/logs/j.log",
            outputs={"model": "model-1", "metrics": {"acc": 0.5}},
            wall_seconds=1.5,
            cpu_seconds=0.75,
            peak_rss_bytes=2**33,
            stop_requested=True,
        )
        assert updated.status == JobStatus.PENDING
        assert (updated.pid, updated.pid_started_at, updated.host) == (99, 1700000000.5, "box")
        assert updated.log_path == "/logs/j.log"
        assert updated.outputs == {"model": "model-1", "metrics": {"acc": 0.5}}
        assert (updated.wall_seconds, updated.cpu_seconds) == (1.5, 0.75)
        assert updated.peak_rss_bytes == 2**33
        assert updated.stop_requested is True
        assert store.get_job(job.id) == updated

    def test_update_job_refuses_status_and_unknown_fields(self, store: BaseStore) -> None:
        job = _create_job(store)
        with pytest.raises(ValueError, match="status"):
            store.update_job(job.id, status=JobStatus.COMPLETED)
        with pytest.raises(ValueError, match="colour"):
            store.update_job(job.id, colour="red")
        assert store.get_job(job.id) == job

    def test_list_jobs_newest_first_with_filters(self, store: BaseStore) -> None:
        first = _create_job(store, name="a", kind="training")
        second = _create_job(store, name="b", kind="etl")
        third = _create_job(store, name="c", kind="training")
        store.transition_job(second.id, JobStatus.IN_PROGRESS)
        assert [j.id for j in store.list_jobs()] == [third.id, second.id, first.id]
        assert [j.id for j in store.list_jobs(kind="training")] == [third.id, first.id]
        assert [j.id for j in store.list_jobs(status=JobStatus.IN_PROGRESS)] == [second.id]
        assert [j.id for j in store.list_jobs(kind="etl", status=JobStatus.PENDING)] == []
        assert [j.id for j in store.list_jobs(limit=2)] == [third.id, second.id]
        assert store.list_jobs(kind="unknown") == []

    # -- models and evaluations ------------------------------------------------------------
    def test_models(self, store: BaseStore) -> None:
        job = _create_job(store)
        first = store.create_model(
            name="churn",
            sha256=sha("m1"),
            manifest={"estimator": "sklearn.linear_model.LogisticRegression", "n": [1]},
            training_job_id=job.id,
            tags={"stage": "dev"},
        )
        second = _model(store, "other", "m2")
        third = _model(store, "churn", "m3")
        assert first.manifest == {"estimator": "sklearn.linear_model.LogisticRegression", "n": [1]}
        assert (first.training_job_id, first.tags) == (job.id, {"stage": "dev"})
        assert first.sha256 == sha("m1")
        assert store.get_model(first.id) == first
        assert [m.id for m in store.list_models()] == [third.id, second.id, first.id]
        assert [m.id for m in store.list_models("churn")] == [third.id, first.id]
        with pytest.raises(NotFound, match="model-missing"):
            store.get_model("model-missing")

    def test_evaluations(self, store: BaseStore) -> None:
        dataset, _ = _add_dataset(store, "iris", "v1")
        model_a = _model(store, "a", "a")
        model_b = _model(store, "b", "b")
        first = store.create_evaluation(
            model_id=model_a.id,
            dataset_version_id=dataset.id,
            split="test",
            metrics={"accuracy": 0.93, "confusion_matrix": [[5, 1], [0, 4]]},
            verdict={"passed": True, "failed": []},
            tags={"k": "v"},
        )
        second = store.create_evaluation(
            model_id=model_b.id,
            dataset_version_id=dataset.id,
            split="validation",
            metrics={},
            verdict=None,
            tags={},
        )
        third = store.create_evaluation(
            model_id=model_a.id,
            dataset_version_id=dataset.id,
            split="validation",
            metrics={"accuracy": 0.9},
            verdict=None,
            tags={},
        )
        assert first.metrics == {"accuracy": 0.93, "confusion_matrix": [[5, 1], [0, 4]]}
        assert first.verdict == {"passed": True, "failed": []}
        assert (first.split, first.dataset_version_id, first.tags) == (
            "test",
            dataset.id,
            {"k": "v"},
        )
        assert second.verdict is None
        assert [e.id for e in store.list_evaluations()] == [third.id, second.id, first.id]
        assert store.list_evaluations(model_a.id) == [third, first]
        assert store.list_evaluations("model-missing") == []

    # -- model registry -----------------------------------------------------------------------
    def test_ensure_model_package_group_is_idempotent(self, store: BaseStore) -> None:
        group = store.ensure_model_package_group("churn", description="first", tags={"a": "b"})
        assert (group.name, group.description, group.tags) == ("churn", "first", {"a": "b"})
        _assert_utc(group.created_at, "created_at")
        again = store.ensure_model_package_group("churn", description="second")
        assert again == group
        store.ensure_model_package_group("alpha")
        assert [g.name for g in store.list_model_package_groups()] == ["alpha", "churn"]

    def test_model_package_versions_count_per_group(self, store: BaseStore) -> None:
        model = _model(store)
        store.ensure_model_package_group("a")
        store.ensure_model_package_group("b")
        made = [
            store.create_model_package(
                group, model_id=model.id, metrics={"f1": 0.5}, description=group, tags={"t": "1"}
            )
            for group in ("a", "a", "b", "a")
        ]
        assert [(p.group, p.version) for p in made] == [("a", 1), ("a", 2), ("b", 1), ("a", 3)]
        assert [p.ref for p in made] == ["a:1", "a:2", "b:1", "a:3"]
        first = made[0]
        assert first.approval_status == ApprovalStatus.PENDING
        assert (first.status_reason, first.status_by, first.status_at) == (None, None, None)
        assert (first.model_id, first.metrics, first.tags) == (model.id, {"f1": 0.5}, {"t": "1"})
        assert len({p.id for p in made}) == 4
        assert store.get_model_package("a") == made[3]
        assert store.get_model_package("a", 2) == made[1]
        assert store.get_model_package_by_id(made[2].id) == made[2]
        assert store.list_model_packages("a") == [made[0], made[1], made[3]]
        assert [(p.group, p.version) for p in store.list_model_packages()] == [
            ("a", 1),
            ("a", 2),
            ("a", 3),
            ("b", 1),
        ]

    def test_model_package_not_found(self, store: BaseStore) -> None:
        model = _model(store)
        with pytest.raises(NotFound, match="nope"):
            store.create_model_package(
                "nope", model_id=model.id, metrics={}, description="", tags={}
            )
        store.ensure_model_package_group("churn")
        with pytest.raises(NotFound, match="model-missing"):
            store.create_model_package(
                "churn", model_id="model-missing", metrics={}, description="", tags={}
            )
        assert store.list_model_packages() == []
        with pytest.raises(NotFound, match="churn"):
            store.get_model_package("churn")
        with pytest.raises(NotFound, match="nope"):
            store.get_model_package("nope", 1)
        store.create_model_package("churn", model_id=model.id, metrics={}, description="", tags={})
        with pytest.raises(NotFound, match="2"):
            store.get_model_package("churn", 2)
        with pytest.raises(NotFound, match="pkg-missing"):
            store.get_model_package_by_id("pkg-missing")
        with pytest.raises(NotFound, match="pkg-missing"):
            store.set_approval("pkg-missing", ApprovalStatus.APPROVED, reason=None, by=None)

    def test_approval_records_who_why_and_when(self, store: BaseStore) -> None:
        package = _registered_package(store)
        approved = store.set_approval(
            package.id, ApprovalStatus.APPROVED, reason="F1 above target", by="ana"
        )
        assert approved.approval_status == ApprovalStatus.APPROVED
        assert (approved.status_reason, approved.status_by) == ("F1 above target", "ana")
        _assert_utc(approved.status_at, "status_at")
        assert approved.version == package.version
        assert store.get_model_package_by_id(package.id) == approved
        rejected = store.set_approval(
            package.id, ApprovalStatus.REJECTED, reason="bias found", by="ben"
        )
        assert (rejected.approval_status, rejected.status_by) == (ApprovalStatus.REJECTED, "ben")
        assert rejected.status_at is not None and approved.status_at is not None
        assert rejected.status_at >= approved.status_at

    def test_concurrent_model_packages_get_distinct_versions(self, store: BaseStore) -> None:
        model = _model(store)
        store.ensure_model_package_group("churn")
        threads, each = 4, 3
        start = threading.Barrier(threads)
        errors: list[str] = []

        def register() -> None:
            start.wait()
            for _ in range(each):
                try:
                    store.create_model_package(
                        "churn", model_id=model.id, metrics={}, description="", tags={}
                    )
                except Exception as exc:
                    errors.append(repr(exc))

        workers = [threading.Thread(target=register) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=_CHILD_TIMEOUT_S)
        assert not errors, errors
        versions = [p.version for p in store.list_model_packages("churn")]
        assert versions == list(range(1, threads * each + 1))

    # -- endpoints ------------------------------------------------------------------------------
    def test_create_endpoint(self, store: BaseStore) -> None:
        endpoint = store.create_endpoint(
            "churn-api", model_package_id="pkg-1", tags={"env": "dev"}, log_path="/logs/e.log"
        )
        assert endpoint.name == "churn-api"
        assert endpoint.status == EndpointStatus.CREATING
        assert (endpoint.model_package_id, endpoint.tags) == ("pkg-1", {"env": "dev"})
        assert endpoint.log_path == "/logs/e.log"
        assert (endpoint.host, endpoint.port, endpoint.pid, endpoint.url) == (
            None,
            None,
            None,
            None,
        )
        _assert_utc(endpoint.created_at, "created_at")
        _assert_utc(endpoint.updated_at, "updated_at")
        assert store.get_endpoint("churn-api") == endpoint
        with pytest.raises(NotFound, match="missing"):
            store.get_endpoint("missing")
        with pytest.raises(NotFound, match="missing"):
            store.update_endpoint("missing", status=EndpointStatus.FAILED)

    def test_live_endpoint_name_is_taken(self, store: BaseStore) -> None:
        store.create_endpoint("api", model_package_id="pkg-1", tags={}, log_path=None)
        with pytest.raises(AlreadyExists, match="api"):
            store.create_endpoint("api", model_package_id="pkg-2", tags={}, log_path=None)
        store.update_endpoint("api", status=EndpointStatus.IN_SERVICE)
        with pytest.raises(AlreadyExists):
            store.create_endpoint("api", model_package_id="pkg-2", tags={}, log_path=None)
        assert store.get_endpoint("api").model_package_id == "pkg-1"

    def test_endpoint_can_be_recreated_after_deletion(self, store: BaseStore) -> None:
        store.create_endpoint("api", model_package_id="pkg-1", tags={"v": "1"}, log_path="/a")
        store.update_endpoint(
            "api", status=EndpointStatus.IN_SERVICE, host="127.0.0.1", port=8080, pid=7
        )
        deleted = store.update_endpoint("api", status=EndpointStatus.DELETED)
        again = store.create_endpoint(
            "api", model_package_id="pkg-2", tags={"v": "2"}, log_path=None
        )
        assert again.status == EndpointStatus.CREATING
        assert (again.model_package_id, again.tags, again.log_path) == ("pkg-2", {"v": "2"}, None)
        assert (again.host, again.port, again.pid, again.failure_reason) == (None, None, None, None)
        assert again.created_at >= deleted.updated_at

    def test_update_endpoint_stamps_updated_at(self, store: BaseStore) -> None:
        created = store.create_endpoint("api", model_package_id="pkg-1", tags={}, log_path=None)
        time.sleep(0.01)
        serving = store.update_endpoint(
            "api", status=EndpointStatus.IN_SERVICE, host="127.0.0.1", port=8080, pid=12
        )
        assert serving.status == EndpointStatus.IN_SERVICE
        assert (serving.host, serving.port, serving.pid) == ("127.0.0.1", 8080, 12)
        assert serving.url == "http://127.0.0.1:8080"
        assert serving.created_at == created.created_at
        assert serving.updated_at > created.updated_at
        _assert_utc(serving.updated_at, "updated_at")
        failed = store.update_endpoint(
            "api", status=EndpointStatus.FAILED, failure_reason="port in use"
        )
        assert (failed.status, failed.failure_reason) == (EndpointStatus.FAILED, "port in use")
        assert store.get_endpoint("api") == failed

    def test_list_endpoints_hides_deleted(self, store: BaseStore) -> None:
        for name in ("b", "a", "c"):
            store.create_endpoint(name, model_package_id="pkg-1", tags={}, log_path=None)
        store.update_endpoint("b", status=EndpointStatus.DELETED)
        assert sorted(e.name for e in store.list_endpoints()) == ["a", "c"]
        everything = store.list_endpoints(include_deleted=True)
        assert sorted(e.name for e in everything) == ["a", "b", "c"]

    # -- lineage --------------------------------------------------------------------------------
    def test_lineage_is_idempotent_and_queryable(self, store: BaseStore) -> None:
        store.add_lineage(("dataset_version", "ds-1"), ("job", "job-1"), "input")
        store.add_lineage(("dataset_version", "ds-1"), ("job", "job-1"), "input")
        store.add_lineage(("dataset_version", "ds-2"), ("job", "job-1"), "input")
        store.add_lineage(("job", "job-1"), ("model", "model-1"), "output")
        upstream = store.list_lineage("job-1", "upstream")
        assert [(e.source_type, e.source_id, e.relation) for e in upstream] == [
            ("dataset_version", "ds-1", "input"),
            ("dataset_version", "ds-2", "input"),
        ]
        assert all((e.target_type, e.target_id) == ("job", "job-1") for e in upstream)
        downstream = store.list_lineage("job-1", "downstream")
        assert [(e.target_type, e.target_id, e.relation) for e in downstream] == [
            ("model", "model-1", "output")
        ]
        assert [e.source_id for e in store.list_lineage("model-1", "upstream")] == ["job-1"]
        assert store.list_lineage("model-1", "downstream") == []
        assert store.list_lineage("unknown", "upstream") == []
        for edge in [*upstream, *downstream]:
            _assert_utc(edge.created_at, "created_at")
        # A different relation between the same two entities is a different edge.
        store.add_lineage(("job", "job-1"), ("model", "model-1"), "metrics")
        assert len(store.list_lineage("model-1", "upstream")) == 2

    # -- records --------------------------------------------------------------------------------
    def _one_of_each(self, store: BaseStore) -> list[Any]:
        dataset, _ = _add_dataset(store, "iris", "v1")
        job = store.transition_job(_create_job(store).id, JobStatus.IN_PROGRESS)
        job = store.transition_job(job.id, JobStatus.COMPLETED)
        package = _registered_package(store)
        package = store.set_approval(package.id, ApprovalStatus.APPROVED, reason="ok", by="me")
        model = store.get_model(package.model_id)
        evaluation = store.create_evaluation(
            model_id=model.id,
            dataset_version_id=dataset.id,
            split="test",
            metrics={},
            verdict=None,
            tags={},
        )
        group = store.list_model_package_groups()[0]
        endpoint = store.create_endpoint("api", model_package_id=package.id, tags={}, log_path=None)
        store.add_lineage(("dataset_version", dataset.id), ("job", job.id), "input")
        edge = store.list_lineage(job.id, "upstream")[0]
        return [dataset, job, model, evaluation, group, package, endpoint, edge]

    def test_timestamps_are_timezone_aware_utc(self, store: BaseStore) -> None:
        for record in self._one_of_each(store):
            for field in dataclasses.fields(record):
                value = getattr(record, field.name)
                if field.name.endswith("_at") and not field.name.startswith("pid_"):
                    _assert_utc(value, f"{type(record).__name__}.{field.name}")

    def test_records_are_frozen_values(self, store: BaseStore) -> None:
        for record in self._one_of_each(store):
            name = type(record).__name__
            first_field = dataclasses.fields(record)[0].name
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(record, first_field, "changed")
            as_dict = record.to_dict()
            assert set(as_dict) == {f.name for f in dataclasses.fields(record)}, name
            json.dumps(as_dict)  # JSON-friendly: datetimes and enums are converted

    def test_changing_a_returned_or_given_dict_does_not_change_the_store(
        self, store: BaseStore
    ) -> None:
        tags = {"team": "ml"}
        dataset, _ = _add_dataset(store, "iris", "v1", tags=tags)
        tags["team"] = "changed"
        dataset.tags["team"] = "changed too"
        assert store.get_dataset_version("iris").tags == {"team": "ml"}
        job = _create_job(store)
        job.parameters["max_depth"] = 99
        assert store.get_job(job.id).parameters["max_depth"] == 3

    # -- concurrency ----------------------------------------------------------------------------
    def test_concurrent_processes_lose_no_dataset_versions(self, store: BaseStore) -> None:
        """Eight processes add distinct and identical content to one dataset at once."""
        url = store.url
        reports = run_in_processes(
            _add_versions_in_child,
            lambda i, barrier, results: (url, i, _VERSIONS_PER_PROCESS, barrier, results),
            _PROCESSES,
        )
        errors = [payload for _, status, payload in reports if status != "ok"]
        assert not errors, "child processes failed:\n" + "\n".join(errors)

        added = [entry for _, _, payload in reports for entry in payload]
        distinct = [entry for entry in added if entry[0] != sha("shared-content")]
        shared = [entry for entry in added if entry[0] == sha("shared-content")]
        assert all(created for *_, created in distinct), "distinct content must be new"
        assert sum(created for *_, created in shared) == 1, "shared content created once"
        assert len({(version, version_id) for _, version, version_id, _ in shared}) == 1

        expected = _PROCESSES * _VERSIONS_PER_PROCESS + 1
        stored = store.list_dataset_versions("shared")
        assert [v.version for v in stored] == list(range(1, expected + 1))
        assert len({v.sha256 for v in stored}) == expected
        by_sha = {v.sha256: (v.version, v.id) for v in stored}
        for digest, version, version_id, _ in added:
            assert by_sha[digest] == (version, version_id), "a child saw a version that was lost"


# -- PostgreSQL for tests -------------------------------------------------------------------
def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _conninfo(url: str) -> str:
    """A libpq URI from a SQLAlchemy URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


_HOW_TO_ENABLE = (
    "set {env} to a SQLAlchemy URL of a database the tests may create schemas in, e.g. "
    "{env}=postgresql+psycopg://siklus:siklus@127.0.0.1/siklus_test (`make test` starts a "
    "local server with scripts/start-postgres.sh and sets it)"
)


@functools.cache
def _probe_postgres(url: str) -> str | None:
    """Return why ``url`` cannot be used for tests, or None when it answers."""
    how = _HOW_TO_ENABLE.format(env=POSTGRES_URL_ENV)
    if not url:
        return f"PostgreSQL tests skipped: {POSTGRES_URL_ENV} is not set; to run them, {how}."
    if not url.startswith("postgresql"):
        return (
            f"PostgreSQL tests skipped: {POSTGRES_URL_ENV}={_redact(url)!r} is not a "
            f"postgresql:// URL; {how}."
        )
    try:
        import psycopg
    except ImportError:
        return "PostgreSQL tests skipped: psycopg is not installed (pip install 'siklus[dev]')."
    try:
        with psycopg.connect(_conninfo(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"PostgreSQL tests skipped: cannot connect to {_redact(url)} ({reason}); start "
            f"the server (scripts/start-postgres.sh) or {how}."
        )
    return None


def postgres_test_url() -> str:
    """Return ``SIKLUS_TEST_POSTGRES_URL`` if the server answers, else skip the test.

    The skip message says how to enable the PostgreSQL tests. The probe runs once per
    process.

    Returns:
        The SQLAlchemy URL from the environment.
    """
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    problem = _probe_postgres(url)
    if problem is not None:
        pytest.skip(problem)
    return url


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """Create an empty schema for one test; yield a URL whose connections use only it.

    The schema is dropped (with everything in it) on exit, so tests never see each
    other's rows and may run beside other test sessions on the same database.

    Args:
        url: A PostgreSQL SQLAlchemy URL (``postgresql+psycopg://…``).

    Yields:
        ``url`` with ``options=-csearch_path=<schema>`` added.
    """
    import psycopg

    schema = f"siklus_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_conninfo(url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


__all__ = [
    "POSTGRES_URL_ENV",
    "StoreContract",
    "open_store_in_child",
    "postgres_schema",
    "postgres_test_url",
    "run_in_processes",
    "sha",
]
