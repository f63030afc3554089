"""Write loaded rows as one new dataset version: previous version + new parts.

Every load stages its input as Parquet *parts* in a scratch folder. Here DuckDB unions
them by column name (after the rows of the version being appended to, if any) and the
result is streamed, batch by batch, into one Parquet file with fixed writer options, so
the same rows always give the same bytes and therefore the same dataset version. Only a
complete file is recorded; a failure anywhere leaves no version behind.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from siklus.data.etl._read import sql_text
from siklus.data.recipes import default_memory_limit, store_parquet_file
from siklus.exceptions import InvalidInput
from siklus.jobs import process_alive, process_create_time
from siklus.store import DatasetVersion, WorkspaceContext

#: Rows per Arrow batch (and Parquet row group) of the output; fixed so output is stable.
BATCH_ROWS = 122_880


SCRATCH_PREFIX = ".etl-"
# ``.etl-<host>-<pid>-<create time in ms>-<random>``: whose scratch it is, so a later load
# can tell a folder left by a killed process from one a running load still uses.
_OWNED = re.compile(r"^\.etl-(?P<host>.+)-(?P<pid>\d+)-(?P<ms>\d+)-[^-]+$")


def _pid_namespace() -> str:
    """This process's pid namespace (Linux), or "" where there is none to tell.

    Containers started with the host's network (``docker run --network host``) share its
    host name but not its process ids: without this, one of them would take another's
    running load for a dead process of its own and remove its scratch.
    """
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def _host_tag() -> str:
    """This host's name (``socket.gethostname``) and pid namespace, safe in a file name."""
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
    namespace = _pid_namespace()
    return f"{host}_ns{namespace}" if namespace else host


def _owner_prefix() -> str:
    pid = os.getpid()
    created = process_create_time(pid) or 0.0
    return f"{SCRATCH_PREFIX}{_host_tag()}-{pid}-{round(created * 1000)}-"


def remove_stale_scratch(ctx: WorkspaceContext, *bases: Path) -> list[Path]:
    """Remove the ETL scratch folders whose process is gone; return what was removed.

    A load that is killed (SIGKILL, power loss) cannot remove its scratch folder, which
    may hold gigabytes of staged Parquet. Every load therefore first sweeps the workspace
    state folder, the job folders (where job-run loads keep their scratch) and ``bases``.
    Only folders named for a process on this host (and pid namespace) that no longer
    runs (or whose pid now belongs to a process started at another time) are removed: a
    concurrent load's scratch, one from another host or container, and old unnamed
    folders are kept. Symbolic links are never followed — neither a link named like a
    scratch folder nor a job folder that links elsewhere — so nothing outside the swept
    folders is removed.
    """
    folders = {ctx.state_dir, *bases}
    jobs = ctx.state_dir / "jobs"
    if jobs.is_dir() and not jobs.is_symlink():
        folders.update(_real_folders(jobs))
    host, removed = _host_tag(), []
    for path in sorted({p for base in folders for p in _scratch_folders(base)}):
        owner = _OWNED.match(path.name)
        if owner is None or owner["host"] != host:
            continue
        started = int(owner["ms"]) / 1000 or None
        if process_alive(int(owner["pid"]), started):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _real_folders(base: Path) -> list[Path]:
    """The folders directly in ``base``, symbolic links left out."""
    try:
        with os.scandir(base) as entries:
            return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:  # removed meanwhile, or not readable: nothing to sweep there
        return []


def _scratch_folders(base: Path) -> list[Path]:
    return [p for p in _real_folders(base) if p.name.startswith(SCRATCH_PREFIX)]


@contextmanager
def scratch_dir(ctx: WorkspaceContext, where: Path | None = None) -> Iterator[Path]:
    """A private temporary folder under the workspace, removed in every outcome.

    Its name carries this process's identity, and scratch left by killed loads is
    removed first (:func:`remove_stale_scratch`).
    """
    base = where if where is not None else ctx.state_dir
    base.mkdir(parents=True, exist_ok=True)
    remove_stale_scratch(ctx, base)
    with tempfile.TemporaryDirectory(dir=base, prefix=_owner_prefix()) as tmp:
        yield Path(tmp)


def connect(scratch: Path, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that spills to ``scratch`` beyond its memory limit."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {sql_text(memory_limit or default_memory_limit())}")
    con.execute(f"SET temp_directory = {sql_text(str(scratch / 'spill'))}")
    con.execute("SET preserve_insertion_order = true")
    return con


def _rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """Tables of exactly ``size`` rows (the last one shorter), whatever batches come in.

    The Parquet row groups then do not depend on how the input was split into files or
    chunks, so the same rows give the same bytes.
    """
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= size:
            table = pa.Table.from_batches(held)
            yield table.slice(0, size).combine_chunks()
            rest = table.slice(size)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held).combine_chunks()


def write_union(con: duckdb.DuckDBPyConnection, sources: Sequence[Path], target: Path) -> int:
    """Union ``sources`` (Parquet files, in order) by column name into ``target``.

    Returns:
        Rows written.

    Raises:
        InvalidInput: A column has types that cannot be reconciled across the inputs.
    """
    files = "[" + ", ".join(sql_text(str(p)) for p in sources) + "]"
    rows = 0
    try:
        reader = con.sql(
            f"SELECT * FROM read_parquet({files}, union_by_name = true)"
        ).to_arrow_reader(BATCH_ROWS)
        with pq.ParquetWriter(
            target, reader.schema, compression="zstd", write_statistics=True, store_schema=False
        ) as writer:
            for table in _rebatch(reader, BATCH_ROWS):
                writer.write_table(table, row_group_size=BATCH_ROWS)
                rows += table.num_rows
    except (duckdb.Error, pa.ArrowInvalid) as exc:
        if isinstance(exc, duckdb.InterruptException):
            raise
        raise InvalidInput(
            f"The new rows do not fit together with the existing ones: {str(exc).splitlines()[0]}."
            " A column changed its type between inputs; cast it upstream or load into a new "
            "dataset."
        ) from None
    return rows


def append_version(
    ctx: WorkspaceContext,
    con: duckdb.DuckDBPyConnection,
    scratch: Path,
    parts: Sequence[Path],
    dataset: str,
    *,
    previous: DatasetVersion | None,
    source: str,
    tags: dict[str, str] | None = None,
    lineage: Callable[[DatasetVersion], None] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store ``previous``'s rows followed by the rows of ``parts`` as a version of ``dataset``.

    Returns:
        ``(version, created)``; ``created`` is False when identical content existed.
    """
    inputs = ([ctx.artifacts.local_path(previous.sha256)] if previous else []) + list(parts)
    output = scratch / f".output-{uuid.uuid4().hex}.parquet"
    try:
        write_union(con, inputs, output)
        version, created = store_parquet_file(
            ctx, output, dataset, source=source,
            parent_id=previous.id if previous else None, tags=tags,
        )  # fmt: skip
    finally:
        output.unlink(missing_ok=True)
    if previous is not None and previous.id != version.id:
        ctx.store.add_lineage(("dataset", previous.id), ("dataset", version.id), "appended")
    if lineage is not None:
        lineage(version)
    return version, created


__all__ = [
    "BATCH_ROWS",
    "SCRATCH_PREFIX",
    "append_version",
    "connect",
    "remove_stale_scratch",
    "scratch_dir",
    "write_union",
]
