"""Reusable contract suites that every backend of a siklus abstraction must pass.

Backends are tested by behaviour, not by implementation: a test module supplies a
fixture and subclasses the contract (as Optuna does with its storages).

- :class:`StoreContract`: every :class:`~siklus.store.BaseStore` backend (SQLite and
  PostgreSQL through :class:`~siklus.store.get_store`, or your own).
- :class:`TrackingContract`: the experiment-tracking half of the same backends
  (experiments, runs, metric series, search).
- :class:`ResourceContract`: resources, events, claims and metric data of the same
  backends.
- :func:`postgres_test_url` / :func:`postgres_schema`: a PostgreSQL database for tests, a
  fresh schema per test, skipped with instructions when ``SIKLUS_TEST_POSTGRES_URL`` is
  unset or the server does not answer.

- :func:`browser_probe`: render an HTML page in headless Chromium and measure it.
- :func:`redis_server_url`: a throwaway redis-server on a free port.

This package needs pytest (``pip install 'siklus[dev]'``); production code never imports it.
"""

from siklus.testing._browser import browser_probe, find_browser
from siklus.testing._redis import redis_server_url
from siklus.testing._resource_contract import ResourceContract
from siklus.testing._search_cases import FILTER_CASES, random_filters, seed_runs
from siklus.testing._store_contract import (
    POSTGRES_URL_ENV,
    StoreContract,
    open_store_in_child,
    postgres_schema,
    postgres_test_url,
    run_in_processes,
    sha,
)
from siklus.testing._tracking_contract import TrackingContract

__all__ = [
    "FILTER_CASES",
    "POSTGRES_URL_ENV",
    "ResourceContract",
    "StoreContract",
    "TrackingContract",
    "browser_probe",
    "find_browser",
    "open_store_in_child",
    "postgres_schema",
    "postgres_test_url",
    "random_filters",
    "redis_server_url",
    "run_in_processes",
    "seed_runs",
    "sha",
]
