"""The ``store`` fixture every store contract test runs over.

``sqlite``: a fresh database file per test. ``postgresql``: a fresh schema per test in the
database named by ``SIKLUS_TEST_POSTGRES_URL``; skipped, with how to enable it, when the
variable is unset or the server does not answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from siklus.store import BaseStore, get_store
from siklus.testing import postgres_schema, postgres_test_url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStore]:
    """A fresh, empty, migrated store of each backend."""
    if request.param == "sqlite":
        backend = get_store(f"sqlite:///{tmp_path / 'siklus.db'}")
        try:
            yield backend
        finally:
            backend.close()
        return
    with postgres_schema(postgres_test_url()) as url:
        backend = get_store(url)
        try:
            yield backend
        finally:
            backend.close()
