"""Loads and streams run as jobs: outputs, errors rebuilt in the caller, secrets kept out."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from siklus.data import read_frame
from siklus.data.etl import LOAD_KIND, absolute_sqlite, run_load, run_stream_job
from siklus.exceptions import InvalidInput, InvalidParameter
from siklus.jobs import LocalExecutor
from siklus.store import JobStatus
from siklus.testing import postgres_schema, postgres_test_url


@pytest.mark.slow
def test_a_file_load_job_and_its_error(ctx, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv(raw / "one.csv", index=False)
    polls = []
    job, version = run_load(ctx, str(raw), "raw", incremental=True, on_poll=polls.append)
    assert job.kind == LOAD_KIND and job.status == JobStatus.COMPLETED and polls
    assert version.row_count == 2 and job.outputs["dataset_version"] == version.ref
    assert ("job", job.id) in {
        (e.source_type, e.source_id) for e in ctx.store.list_lineage(version.id, "upstream")
    }
    assert "progress: 1/1 files" in LocalExecutor(ctx).logs(job.id)

    (raw / "two.csv").write_text("a,b\n3,z,EXTRA\n")
    with pytest.raises(InvalidInput, match=r"two.csv': line 2 is malformed.*\(job job-"):
        run_load(ctx, str(raw), "raw", incremental=True)
    assert [v.version for v in ctx.store.list_dataset_versions("raw")] == [1]


def test_checks_happen_before_a_job_exists(ctx, tmp_path, memfs):
    with pytest.raises(InvalidParameter, match="only inside one process"):
        run_load(ctx, "memory://x/*.csv", "d")
    with pytest.raises(InvalidParameter, match="exactly one of"):
        run_load(ctx, "sqlite:///x.db", "d", table="t", query="SELECT 1")
    with pytest.raises(InvalidParameter, match="stream key"):
        run_stream_job(ctx, "redis://127.0.0.1:1/0", "d")
    assert ctx.store.list_jobs() == []


def test_a_relative_sqlite_path_is_made_absolute_for_the_job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a job runs in the workspace folder, not here
    assert absolute_sqlite("sqlite:///shop.db") == f"sqlite:///{tmp_path / 'shop.db'}"
    assert absolute_sqlite("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert absolute_sqlite("sqlite://") == "sqlite://"
    assert absolute_sqlite("postgresql://u:p@h/db") == "postgresql://u:p@h/db"


@pytest.mark.slow
def test_a_stream_job_stops_on_request(ctx, tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"n": 1}) + "\n")
    executor = LocalExecutor(ctx)
    job, _ = run_stream_job(ctx, str(path), "feed", poll_interval=0.1, wait=False)
    deadline = time.monotonic() + 30
    while not ctx.store.list_dataset_versions("feed") and time.monotonic() < deadline:
        time.sleep(0.1)
    with path.open("a") as handle:
        handle.write(json.dumps({"n": 2}) + "\n")
    while len(ctx.store.list_dataset_versions("feed")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    executor.stop(job.id)
    done = executor.wait(job.id, timeout=30)
    assert done.status in (JobStatus.STOPPED, JobStatus.COMPLETED)
    assert read_frame(ctx, "feed")[1]["n"].tolist() == [1, 2]


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgres_load_job_never_stores_the_password(ctx):
    with postgres_schema(postgres_test_url()) as url:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            con.execute(sa.text("CREATE TABLE items (id int, name text)"))
            con.execute(sa.text("INSERT INTO items VALUES (1, 'a'), (2, 'b')"))
        engine.dispose()
        password = sa.engine.make_url(url).password
        job, version = run_load(ctx, url, "items", table="items")
        assert version.row_count == 2
        stored = json.dumps([job.parameters, job.inputs])
        assert password and f":{password}@" not in stored
        assert job.parameters["url"] == sa.engine.make_url(url).render_as_string()
