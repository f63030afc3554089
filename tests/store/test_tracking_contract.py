"""Run the tracking contract (:class:`siklus.testing.TrackingContract`) over every backend.

Same backends as ``test_store_contract.py``: a fresh SQLite file per test, and a fresh
PostgreSQL schema per test when ``SIKLUS_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from siklus.store import BaseStore, get_store
from siklus.testing import TrackingContract, postgres_schema, postgres_test_url


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


class TestTrackingContract(TrackingContract):
    """The whole tracking contract, once per backend of the ``store`` fixture."""
