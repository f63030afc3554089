"""The queue contract, run over both backends: SQLite (a file) and a real redis-server."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from siklus.exceptions import AlreadyExists, InvalidParameter, NotFound
from siklus.serving.asynchronous import InferenceQueue, InferenceStatus, open_queue
from siklus.testing import redis_server_url


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server_url(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    url = request.getfixturevalue("redis_url")
    return f"{url}#test-{uuid.uuid4().hex}"  # a fresh key prefix per test


@pytest.fixture
def queue(queue_url: str) -> Iterator[InferenceQueue]:
    q = open_queue(queue_url, max_attempts=2)
    yield q
    q.close()


def test_fifo_claim_complete_and_counts(queue: InferenceQueue) -> None:
    for i in range(3):
        queue.put(f"m{i}", {"n": i})
    assert queue.counts() == {"Queued": 3, "InProgress": 0, "Completed": 0, "Failed": 0}
    first = queue.claim("w1", visibility_timeout=30)
    assert first is not None and first.id == "m0" and first.body == {"n": 0}
    assert first.status == InferenceStatus.IN_PROGRESS and first.attempts == 1
    assert first.owner == "w1"
    assert queue.complete("m0", "w1", {"rows": 5})
    assert not queue.complete("m0", "w1", {"rows": 6})  # settled once only
    done = queue.get("m0")
    assert done.status == InferenceStatus.COMPLETED and done.result == {"rows": 5}
    second = queue.claim("w1", visibility_timeout=30)
    assert second is not None and second.id == "m1"
    assert queue.fail("m1", "w1", "bad column")
    assert queue.get("m1").reason == "bad column"
    assert queue.counts() == {"Queued": 1, "InProgress": 0, "Completed": 1, "Failed": 1}
    assert queue.backlog() == 1


def test_duplicate_id_and_unknown_id(queue: InferenceQueue) -> None:
    queue.put("a", {})
    with pytest.raises(AlreadyExists, match="'a'"):
        queue.put("a", {})
    with pytest.raises(NotFound, match="'nope'"):
        queue.get("nope")
    assert queue.claim("w", visibility_timeout=1) is not None
    assert queue.claim("w", visibility_timeout=1) is None


def test_only_the_holder_settles(queue: InferenceQueue) -> None:
    queue.put("a", {})
    assert queue.claim("w1", visibility_timeout=30) is not None
    assert not queue.complete("a", "intruder", {})
    assert not queue.fail("a", "intruder", "x")
    assert not queue.extend("a", "intruder", visibility_timeout=30)
    assert queue.extend("a", "w1", visibility_timeout=30)
    assert queue.get("a").status == InferenceStatus.IN_PROGRESS


def test_dead_worker_message_is_requeued_then_failed(queue: InferenceQueue) -> None:
    queue.put("old", {})
    queue.put("new", {})
    assert queue.claim("dies", visibility_timeout=0.05).id == "old"
    time.sleep(0.1)
    again = queue.claim("w2", visibility_timeout=0.05)
    # Re-queued ahead of the newer message, and the first holder lost it.
    assert again is not None and again.id == "old" and again.attempts == 2
    assert not queue.complete("old", "dies", {})
    time.sleep(0.1)
    # Claimed max_attempts (2) times and expired again: Failed, not handed out a third time.
    nxt = queue.claim("w3", visibility_timeout=30)
    assert nxt is not None and nxt.id == "new"
    failed = queue.get("old")
    assert failed.status == InferenceStatus.FAILED and "2 time(s)" in (failed.reason or "")


def _claim_all(url: str, owner: str, out: Any) -> None:
    q = open_queue(url)
    got = []
    while (message := q.claim(owner, visibility_timeout=60)) is not None:
        got.append(message.id)
    q.close()
    out.put(got)


def test_concurrent_claims_from_processes_never_share_a_message(queue_url: str) -> None:
    q = open_queue(queue_url)
    ids = [f"m{i}" for i in range(150)]
    for message_id in ids:
        q.put(message_id, {})
    # Forked: the children open their own connections and claim as fast as they can.
    fork = multiprocessing.get_context("fork")
    out = fork.Queue()
    workers = [fork.Process(target=_claim_all, args=(queue_url, f"w{i}", out)) for i in range(3)]
    for worker in workers:
        worker.start()
    claimed = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    every = [m for batch in claimed for m in batch]
    assert sorted(every) == sorted(ids)  # each claimed exactly once
    assert q.counts()["InProgress"] == len(ids)
    q.close()


def test_bad_urls() -> None:
    with pytest.raises(InvalidParameter, match="sqlite:///"):
        open_queue("kafka://x")
    with pytest.raises(InvalidParameter, match="max_attempts"):
        open_queue("sqlite:////tmp/x.db", max_attempts=0)
