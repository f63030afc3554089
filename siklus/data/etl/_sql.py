"""Load a table or a query of a SQL database (any SQLAlchemy URL) into a dataset.

Rows are fetched with a server-side cursor in chunks of ``chunk_size`` and each chunk is
written as a Parquet part, so a table larger than memory streams through. Columns of a
table get Arrow types from the reflected SQL types (so SQLite's loose typing cannot give
a column two types); a query's columns are typed from their values. Incremental loads
select only rows whose watermark column is greater than the stored watermark.

SQLAlchemy is used here only to read the user's own database, never the metadata store.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from siklus.data._datasets import check_dataset_name
from siklus.data.etl._files import PROGRESS, LoadStopped
from siklus.data.etl._result import LoadResult
from siklus.data.etl._state import SourceState, check_same_source, load_state, save_state
from siklus.data.etl._write import append_version, connect, scratch_dir
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.store import DatasetVersion, WorkspaceContext


def masked_url(url: str) -> str:
    """The URL without its password: what may be stored and shown."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        raise InvalidParameter(
            f"{url!r} is not a SQLAlchemy URL; write e.g. sqlite:///path/to.db or "
            "postgresql+psycopg://user:password@host/db."
        ) from None


def absolute_sqlite(url: str) -> str:
    """A SQLite URL with a relative file path made absolute (jobs run in another folder)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or os.path.isabs(database):
        return url
    return parsed.set(database=os.path.abspath(database)).render_as_string(hide_password=False)


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite URL's file when it does not exist (SQLite would create it)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or os.path.exists(database):
        return None
    return database


def open_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with errors that say what to install or fix."""
    masked = masked_url(url)
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise NotFound(
            f"The SQLite database file {missing!r} of {masked} does not exist. Check the path "
            "(sqlite:///relative/path.db or sqlite:////absolute/path.db)."
        )
    try:
        return sa.create_engine(url)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise InvalidParameter(
            f"No database driver for {masked}: {exc}. Install the driver (e.g. psycopg for "
            "postgresql+psycopg://) and try again."
        ) from None


def arrow_type(sql_type: Any) -> pa.DataType | None:
    """The Arrow type for a reflected SQL type; None means infer from the values."""
    checks: list[tuple[type, Callable[[Any], pa.DataType]]] = [
        (sa.Boolean, lambda t: pa.bool_()),
        (sa.Integer, lambda t: pa.int64()),
        (sa.Float, lambda t: pa.float64()),
        (sa.Numeric, _numeric),
        (sa.DateTime, lambda t: pa.timestamp("us", tz="UTC" if t.timezone else None)),
        (sa.Date, lambda t: pa.date32()),
        (sa.Time, lambda t: pa.time64("us")),
        (sa.String, lambda t: pa.string()),
        (sa.LargeBinary, lambda t: pa.binary()),
    ]
    for cls, make in checks:
        if isinstance(sql_type, cls):
            return make(sql_type)
    return None


def _numeric(t: Any) -> pa.DataType:
    precision, scale = getattr(t, "precision", None), getattr(t, "scale", None)
    if precision and scale is not None and precision <= 38:
        return pa.decimal128(precision, scale)
    return pa.float64()  # unconstrained NUMERIC: documented loss of exactness


def _column(values: list[Any], wanted: pa.DataType | None, where: Callable[[int], str]) -> pa.Array:
    if wanted is not None:
        if pa.types.is_floating(wanted):
            values = [float(v) if isinstance(v, Decimal) else v for v in values]
        try:
            return pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            for index, value in enumerate(values):
                try:
                    pa.array([value], type=wanted)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                    raise InvalidInput(
                        f"{where(index)} holds {value!r}, which is not a {wanted} as the column's "
                        "declared type says. Fix the value or load with a query that casts it; "
                        "nothing was stored."
                    ) from None
            raise
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed Python types (SQLite allows them): keep the column as text.
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _locator(what: str, column: str, start: int) -> Callable[[int], str]:
    """How an error names row ``index`` of the chunk that starts after ``start`` rows."""
    return lambda index: f"Row {start + index + 1} of {what}, column {column!r},"


