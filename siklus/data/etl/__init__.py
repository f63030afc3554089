"""Connectors: extract from files, SQL databases and streams; load as dataset versions.

Every connector stages its input as Parquet (streaming, through DuckDB or in chunks) and
records the result as a dataset version the way recipes do
(:func:`siklus.data.recipes.store_parquet_file`: a content-addressed Parquet artifact plus
a dataset-version record), so the same rows give the same version and a failure stores
nothing. Incremental sources remember
what they loaded as ``etl-source`` resources. See docs/etl.md.
"""

from __future__ import annotations

from siklus.data.etl._files import LoadStopped, load_files
from siklus.data.etl._locate import FORMATS, FileEntry, list_files, normalize, open_location
from siklus.data.etl._read import csv_delimiter
from siklus.data.etl._redis import stream_redis
from siklus.data.etl._result import LoadResult
from siklus.data.etl._sql import absolute_sqlite, load_sql, masked_url, missing_sqlite_file
from siklus.data.etl._state import delete_source, list_sources, source_runs
from siklus.data.etl._submit import (
    LOAD_KIND,
    STREAM_KIND,
    job_error,
    run_load,
    run_stream_job,
)
from siklus.data.etl._tail import stream_jsonl

__all__ = [
    "FORMATS",
    "LOAD_KIND",
    "STREAM_KIND",
    "FileEntry",
    "LoadResult",
    "LoadStopped",
    "absolute_sqlite",
    "csv_delimiter",
    "delete_source",
    "job_error",
    "list_files",
    "list_sources",
    "load_files",
    "load_sql",
    "masked_url",
    "missing_sqlite_file",
    "normalize",
    "open_location",
    "run_load",
    "run_stream_job",
    "source_runs",
    "stream_jsonl",
    "stream_redis",
]
