"""The engine: one DuckDB connection that compiles a recipe into a chain of views.

Each step becomes ``CREATE TEMP VIEW s<i> AS <SELECT over s<i-1>>``; nothing runs until
a learning step asks for its aggregate or the output is written with ``COPY ... TO``, so
DuckDB streams the whole chain in one pipeline, spilling to the run's scratch folder
when it needs more than ``memory_limit``. Binding each view as it is created reports an
unknown column or a type error at the step that caused it, before any data is read.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pyarrow as pa

from siklus.data.recipes._base import ERROR_MARKER, SEP, Frame, Transform
from siklus.data.recipes._errors import RecipeDataError, RecipeError, step_label
from siklus.data.recipes._progress import reporting
from siklus.data.recipes._recipe import Recipe
from siklus.data.recipes._source import (
    WorkspaceInputs,
    check_input_columns,
    check_sniffed,
    csv_error,
    csv_reader,
    parquet_relation,
    stage_csv,
)
from siklus.data.recipes._sql import ROW_ID, ident, text
from siklus.exceptions import SiklusError
from siklus.store import WorkspaceContext

ROW = ident(ROW_ID)
_MARKER = re.compile(
    re.escape(ERROR_MARKER) + f"{SEP}(\\d+){SEP}([^{SEP}]*){SEP}(\\d+){SEP}(.*)", re.S
)
_MISSING_COLUMN = re.compile(r'Referenced column "(.+?)" not found')
_ERROR_PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")
#: Steps whose user-written SQL can fail while rows stream (their errors carry no marker).
_EXPRESSION_STEPS = ("derive", "filter")


class RecipeStopped(SiklusError):
    """A query was interrupted because the job was asked to stop."""


def default_memory_limit() -> str:
    """A quarter of this machine's memory, between 256 MiB and 4 GiB.

    DuckDB's own default (80 %) leaves too little for the Python process and for other
    jobs; past the limit DuckDB spills to disk rather than failing.
    """
    quarter = psutil.virtual_memory().total // 4
    return f"{max(256, min(4096, quarter // 2**20))}MB"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$", re.I)
#: MiB per unit; DuckDB reads KB/MB/GB/TB as powers of 1000, KiB/MiB/GiB/TiB of 1024.
_UNITS = {
    "": 2**-20, "b": 2**-20, "kb": 1e3 / 2**20, "kib": 2**-10, "mb": 1e6 / 2**20, "mib": 1.0,
    "gb": 1e9 / 2**20, "gib": 2**10, "tb": 1e12 / 2**20, "tib": 2**20,
}  # fmt: skip


def memory_limit_mib(limit: str) -> int:
    """``"512MB"`` → 488 (MiB), DuckDB's units (KB/MB/GB are powers of 1000).

    Raises:
        RecipeError: Not a size.
    """
    match = _SIZE.match(str(limit))
    if match is None:
        raise RecipeError(f"memory_limit {limit!r} is not a size such as '512MB' or '2GB'.")
    return max(1, round(float(match[1]) * _UNITS[(match[2] or "").lower()]))


def _first_line(message: str) -> str:
    return _ERROR_PREFIX.sub("", message.strip().split("\n", 1)[0]).rstrip(" .!")


class Engine:
    """A DuckDB connection with a memory limit and a spill folder, for one recipe run.

    Use as a context manager; closing removes the spill folder.

    Args:
        work_dir: Scratch folder (the job folder); spill and staged files go below it.
        ctx: The workspace, to resolve datasets a ``join`` step names (optional).
        memory_limit: DuckDB ``memory_limit`` such as ``"512MB"``; default
            :func:`default_memory_limit`.
        threads: DuckDB worker threads; default: one per core.
        log: Progress lines go here (the job log).
        stop: Polled while queries run; True interrupts them (:class:`RecipeStopped`).
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        ctx: WorkspaceContext | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
        log: logging.Logger | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix="recipe-", dir=work_dir))
        self.memory_limit = memory_limit or default_memory_limit()
        config: dict[str, Any] = {
            "memory_limit": self.memory_limit,
            "temp_directory": str(self.scratch / "spill"),
            # Keep rows in input order through scans, filters and COPY, as pandas does.
            "preserve_insertion_order": True,
        }
        if threads:
            config["threads"] = int(threads)
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise RecipeError(
                f"Cannot start DuckDB with memory_limit={self.memory_limit!r}, "
                f"threads={threads!r}: "
                f"{_first_line(str(exc))}. Use a size such as '512MB' or '2GB'."
            ) from None
        for setting in ("enable_progress_bar = true", "enable_progress_bar_print = false",
                        "progress_bar_time = 0"):  # fmt: skip
            self.con.execute(f"SET {setting}")
        self.log = log
        self.stop = stop
        self.inputs = WorkspaceInputs(self.con, ctx)
        self._views: dict[int, Frame] = {}

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _reporting(self, what: str) -> AbstractContextManager[None]:
        return reporting(self.con, self.log, what, stop=self.stop)

    def _info(self, message: str, *args: Any) -> None:
        if self.log is not None:
            self.log.info(message, *args)

    # -- sources -----------------------------------------------------------------------
    def _source_view(self, relation: str, label: str) -> Frame:
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW s0 AS SELECT * FROM {relation}")
            columns = self._describe("s0")
        except duckdb.Error as exc:
            raise RecipeDataError(
                f"Reading input {label} failed: {_first_line(str(exc))}.", step=0, step_name="read"
            ) from None
        check_input_columns(columns, label)
        frame = Frame(relation="s0", columns=columns, index=0, step="read", inputs=self.inputs)
        self._views[0] = frame
        return frame

    def load_parquet(self, path: Path, label: str, *, limit: int | None = None) -> Frame:
        relation = parquet_relation(self.con, path)
        if limit is not None:
            relation = f"(SELECT * FROM {relation} ORDER BY {ROW} LIMIT {int(limit)})"
        return self._source_view(relation, label)

    def load_csv(self, path: Path, label: str, *, limit: int | None = None) -> Frame:
        if limit is not None:
            # A preview reads only the first lines: no staging pass over the whole file.
            reader = f"(SELECT * FROM {csv_reader(path)} LIMIT {int(limit)})"
            relation = f"(SELECT *, row_number() OVER () - 1 AS {ROW} FROM {reader})"
            try:
                described = self.con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
                check_sniffed(self.con, path, [r[0] for r in described])
            except duckdb.Error as exc:
                raise csv_error(path, str(exc)) or RecipeDataError(
                    f"Reading input {label} failed: {_first_line(str(exc))}.",
                    step=0,
                    step_name="read",
                ) from None
            return self._source_view(relation, label)
        staged = self.scratch / "input.parquet"
        self._info("reading %s into %s", path, staged.name)
        try:
            with self._reporting(f"reading {path.name}"):
                stage_csv(self.con, path, staged)
        except duckdb.InterruptException:
            raise RecipeStopped("The recipe run was stopped while reading its input.") from None
        return self.load_parquet(staged, label)

    def load_file(self, path: Path, label: str, *, limit: int | None = None) -> Frame:
        if path.suffix.lower() in (".parquet", ".pq"):
            return self.load_parquet(path, label, limit=limit)
        return self.load_csv(path, label, limit=limit)

    def load_arrow(self, table: pa.Table, label: str = "table") -> Frame:
        numbered = table.append_column(ROW_ID, pa.array(range(table.num_rows), pa.int64()))
        self.con.register("siklus_input_table", numbered)
        return self._source_view("siklus_input_table", label)

    # -- compiling -----------------------------------------------------------------------
    def _describe(self, view: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {view}").fetchall()
        return {r[0]: str(r[1]) for r in rows if r[0] != ROW_ID}

    def compile(
        self,
        recipe: Recipe,
        source: Frame,
        *,
        states: Sequence[Mapping[str, Any] | None] | None = None,
        fit: bool = True,
    ) -> tuple[Frame, list[Mapping[str, Any] | None]]:
        """Create one view per step; fit learning steps that have no state yet.

        Args:
            recipe: The steps.
            source: The input view (from a ``load_*`` method).
            states: Learned states (a fitted recipe); None to learn them.
            fit: Whether steps without state may learn from this data.

        Returns:
            The last view and the state of every step.

        Raises:
            RecipeError: A step is wrong for this data (unknown column, wrong type, SQL that
                does not bind), or needs fitting and ``fit`` is False.
            RecipeDataError: A value stopped a learning query.
        """
        frame = source
        learned: list[Mapping[str, Any] | None] = []
        total = len(recipe.transforms)
        for index, transform in enumerate(recipe.transforms, start=1):
            here = Frame(frame.relation, frame.columns, index, transform.step, self.inputs)
            transform.check(here)
            state = states[index - 1] if states is not None else None
            if state is None and transform.needs_fit():
                if not fit:
                    raise here.error(
                        "this step learns from data, but the recipe is not fitted. Fit it "
                        "(fit=True; on the command line leave out --no-fit) or pass a fitted "
                        "recipe version."
                    )
                self._info("step %d/%d %s: learning from the data", index, total, transform.step)
                state = self._fit(transform, here)
            elif state is None and transform.pins_inputs:
                state = transform.pin(here)
            learned.append(state)
            self._info("step %d/%d %s", index, total, transform.step)
            frame = self._create_view(transform.sql(here, state or {}), here)
        return frame, learned

    def _fit(self, transform: Transform, frame: Frame) -> Mapping[str, Any]:
        expressions = transform.fit_expressions(frame)
        items = ", ".join(f"{sql} AS {ident(alias)}" for alias, sql in expressions.items())
        try:
            with self._reporting(f"{frame.label} learning"):
                cursor = self.con.execute(f"SELECT {items} FROM {frame.relation}")
                values = cursor.fetchone() or ()
                names = [d[0] for d in cursor.description or ()]
        except duckdb.Error as exc:
            raise self.translate(exc, frame) from None
        return transform.learn(dict(zip(names, values, strict=True)), frame)

    def _create_view(self, sql: str, frame: Frame) -> Frame:
        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as exc:
            raise self.translate(exc, frame) from None
        if len(statements) != 1:
            raise frame.error(
                "its SQL expression contains more than one statement; remove the ';'."
            )
        view = f"s{frame.index}"
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")
            columns = self._describe(view)
        except duckdb.Error as exc:
            raise self.translate(exc, frame) from None
        result = Frame(view, columns, frame.index, frame.step, self.inputs)
        self._views[frame.index] = result
        return result

    # -- running -------------------------------------------------------------------------
    def write_parquet(self, frame: Frame, path: Path) -> None:
        """Stream the final view into a Parquet file at ``path``.

        zstd level 1 writes about as fast as snappy and about half the size (measured on
        the benchmark's data); higher levels cost far more time for little size.
        """
        query = f"SELECT * EXCLUDE ({ROW}) FROM {frame.relation}"
        try:
            with self._reporting("writing output"):
                self.con.execute(
                    f"COPY ({query}) TO {text(str(path))} "
                    "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
                )
        except duckdb.Error as exc:
            path.unlink(missing_ok=True)
            raise self.translate(exc, None) from None

    def to_arrow(self, frame: Frame) -> pa.Table:
        """The final view as an Arrow table (for small data: previews and tests)."""
        try:
            return self.con.sql(f"SELECT * EXCLUDE ({ROW}) FROM {frame.relation}").to_arrow_table()
        except duckdb.Error as exc:
            raise self.translate(exc, None) from None

    # -- errors --------------------------------------------------------------------------
    def _sample_row(self, index: int, row: int) -> str:
        """The input row of step ``index`` with row id ``row``, as short text."""
        view = self._views.get(index - 1)
        if view is None:
            return ""
        try:
            cursor = self.con.execute(
                f"SELECT * EXCLUDE ({ROW}) FROM {view.relation} WHERE {ROW} = {row} LIMIT 1"
            )
            values = cursor.fetchone()
            names = [d[0] for d in cursor.description or ()]
        except duckdb.Error:
            return ""
        if values is None:
            return ""
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, values, strict=True))
        return f" The row: {{{shown[:400]}{'…' if len(shown) > 400 else ''}}}."

    def translate(self, exc: duckdb.Error, frame: Frame | None) -> SiklusError:
        """Turn a DuckDB error into a siklus error naming the step, column and row."""
        message = str(exc)
        if isinstance(exc, duckdb.InterruptException):
            return RecipeStopped("The recipe run was stopped while a query ran.")
        marked = _MARKER.search(message)
        if marked:
            index, column, row = int(marked[1]), marked[2] or None, int(marked[3])
            name = self._views[index].step if index in self._views else "?"
            if frame is not None and frame.index == index:
                name = frame.step
            detail = marked[4].strip().split("\n", 1)[0]
            return RecipeDataError(
                f"{step_label(index, name)}: {detail} in data row {row + 1}."
                f"{self._sample_row(index, row)}"
                " Fix the data, or use on_error/on_invalid: null to turn such values into NULL.",
                step=index,
                step_name=name,
                column=column,
                row=row + 1,
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            where = f"{frame.label}: " if frame is not None else ""
            return RecipeError(
                f"{where}DuckDB ran out of memory (memory_limit={self.memory_limit}): "
                f"{_first_line(message)}. Raise the memory limit (--memory-limit). Exact "
                "medians and quantiles hold one value per row of the column (8 bytes per "
                "numeric row) while they are learned; sort, join, group_by and "
                "drop_duplicates spill to disk but still need some room.",
                step=frame.index if frame is not None else None,
                step_name=frame.step if frame is not None else None,
            )
        if frame is not None:
            missing = _MISSING_COLUMN.search(message)
            if missing and missing[1] not in frame.columns:
                try:
                    frame.require([missing[1]])
                except RecipeError as error:
                    return error
            cls = RecipeDataError if isinstance(exc, duckdb.ConversionException) else RecipeError
            return cls(
                f"{frame.label}: {_first_line(message)}.",
                step=frame.index,
                step_name=frame.step,
            )
        suspects = [f for i, f in sorted(self._views.items()) if i and f.step in _EXPRESSION_STEPS]
        hint = ""
        if suspects:
            hint = (
                " Steps with SQL expressions that may have raised it: "
                + ", ".join(f.label for f in suspects)
                + "."
            )
        return RecipeDataError(f"Running the recipe failed: {_first_line(message)}.{hint}")


__all__ = ["Engine", "RecipeStopped", "default_memory_limit", "memory_limit_mib"]
