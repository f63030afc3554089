"""Migration 0002 (experiments, runs, metric series) upgrades a 0001 database in place.

The 0001 database is made by Alembic itself and filled with plain SQL against the 0001
tables, as an older siklus would have left it; opening it with today's store must
migrate it and keep every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from siklus.store import get_store
from siklus.store._sql import migrate
from siklus.store._sql.store import make_engine
from siklus.testing import postgres_schema, postgres_test_url, sha

_NEW_TABLES = {"experiments", "runs", "run_metrics"}
_WHEN = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'siklus.db'}"
        return
    with postgres_schema(postgres_test_url()) as pg_url:
        yield pg_url


def _at_revision(url: str, revision: str) -> sa.Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), revision)
    return engine


def _fill_like_0001(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO dataset_versions (id, name, version, sha256, schema, row_count, "
                "size_bytes, source, parent_id, tags, created_at) VALUES ('ds-old', 'iris', 1, "
                ":sha, '[]', 150, 4096, 'file:///iris.csv', NULL, '{\"team\": \"ml\"}', :at)"
            ),
            {"sha": sha("iris"), "at": _WHEN},
        )
        conn.execute(
            sa.text(
                "INSERT INTO jobs (id, name, kind, entrypoint, inputs, parameters, resources, "
                "tags, status, created_at, outputs, stop_requested) VALUES ('job-old', 'train', "
                "'training', 'm:f', '{}', '{\"C\": 1}', '{}', '{}', 'Completed', :at, "
                '\'{"model": "m"}\', :no)'
            ),
            {"at": _WHEN, "no": False},
        )
        conn.execute(
            sa.text(
                "INSERT INTO lineage_edges (source_type, source_id, target_type, target_id, "
                "relation, created_at) VALUES ('dataset', 'ds-old', 'job', 'job-old', 'input', :at)"
            ),
            {"at": _WHEN},
        )


def test_a_0001_database_upgrades_to_head_keeping_its_data(url: str) -> None:
    engine = _at_revision(url, "0001")
    try:
        assert migrate.current_revision(engine) == "0001"
        assert not _NEW_TABLES & set(sa.inspect(engine).get_table_names())
        _fill_like_0001(engine)
    finally:
        engine.dispose()

    store = get_store(url)  # opening migrates
    try:
        version = store.get_dataset_version("iris")
        assert (version.id, version.row_count, version.tags) == ("ds-old", 150, {"team": "ml"})
        job = store.get_job("job-old")
        assert (job.parameters, job.outputs, job.status.value) == (
            {"C": 1}, {"model": "m"}, "Completed",
        )  # fmt: skip
        assert [e.source_id for e in store.list_lineage("job-old", "upstream")] == ["ds-old"]
        experiment = store.ensure_experiment("after-upgrade")
        run = store.create_run(experiment.id, job_id="job-old", inputs={"train": "ds-old"})
        assert store.get_run(run.id).inputs == {"train": "ds-old"}
    finally:
        store.close()
    engine = make_engine(url)
    try:
        assert migrate.current_revision(engine) == migrate.HEAD_REVISION
        assert set(sa.inspect(engine).get_table_names()) >= _NEW_TABLES
    finally:
        engine.dispose()


def test_0002_downgrades_to_0001_dropping_only_its_tables(url: str) -> None:
    engine = _at_revision(url, "0002")
    try:
        _fill_like_0001(engine)
        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        tables = set(sa.inspect(engine).get_table_names())
        assert not _NEW_TABLES & tables and "dataset_versions" in tables
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id FROM jobs")).scalar() == "job-old"
    finally:
        engine.dispose()
