"""Run the tracking contract (:class:`siklus.testing.TrackingContract`) over every backend.

Same backends as ``test_store_contract.py``: a fresh SQLite file per test, and a fresh
PostgreSQL schema per test when ``SIKLUS_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

from siklus.testing import TrackingContract


class TestTrackingContract(TrackingContract):
    """The whole tracking contract, once per backend of the ``store`` fixture."""