def _to_json(value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, bool | int | float | str):
        return {"type": type(value).__name__, "value": value}
    raise InvalidParameter(
        f"Watermark value {value!r} ({type(value).__name__}) is not a number, text, date or "
        "timestamp; choose another watermark column."
    )


def _from_json(stored: dict[str, Any] | None) -> Any:
    if not stored:
        return None
    kind, value = stored["type"], stored["value"]
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _reflect(engine: sa.Engine, table: str) -> sa.Table:
    """``table`` as ``schema.table``, or, failing that, a table whose name has a dot."""
    schema, _, name = table.rpartition(".")
    tries = [(schema or None, name)] + ([(None, table)] if schema else [])
    for schema_name, table_name in tries:
        try:
            return sa.Table(table_name, sa.MetaData(), autoload_with=engine, schema=schema_name)
        except sa.exc.NoSuchTableError:
            continue
        except sa.exc.DBAPIError as exc:
            if schema and schema_name is not None:
                continue  # no schema of that name (SQLite: unknown database): try the dotted name
            raise InvalidInput(
                f"Cannot read table {table!r} from {masked_url(str(engine.url))}: "
                f"{str(exc.orig).strip().splitlines()[0]}"
            ) from None
    raise NotFound(f"Table {table!r} does not exist in {masked_url(str(engine.url))}.")


def _statement(
    engine: sa.Engine, table: str | None, query: str | None, watermark: str | None, last: Any
) -> tuple[sa.Executable, dict[str, pa.DataType | None], str]:
    if table is not None:
        reflected = _reflect(engine, table)
        types = {c.name: arrow_type(c.type) for c in reflected.columns}
        stmt = sa.select(reflected)
        if watermark is not None:
            if watermark not in reflected.c:
                raise InvalidParameter(
                    f"Watermark column {watermark!r} is not a column of table {table!r}; its "
                    f"columns are {', '.join(reflected.c.keys())}."
                )
            column = reflected.c[watermark]
            stmt = stmt.where(column.is_not(None) if last is None else column > last)
            stmt = stmt.order_by(column)
        return stmt, types, f"table {table!r}"
    assert query is not None
    sql = f"SELECT * FROM ({query}) AS siklus_source"
    params: dict[str, Any] = {}
    if watermark is not None:
        quoted = engine.dialect.identifier_preparer.quote(watermark)
        if last is None:
            sql += f" WHERE siklus_source.{quoted} IS NOT NULL"
        else:
            sql += f" WHERE siklus_source.{quoted} > :siklus_watermark"
            params["siklus_watermark"] = last
        sql += f" ORDER BY siklus_source.{quoted}"
    return sa.text(sql).bindparams(**params), {}, "the query"


def _chunks(
    engine: sa.Engine, stmt: sa.Executable, chunk_size: int, what: str
) -> Iterator[tuple[list[str], Sequence[Sequence[Any]]]]:
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt)
            keys = list(result.keys())
            yield keys, []  # the columns, even when no row comes
            for rows in result.partitions(chunk_size):
                yield keys, rows
    except sa.exc.DBAPIError as exc:
        raise InvalidInput(
            f"Reading {what} from {masked_url(str(engine.url))} failed: "
            f"{str(exc.orig).strip().splitlines()[0]}"
        ) from None


