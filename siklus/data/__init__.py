"""Data collection and preparation: ingest files, versioned datasets, splits.

Connectors (:mod:`siklus.data.etl`) and the data catalog (:mod:`siklus.data.catalog`) are
imported on first use (they pull in SQLAlchemy and DuckDB): ``siklus.data.load_files``
works, and so does ``from siklus.data.etl import load_files``.
"""

from typing import Any

from siklus.data._datasets import (
    check_dataset_name,
    parse_ref,
    read_frame,
    read_table,
    resolve,
    store_table,
)
from siklus.data._ingest import ingest, read_file
from siklus.data._split import SPLITS, split_dataset, split_name

#: Names served lazily from the connector and catalog packages.
_LAZY = {
    "load_files": "siklus.data.etl",
    "load_sql": "siklus.data.etl",
    "run_load": "siklus.data.etl",
    "run_stream_job": "siklus.data.etl",
    "stream_jsonl": "siklus.data.etl",
    "stream_redis": "siklus.data.etl",
    "LoadResult": "siklus.data.etl",
    "crawl": "siklus.data.catalog",
    "list_tables": "siklus.data.catalog",
    "get_table": "siklus.data.catalog",
    "table_versions": "siklus.data.catalog",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'siklus.data' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "SPLITS",
    "LoadResult",
    "check_dataset_name",
    "crawl",
    "get_table",
    "ingest",
    "list_tables",
    "load_files",
    "load_sql",
    "parse_ref",
    "read_file",
    "read_frame",
    "read_table",
    "resolve",
    "run_load",
    "run_stream_job",
    "split_dataset",
    "split_name",
    "store_table",
    "stream_jsonl",
    "stream_redis",
    "table_versions",
]
