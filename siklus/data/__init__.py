"""Data collection and preparation: ingest files, versioned datasets, splits."""

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

__all__ = [
    "SPLITS",
    "check_dataset_name",
    "ingest",
    "parse_ref",
    "read_file",
    "read_frame",
    "read_table",
    "resolve",
    "split_dataset",
    "split_name",
    "store_table",
]
