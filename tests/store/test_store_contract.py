"""Run the store contract (:class:`siklus.testing.StoreContract`) over every backend.

``sqlite``: a fresh database file per test. ``postgresql``: a fresh schema per test in the
database named by ``SIKLUS_TEST_POSTGRES_URL``; skipped, with how to enable it, when the
variable is unset or the server does not answer.
"""

from __future__ import annotations

from siklus.store import BaseStore
from siklus.testing import StoreContract


class TestStoreContract(StoreContract):
    """The whole contract, once per backend of the ``store`` fixture."""


def test_fixture_gives_an_empty_store(store: BaseStore) -> None:
    assert store.list_dataset_versions() == []
    assert store.list_jobs() == []
    assert store.list_endpoints(include_deleted=True) == []
