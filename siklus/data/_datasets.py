"""Versioned datasets: Arrow tables stored as content-addressed Parquet artifacts.

A dataset version is identified by the sha256 of its Parquet file, written with fixed
options so the same rows and schema always give the same bytes. Storing identical content
again returns the existing version instead of creating a new one.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def check_dataset_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Dataset name {name!r} is not valid: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name"`` → (name, None) meaning latest; ``"name:3"`` → (name, 3)."""
    name, sep, version = ref.rpartition(":")
    if not sep:
        return check_dataset_name(ref), None
    if not version.isdigit():
        raise InvalidParameter(
            f"Dataset reference {ref!r} is not valid: expected NAME or NAME:VERSION "
            "(VERSION a positive integer)."
        )
    return check_dataset_name(name), int(version)


def resolve(ctx: WorkspaceContext, ref: str | DatasetVersion) -> DatasetVersion:
    """Look up a dataset version by reference (``name`` or ``name:version``) or pass through."""
    if isinstance(ref, DatasetVersion):
        return ref
    name, version = parse_ref(ref)
    return ctx.store.get_dataset_version(name, version)


def schema_of(table: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in table]


def store_table(
    ctx: WorkspaceContext,
    table: pa.Table,
    name: str,
    *,
    source: str,
    parent_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Write ``table`` as Parquet into the artifact store and record a dataset version.

    Returns:
        ``(version, created)``; ``created`` is False when identical content existed.
    """
    check_dataset_name(name)
    # Pandas index metadata would make identical rows hash differently; strip it.
    table = table.replace_schema_metadata(None)
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        path = Path(tmp) / "data.parquet"
        pq.write_table(table, path, compression="zstd", write_statistics=True, store_schema=False)
        digest = ctx.artifacts.put_file(path)
        size = path.stat().st_size
    return ctx.store.add_dataset_version(
        name,
        sha256=digest,
        schema=schema_of(table.schema),
        row_count=table.num_rows,
        size_bytes=size,
        source=source,
        parent_id=parent_id,
        tags=ctx.with_tags(tags),
    )


def read_table(ctx: WorkspaceContext, version: DatasetVersion) -> pa.Table:
    """Read a dataset version (hash verified)."""
    return pq.read_table(ctx.artifacts.local_path(version.sha256))


def read_frame(
    ctx: WorkspaceContext, ref: str | DatasetVersion
) -> tuple[DatasetVersion, pd.DataFrame]:
    """Resolve ``ref`` and return the version with its rows as a pandas DataFrame."""
    version = resolve(ctx, ref)
    return version, read_table(ctx, version).to_pandas()


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)
