"""The resource contract (documents, events, claims, metric data) every store backend passes.

Used like :class:`~siklus.testing.StoreContract`: a test module supplies a ``store``
fixture (a fresh, empty store per test) and subclasses :class:`ResourceContract`.
"""

from __future__ import annotations

import itertools
import traceback
from typing import Any

import pytest

from siklus.exceptions import AlreadyExists, InvalidParameter, InvalidState, NotFound
from siklus.store import BaseStore, get_store
from siklus.testing._store_contract import run_in_processes

_PROCESSES = 6


def _claim_in_child(url: str, worker: int, start: Any, results: Any) -> None:
    """Child body of the claim race: every process claims the same keys at once."""
    try:
        store = get_store(url)
        start.wait(timeout=180)
        won = [key for key in (f"slot-{i}" for i in range(20)) if store.claim(key, f"w{worker}")]
        store.close()
        results.put((worker, "ok", won))
    except BaseException:
        results.put((worker, "error", traceback.format_exc()))


def _bump_in_child(url: str, worker: int, start: Any, results: Any) -> None:
    """Child body of the revision race: read-modify-write with retries on conflict."""
    try:
        store = get_store(url)
        start.wait(timeout=180)
        for _ in range(10):
            while True:
                current = store.get_resource("counter", "c")
                body = {"n": current.body["n"] + 1}
                try:
                    store.put_resource("counter", "c", body, expected_revision=current.revision)
                    break
                except InvalidState:
                    continue
        store.close()
        results.put((worker, "ok", None))
    except BaseException:
        results.put((worker, "error", traceback.format_exc()))


class ResourceContract:
    """Behaviour every :class:`~siklus.store.BaseStore` must show for resources."""

    def test_put_get_list_delete(self, store: BaseStore) -> None:
        first = store.put_resource("table", "db.a", {"columns": ["x"], "rows": 3})
        assert (first.revision, first.body) == (1, {"columns": ["x"], "rows": 3})
        store.put_resource("table", "db.b", {})
        store.put_resource("other", "db.c", {})
        second = store.put_resource("table", "db.a", {"columns": ["x", "y"]})
        assert second.revision == 2 and second.created_at == first.created_at
        assert store.get_resource("table", "db.a").body == {"columns": ["x", "y"]}
        assert [r.name for r in store.list_resources("table")] == ["db.a", "db.b"]
        assert [r.name for r in store.list_resources("table", prefix="db.b")] == ["db.b"]
        store.delete_resource("table", "db.a")
        with pytest.raises(NotFound, match=r"db\.a"):
            store.get_resource("table", "db.a")
        with pytest.raises(NotFound):
            store.delete_resource("table", "db.a")

    def test_prefix_is_literal_not_a_pattern(self, store: BaseStore) -> None:
        store.put_resource("t", "a_b", {})
        store.put_resource("t", "axb", {})
        store.put_resource("t", "a%c", {})
        assert [r.name for r in store.list_resources("t", prefix="a_")] == ["a_b"]
        assert [r.name for r in store.list_resources("t", prefix="a%")] == ["a%c"]

    def test_expected_revision(self, store: BaseStore) -> None:
        store.put_resource("k", "n", {"v": 1}, expected_revision=0)
        with pytest.raises(AlreadyExists):
            store.put_resource("k", "n", {"v": 2}, expected_revision=0)
        with pytest.raises(InvalidState, match="revision 1"):
            store.put_resource("k", "n", {"v": 2}, expected_revision=5)
        assert store.put_resource("k", "n", {"v": 2}, expected_revision=1).revision == 2
        with pytest.raises(InvalidState):
            store.put_resource("k", "missing", {}, expected_revision=3)

    def test_bad_bodies_are_refused(self, store: BaseStore) -> None:
        with pytest.raises(InvalidParameter, match="JSON"):
            store.put_resource("k", "n", {"x": object()})
        with pytest.raises(InvalidParameter, match="JSON"):
            store.put_resource("k", "n", {"x": float("nan")})
        with pytest.raises(InvalidParameter):
            store.put_resource("", "n", {})
        with pytest.raises(NotFound):
            store.get_resource("k", "n")

    def test_events_in_order(self, store: BaseStore) -> None:
        for i in range(5):
            store.append_event("alarm", "a" if i % 2 == 0 else "b", {"i": i})
        events = store.list_events("alarm", "a")
        assert [e.body["i"] for e in events] == [0, 2, 4]
        assert all(x.seq < y.seq for x, y in itertools.pairwise(events))
        everything = store.list_events("alarm")
        assert [e.body["i"] for e in everything] == [0, 1, 2, 3, 4]
        after = store.list_events("alarm", after_seq=everything[2].seq, limit=1)
        assert [e.body["i"] for e in after] == [3]

    def test_claim_once(self, store: BaseStore) -> None:
        assert store.claim("schedule:s1:2026-01-01T00:00", "a") is True
        assert store.claim("schedule:s1:2026-01-01T00:00", "b") is False

    def test_claims_race_across_processes(self, store: BaseStore) -> None:
        reports = run_in_processes(
            _claim_in_child, lambda i, start, results: (store.url, i, start, results), _PROCESSES
        )
        errors = [payload for _, status, payload in reports if status != "ok"]
        assert not errors, errors[0]
        won = sorted(key for _, _, keys in reports for key in keys)
        assert won == sorted(f"slot-{i}" for i in range(20))

    def test_revision_race_loses_no_update(self, store: BaseStore) -> None:
        store.put_resource("counter", "c", {"n": 0})
        reports = run_in_processes(
            _bump_in_child, lambda i, start, results: (store.url, i, start, results), 4
        )
        errors = [payload for _, status, payload in reports if status != "ok"]
        assert not errors, errors[0]
        assert store.get_resource("counter", "c").body["n"] == 40

    def test_metric_data(self, store: BaseStore) -> None:
        dims = {"endpoint": "e1", "variant": "v1"}
        assert (
            store.put_metric_data(
                "siklus/endpoints", "latency", [(3, 30), (1, 10)], dimensions=dims
            )
            == 2
        )
        store.put_metric_data(
            "siklus/endpoints", "latency", [(2, 99)], dimensions={"endpoint": "e2"}
        )
        points = store.get_metric_data("siklus/endpoints", "latency", dimensions=dims)
        assert [(p.timestamp, p.value) for p in points] == [(1.0, 10.0), (3.0, 30.0)]
        window = store.get_metric_data(
            "siklus/endpoints", "latency", dimensions=dims, start=2, end=3
        )
        assert window == []
        assert store.list_metric_series("siklus/endpoints") == [
            ("siklus/endpoints", "latency", {"endpoint": "e1", "variant": "v1"}),
            ("siklus/endpoints", "latency", {"endpoint": "e2"}),
        ]
        with pytest.raises(InvalidParameter):
            store.put_metric_data("ns", "m", [(1.0, float("nan"))])
        with pytest.raises(InvalidParameter):
            store.put_metric_data("ns", "m", [("x", 1.0)])  # type: ignore[list-item]
