"""Schema migrations: the head is known, databases migrate once, models match migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from siklus.store import get_store
from siklus.store._sql import migrate
from siklus.store._sql.models import Base
from siklus.store._sql.store import make_engine
from siklus.testing import (
    open_store_in_child,
    postgres_schema,
    postgres_test_url,
    run_in_processes,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (nothing migrated yet) of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'siklus.db'}"
        return
    with postgres_schema(postgres_test_url()) as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return migrate.current_revision(engine)
    finally:
        engine.dispose()


def test_head_revision_is_the_head_of_the_migration_scripts() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert scripts.get_heads() == [migrate.HEAD_REVISION], (
        "HEAD_REVISION in siklus/store/_sql/migrate.py must name the newest migration in "
        "migrations/versions (and there must be exactly one head)"
    )


def test_migrating_an_empty_database_creates_every_table(empty_database_url: str) -> None:
    assert _tables(empty_database_url) == set()
    get_store(empty_database_url).close()
    assert _tables(empty_database_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert _revision(empty_database_url) == migrate.HEAD_REVISION


def test_opening_a_migrated_database_again_is_a_no_op(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = get_store(empty_database_url)
    store.add_lineage(("dataset_version", "ds-1"), ("job", "job-1"), "input")
    store.close()

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an up-to-date database was migrated again")

    monkeypatch.setattr(migrate.command, "upgrade", must_not_run)
    again = get_store(empty_database_url)
    try:
        assert len(again.list_lineage("job-1", "upstream")) == 1
    finally:
        again.close()
    assert _revision(empty_database_url) == migrate.HEAD_REVISION


def _differences(url: str, metadata: sa.MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``metadata``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_models_match_the_migrations(empty_database_url: str) -> None:
    """Autogenerate finds nothing to do: a model change without a migration fails here."""
    get_store(empty_database_url).close()
    differences = _differences(empty_database_url, Base.metadata)
    assert differences == [], (
        "siklus/store/_sql/models.py and the Alembic migrations disagree; add a migration "
        f"in siklus/store/_sql/migrations/versions and bump HEAD_REVISION: {differences}"
    )


def test_the_comparison_notices_a_model_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'siklus.db'}"
    get_store(url).close()
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["jobs"].append_column(sa.Column("priority", sa.Integer(), nullable=True))
    differences = _differences(url, changed)
    assert [d[0] for d in differences] == ["add_column"]
    assert differences[0][3].name == "priority"


def test_concurrent_first_opens_migrate_once(empty_database_url: str) -> None:
    url = empty_database_url
    reports = run_in_processes(
        open_store_in_child, lambda i, barrier, results: (url, i, barrier, results), 4
    )
    errors = [payload for _, status, payload in reports if status != "ok"]
    assert not errors, "first opens failed:\n" + "\n".join(errors)
    assert _revision(url) == migrate.HEAD_REVISION
    store = get_store(url)
    try:
        opened = store.list_lineage("shared", "upstream")
    finally:
        store.close()
    assert sorted(edge.source_id for edge in opened) == ["0", "1", "2", "3"]
