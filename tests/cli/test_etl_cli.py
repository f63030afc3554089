"""``siklus data load | stream | sources`` through the real command tree."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.cli import etl as etl_cli
from siklus.data import read_frame
from siklus.exceptions import InvalidParameter, NotFound
from siklus.store import JobStatus


def invoke(workspace: Path, *args: str):
    _register_commands()
    return CliRunner().invoke(app, ["-w", str(workspace), "data", *args])


@pytest.mark.slow
def test_load_files_and_sql_stream_a_file_and_list_the_sources(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(raw / "1.csv", index=False)
    pd.DataFrame({"a": [3]}).to_csv(raw / "2.csv", index=False)
    files = invoke(ctx.root, "load", str(raw / "*.csv"), "-d", "events", "--incremental")
    assert files.exit_code == 0, files.output
    assert "events:1" in files.output and "3 new rows" in files.output
    assert read_frame(ctx, "events")[1]["a"].tolist() == [1, 2, 3]

    with sqlite3.connect(tmp_path / "db.sqlite") as con:
        con.execute("CREATE TABLE t (id INTEGER, v TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    sql = invoke(ctx.root, "load", f"sqlite:///{tmp_path / 'db.sqlite'}", "--table", "t",
                 "--watermark", "id", "--incremental", "-d", "t", "--json")  # fmt: skip
    assert sql.exit_code == 0, sql.output
    report = json.loads(sql.stdout)
    assert report["dataset_version"] == "t:1" and report["watermark"] == 2

    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"n": 1}\n{"n": 2}\n{"n": 3}\n')
    streamed = invoke(ctx.root, "stream", str(feed), "-d", "feed", "--batch-size", "2",
                      "--max-batches", "2", "--poll-interval", "0.1")  # fmt: skip
    assert streamed.exit_code == 0, streamed.output
    assert "feed:2" in streamed.output and "2 batch(es), ended: max_batches" in streamed.output
    assert read_frame(ctx, "feed")[1]["n"].tolist() == [1, 2, 3]

    listed = json.loads(invoke(ctx.root, "sources", "--json").stdout)
    assert {s["name"]: s["type"] for s in listed} == {
        "events": "files", "t": "sql", "feed": "jsonl-tail",
    }  # fmt: skip
    table = invoke(ctx.root, "sources")
    assert table.exit_code == 0 and "feed" in table.output


def test_errors_come_before_any_job(ctx, tmp_path):
    missing = invoke(ctx.root, "load", str(tmp_path / "absent" / "*.csv"), "-d", "bad")
    assert isinstance(missing.exception, NotFound)
    assert "No CSV, Parquet or JSON Lines file found" in str(missing.exception)
    database = invoke(ctx.root, "load", "sqlite:///x.db", "-d", "bad")
    assert isinstance(database.exception, InvalidParameter)
    assert "--table / --query" in str(database.exception)
    redis = invoke(ctx.root, "stream", "redis://127.0.0.1:1/0", "-d", "x")
    assert isinstance(redis.exception, InvalidParameter) and "stream key" in str(redis.exception)
    assert ctx.store.list_jobs() == [] and ctx.store.list_dataset_versions() == []


def test_ctrl_c_on_load_stops_the_job_and_stores_nothing(ctx, tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("a\n1\n")
    real_wait = etl_cli.LocalExecutor.wait

    def interrupted_wait(self, job_id, **kwargs):
        if kwargs.get("on_poll") is not None:  # the CLI's first wait: the user presses Ctrl-C
            raise KeyboardInterrupt
        return real_wait(self, job_id, **kwargs)

    monkeypatch.setattr(etl_cli.LocalExecutor, "wait", interrupted_wait)
    result = invoke(ctx.root, "load", str(tmp_path / "a.csv"), "-d", "events")
    assert result.exit_code == 130, result.output
    assert "was stopped; nothing was stored" in result.output
    [job] = ctx.store.list_jobs()
    assert job.status == JobStatus.STOPPED
    assert ctx.store.list_dataset_versions("events") == []