def load_sql(
    ctx: WorkspaceContext,
    url: str,
    dataset: str,
    *,
    table: str | None = None,
    query: str | None = None,
    watermark: str | None = None,
    incremental: bool = False,
    source: str | None = None,
    chunk_size: int = 10_000,
    tags: dict[str, str] | None = None,
    memory_limit: str | None = None,
    job_id: str | None = None,
    log: logging.Logger | None = None,
    stop: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
) -> LoadResult:
    """Load ``table`` (or the rows of ``query``) from the database at ``url`` into ``dataset``.

    Example:
        >>> load_sql(ctx, "sqlite:///shop.db", "orders", table="orders",  # doctest: +SKIP
        ...          watermark="updated_at", incremental=True)

    Args:
        url: A SQLAlchemy URL; its password is never stored.
        table: A table name (``schema.table`` allowed); exactly one of table/query.
        query: A SELECT statement.
        watermark: Column that grows with new rows (an id or a timestamp). Required for
            ``incremental``; rows with a NULL watermark are never loaded incrementally.
        incremental: Load only rows whose watermark is greater than the stored one and
            store the previous rows plus the new ones as the new version.
        source: Name of the incremental state (default: the dataset name).
        chunk_size: Rows fetched and staged at a time.

    Raises:
        InvalidParameter: Both or neither of table/query, incremental without a
            watermark, an unknown watermark column, no driver for the URL.
        NotFound: The table does not exist.
        InvalidInput: The database refused the query, or a value does not fit its
            column's declared type (names the column and the row).
    """
    check_dataset_name(dataset)
    if (table is None) == (query is None):
        raise InvalidParameter("Give exactly one of table= or query= for a SQL load.")
    if incremental and watermark is None:
        raise InvalidParameter(
            "An incremental SQL load needs a watermark column (e.g. an id or updated_at) "
            "whose value grows with new rows; pass watermark=COLUMN."
        )
    if chunk_size < 1:
        raise InvalidParameter(f"chunk_size must be at least 1, got {chunk_size}.")
    name = source or dataset
    masked = masked_url(url)
    state = load_state(ctx, name) if incremental else SourceState(name)
    config = {"type": "sql", "url": masked, "table": table, "query": query,
              "watermark_column": watermark, "dataset": dataset}  # fmt: skip
    check_same_source(state, config)
    previous = state.previous_version(ctx) if incremental else None
    last = _from_json(state.body.get("watermark")) if incremental else None
    engine = open_engine(url)
    try:
        stmt, types, what = _statement(engine, table, query, watermark, last)
        with scratch_dir(ctx, work_dir) as scratch:
            parts: list[Path] = []
            rows, high = 0, last
            columns: list[str] = list(types)
            for keys, chunk in _chunks(engine, stmt, chunk_size, what):
                columns = keys
                if not chunk:
                    continue
                if stop is not None and stop():
                    raise LoadStopped(f"stopped after {rows} rows")
                arrays = [
                    _column([r[i] for r in chunk], types.get(k), _locator(what, k, rows))
                    for i, k in enumerate(keys)
                ]
                part = scratch / f"part-{len(parts) + 1:06d}.parquet"
                pq.write_table(pa.Table.from_arrays(arrays, names=keys), part)
                parts.append(part)
                rows += len(chunk)
                if watermark is not None:
                    index = keys.index(watermark)
                    values = [r[index] for r in chunk if r[index] is not None]
                    if values:
                        top = max(values)
                        high = top if high is None or top > high else high
                if log:
                    log.info("%s %d rows read from %s", PROGRESS, rows, what)
            version: DatasetVersion | None
            if not parts and previous is not None:
                version, created = previous, False
            elif not parts and incremental:
                version, created = None, False
            else:
                if not parts:  # an empty table or query result: keep its columns
                    empty = pa.schema([(k, types.get(k) or pa.string()) for k in columns])
                    part = scratch / "part-000001.parquet"
                    pq.write_table(empty.empty_table(), part)
                    parts.append(part)

                def lineage(version: DatasetVersion) -> None:
                    if incremental:
                        ctx.store.add_lineage(
                            ("etl-source", name), ("dataset", version.id), "loaded"
                        )
                    if job_id:
                        ctx.store.add_lineage(("job", job_id), ("dataset", version.id), "output")

                con = connect(scratch, memory_limit=memory_limit)
                try:
                    version, created = append_version(
                        ctx, con, scratch, parts, dataset, previous=previous,
                        source=f"sql:{masked} {what}", tags=tags, lineage=lineage,
                    )  # fmt: skip
                finally:
                    con.close()
    finally:
        engine.dispose()
    stored = _to_json(high) if high is not None else None
    if incremental and version is not None:
        state.body.update({**config, "watermark": stored, "version_id": version.id})
        save_state(ctx, state, {"version_id": version.id, "new_rows": rows,
                                "watermark": stored, "job_id": job_id})  # fmt: skip
    if log and version is not None:
        log.info("stored %s: %d rows (%d new)", version.ref, version.row_count, rows)
    return LoadResult(
        dataset, version, created, rows, source=name if incremental else None,
        watermark=stored["value"] if stored else None,
    )  # fmt: skip


__all__ = [
    "absolute_sqlite",
    "arrow_type",
    "load_sql",
    "masked_url",
    "missing_sqlite_file",
    "open_engine",
]
