"""Streaming: micro-batches from a real redis-server stream and from a growing JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siklus.data import read_frame
from siklus.data.etl import list_sources, source_runs, stream_jsonl, stream_redis
from siklus.exceptions import InvalidInput, InvalidState
from siklus.testing import redis_server_url

FAST = {"poll_interval": 0.05}


def lines(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_a_growing_jsonl_file_is_tailed_in_micro_batches(ctx, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(lines({"n": 1}, {"n": 2}, {"n": 3}) + '{"n": 4, "tag": "ha')  # half a line
    first = stream_jsonl(ctx, path, "events", batch_size=2, idle_timeout=0.3, **FAST)
    assert first.batches == 2 and first.new_rows == 3 and first.stop_reason == "idle"
    assert [v.row_count for v in ctx.store.list_dataset_versions("events")] == [2, 3]
    with path.open("a") as handle:
        handle.write('lf"}\n' + lines({"n": 5}))
    second = stream_jsonl(ctx, path, "events", max_batches=1, **FAST)
    assert second.batches == 1 and second.new_rows == 2 and second.stop_reason == "max_batches"
    _, loaded = read_frame(ctx, second.version)
    assert loaded["n"].tolist() == [1, 2, 3, 4, 5]
    assert loaded["tag"].tolist()[3] == "half"
    assert second.version.parent_id == first.version.id
    [state] = list_sources(ctx)
    assert state["position"] == {"offset": path.stat().st_size, "line": 5}
    assert [run["new_rows"] for run in source_runs(ctx, "events")] == [2, 1, 2]


def test_should_stop_and_a_file_that_does_not_exist_yet(ctx, tmp_path):
    calls = iter([False, False, True])
    result = stream_jsonl(ctx, tmp_path / "later.jsonl", "later", should_stop=lambda: next(calls),
                          **FAST)  # fmt: skip
    assert result.stop_reason == "stopped" and result.batches == 0 and result.version is None


def test_a_bad_line_is_named_and_nothing_of_its_batch_is_stored(ctx, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(lines({"n": 1}) + "{oops}\n")
    with pytest.raises(InvalidInput, match=r"e.jsonl': line 2 is not valid JSON"):
        stream_jsonl(ctx, path, "e", batch_size=10, max_batches=1, **FAST)
    assert ctx.store.list_dataset_versions() == []
    path.write_text(lines({"n": 1}))
    stream_jsonl(ctx, path, "e", max_batches=1, **FAST)
    path.write_text("")  # truncated below the stored offset
    with pytest.raises(InvalidState, match="truncated or replaced"):
        stream_jsonl(ctx, path, "e", max_batches=1, **FAST)


def test_a_redis_stream_with_xread(ctx, tmp_path):
    import redis

    with redis_server_url(tmp_path) as url:
        client = redis.Redis.from_url(url)
        for i in range(5):
            client.xadd("clicks", {"user": f"u{i}", "ms": str(100 + i), "ok": "true"})
        first = stream_redis(ctx, url, "clicks", "clicks", batch_size=2, max_batches=2, **FAST)
        assert first.batches == 2 and first.new_rows == 4
        client.xadd("clicks", {"user": "u5", "ms": "105", "ok": "false"})
        second = stream_redis(ctx, url, "clicks", "clicks", batch_size=10, idle_timeout=0.3,
                              **FAST)  # fmt: skip
        assert second.new_rows == 2 and second.stop_reason == "idle"
        _, loaded = read_frame(ctx, second.version)
        assert loaded["user"].tolist() == [f"u{i}" for i in range(6)]
        assert loaded["ms"].tolist() == list(range(100, 106))
        assert loaded["ok"].tolist() == [True] * 5 + [False]
        client.close()


def test_a_redis_consumer_group_acknowledges_what_it_stored(ctx, tmp_path):
    import redis

    with redis_server_url(tmp_path) as url:
        client = redis.Redis.from_url(url)
        for i in range(3):
            client.xadd("orders", {"body": json.dumps({"id": i, "total": i * 1.5})})
        result = stream_redis(ctx, url, "orders", "orders", group="etl", json_field="body",
                              idle_timeout=0.3, **FAST)  # fmt: skip
        assert result.new_rows == 3
        assert client.xpending("orders", "etl")["pending"] == 0
        _, loaded = read_frame(ctx, result.version)
        assert loaded.to_dict("records") == [{"id": i, "total": i * 1.5} for i in range(3)]
        client.xadd("orders", {"other": "x"})
        with pytest.raises(InvalidInput, match="has no field 'body'"):
            stream_redis(ctx, url, "orders", "orders", group="etl", json_field="body",
                         idle_timeout=0.3, **FAST)  # fmt: skip
        # Not acknowledged: the entry stays pending for this consumer, nothing was stored.
        assert client.xpending("orders", "etl")["pending"] == 1
        assert ctx.store.get_dataset_version("orders").id == result.version.id
        client.close()


def test_a_missing_redis_server(ctx, tmp_path: Path):
    from siklus.exceptions import NotFound

    with pytest.raises(NotFound, match="Cannot reach Redis"):
        stream_redis(ctx, "redis://127.0.0.1:1/0", "s", "d", max_batches=1)


def test_without_the_redis_client_the_error_says_what_to_install(ctx, monkeypatch):
    import sys

    from siklus.exceptions import InvalidParameter

    monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` now fails
    with pytest.raises(InvalidParameter, match=r"pip install 'siklus\[redis\]'"):
        stream_redis(ctx, "redis://127.0.0.1:1/0", "s", "d", max_batches=1)
