"""Bring a metadata database to the newest schema, safely from many processes.

Every ``get_store`` call checks the schema revision with one cheap query; only a database
behind ``HEAD_REVISION`` runs Alembic, under a lock (a file lock beside a SQLite file, an
advisory lock on PostgreSQL) so two processes starting at once never migrate twice.
Alembic itself is imported only then: every process that opens an up-to-date store (a
job, a training script logging metrics, the CLI) skips its import.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest migration; tests check it matches the scripts in ``migrations/versions``.
HEAD_REVISION = "0003"

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x5111C005


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(engine.url.database + ".migrate.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    else:
        yield


def upgrade_to_head(engine: sa.Engine) -> None:
    """Run pending migrations; a no-op (one query) on an up-to-date database."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        if current_revision(engine) == HEAD_REVISION:
            return
        from alembic import command

        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")


def __getattr__(name: str) -> Any:
    """``migrate.command``: Alembic's command module, imported on first use."""
    if name == "command":
        from alembic import command

        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
