"""One chunk in, one part file out: what a batch-transform worker does.

A worker process loads the model once (:func:`init_worker`) and then turns chunks into
Parquet part files (:func:`run_chunk`). Every prediction goes through the model's input
signature (:meth:`siklus.training.LoadedModel.conform`), so a bad row gets the same
message a real-time request would, here with the chunk and the input row number added.

A part file is written to a temporary name and renamed, so a part file that exists is
complete: a crash leaves at worst an orphaned temporary file, never half a part.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from siklus.exceptions import InvalidInput

#: Exceptions a bad row can raise: the signature check, or the estimator itself.
_ROW_ERRORS = (InvalidInput, ValueError, TypeError)
PREDICTION = "prediction"
PROBABILITY_PREFIX = "probability_"
ROW_NUMBER = "row_number"


@dataclass(frozen=True)
class ChunkPlan:
    """What every chunk of one transform shares (sent once to each worker).

    Attributes:
        model_path: The verified local skops file of the model.
        model_id: The stored model's id.
        manifest: The model manifest (input signature, classes).
        parts_dir: Folder of the part files.
        skipped_dir: Folder of the per-chunk reports of skipped rows.
        chunk_rows: Rows per chunk (to number input rows).
        id_column: Input column copied to the output to join on, or None.
        keep_columns: Input columns copied to the output.
        probabilities: Add one ``probability_<class>`` column per class (classifiers).
        on_error: ``"fail"`` or ``"skip"`` for rows that fail the signature.
    """

    model_path: str
    model_id: str
    manifest: dict[str, Any]
    parts_dir: str
    skipped_dir: str
    chunk_rows: int
    id_column: str | None
    keep_columns: tuple[str, ...]
    probabilities: bool
    on_error: str
    runtime: str = "native"
    #: With the ONNX runtime chosen by "auto": rows with missing values the export was
    #: not verified for go through the skops model instead of being refused.
    native_fallback: bool = False
    #: With the ONNX runtime: the export record and the hash-checked ``.onnx`` file,
    #: resolved by the job process, so workers never open the store.
    onnx_export: dict[str, Any] | None = None
    onnx_path: str | None = None

    @property
    def carried(self) -> list[str]:
        """Input columns copied to the output, id first."""
        columns = [self.id_column] if self.id_column else []
        return columns + [c for c in self.keep_columns if c not in columns]


@dataclass(frozen=True)
class ChunkResult:
    index: int
    rows_in: int
    rows_out: int
    skipped: int
    peak_rss_bytes: int
    pid: int


def part_path(parts_dir: str | Path, index: int) -> Path:
    return Path(parts_dir) / f"part-{index:06d}.parquet"


def skipped_path(skipped_dir: str | Path, index: int) -> Path:
    return Path(skipped_dir) / f"chunk-{index:06d}.jsonl"


def peak_rss_bytes() -> int:
    """This process's peak resident set size.

    Linux: ``VmHWM``, which starts afresh at ``exec``; ``ru_maxrss`` would also count
    the pages a spawned worker inherited from its parent for the instant before
    ``exec``. Elsewhere ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _infinite_column(data: pd.DataFrame, signature: list[dict[str, Any]]) -> str | None:
    """The first number column of ``data`` holding an infinity, or None."""
    for column in signature:
        if column["type"] not in ("integer", "number"):
            continue
        values = data[column["name"]]
        if values.dtype.kind == "f" and np.isinf(values.to_numpy()).any():
            return str(column["name"])
    return None


def _predicts_by_argmax(estimator: Any) -> bool:
    """True when ``predict`` is by definition ``classes_[argmax(predict_proba)]``.

    Forests and trees compute ``predict`` exactly that way, so taking it from the
    probabilities already computed halves the work without changing one answer.
    """
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    kinds = (RandomForestClassifier, ExtraTreesClassifier, DecisionTreeClassifier)
    return isinstance(final, (*kinds, ExtraTreeClassifier)) and getattr(final, "n_outputs_", 1) == 1


def _load_native(plan: ChunkPlan) -> Any:
    """The plan's skops model, with one thread (the job holds one CPU per worker: a model
    that fans out itself would oversubscribe the machine).

    Imported here: a worker predicting through ONNX never pays for scikit-learn and skops
    (about a second per spawned worker) unless it must fall back on them.
    """
    from siklus.training import load_estimator

    estimator = load_estimator(plan.model_path)
    jobs = {k: 1 for k in estimator.get_params() if k == "n_jobs" or k.endswith("__n_jobs")}
    if jobs:
        estimator.set_params(**jobs)
    return estimator


class ChunkPredictor:
    """Turns chunks into part files with one loaded model (one per worker process).

    ``runtime="onnx"`` predicts through the package's ONNX export with onnxruntime (one
    thread per worker); the signature check is the same.
    """

    def __init__(self, plan: ChunkPlan) -> None:
        self.plan = plan
        self.onnx: Any = None
        self._native: Any = None  # the skops model an ONNX plan falls back on, once loaded
        self._all_finite = False  # the rows being predicted hold no NaN and no infinity
        if plan.runtime == "onnx":
            self._load_onnx(plan)
            return
        # Imported here: a worker predicting through ONNX never pays for scikit-learn
        # and skops (about a second per spawned worker).
        from siklus.training import LoadedModel

        estimator = _load_native(plan)
        self.model = LoadedModel(plan.model_id, estimator, dict(plan.manifest))
        classes = self.model.classes
        self.with_proba = bool(
            plan.probabilities and classes is not None and hasattr(estimator, "predict_proba")
        )
        self.by_argmax = self.with_proba and _predicts_by_argmax(estimator)

    def _load_onnx(self, plan: ChunkPlan) -> None:
        from siklus.serving._onnx import onnx_model_from_file

        if plan.onnx_export is None or plan.onnx_path is None:  # pragma: no cover - _plan sets both
            raise RuntimeError("an ONNX chunk plan needs onnx_export and onnx_path")
        self.onnx = onnx_model_from_file(
            plan.model_id,
            dict(plan.manifest),
            plan.onnx_export,
            plan.onnx_path,
        )
        self.model = self.onnx
        self.with_proba = bool(
            plan.probabilities
            and self.onnx.classes is not None
            and self.onnx.export.get("probability_output")
        )
        self.by_argmax = False

    # -- prediction ------------------------------------------------------------------
    def _numeric_data(self, table: pa.Table) -> pd.DataFrame | None:
        """The model's input straight from Arrow when every column the signature wants
        is a number and arrives as an Arrow integer or float column, else None.

        For such columns :func:`siklus.training.conform` can only convert them to
        float64 in signature order (missing values stay NaN, as it allows); doing that
        here in one copy, without the pandas round trip, is most of a cheap model's
        cost. Anything else (text, booleans, dates, a numeric column read as text) goes
        through ``conform`` itself.
        """
        signature = self.model.signature
        for column in signature:
            name = column["name"]
            if column["type"] not in ("integer", "number") or name not in table.column_names:
                return None
            kind = table.schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
                return None
        # One (columns x rows) block, filled column by column: pandas keeps it as its
        # single float block without another copy.
        block = np.empty((len(signature), table.num_rows), dtype=np.float64)
        for position, column in enumerate(signature):
            block[position] = table.column(column["name"]).cast(pa.float64()).to_numpy()
        # One pass tells whether the per-column checks for gaps and infinities can be
        # skipped: most chunks hold neither.
        self._all_finite = bool(np.isfinite(block).all())
        return pd.DataFrame(block.T, columns=[c["name"] for c in signature], copy=False)

    def _predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        self._all_finite = False  # conform's output is checked column by column
        return self._predict_data(self.model.conform(frame, allow_extra=True))

    def _predict_data(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions (and probabilities) for rows already in signature form."""
        if self.onnx is not None:
            from siklus.registry import onnx_arrays, unverified_missing

            infinite = None if self._all_finite else _infinite_column(data, self.onnx.signature)
            if infinite is not None:  # scikit-learn refuses these; the graph would answer
                raise InvalidInput(
                    f"Column {infinite!r} holds an infinite number; send finite numbers "
                    "(or a missing value where the column allows one)."
                )
            reason = (
                None
                if self._all_finite
                else unverified_missing(self.onnx.export, self.onnx.signature, data)
            )
            if reason is not None:
                if not self.plan.native_fallback:
                    raise InvalidInput(reason)
                return self._predict_native(data)
            return onnx_arrays(
                self.onnx.export,
                self.onnx.session,
                data,
                probabilities=self.with_proba,
                classes=self.onnx.classes,
            )
        estimator = self.model.estimator
        if not self.with_proba:
            return np.asarray(estimator.predict(data)), None
        proba = np.asarray(estimator.predict_proba(data))
        if self.by_argmax:
            return np.asarray(estimator.classes_).take(np.argmax(proba, axis=1)), proba
        return np.asarray(estimator.predict(data)), proba

    def _predict_native(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The skops model's answer, for rows the ONNX export was not verified for."""
        if self._native is None:
            self._native = _load_native(self.plan)
        if not self.with_proba:
            return np.asarray(self._native.predict(data)), None
        return np.asarray(self._native.predict(data)), np.asarray(
            self._native.predict_proba(data), dtype=np.float64
        )

    def _bad_rows(self, frame: pd.DataFrame, first: int) -> list[tuple[int, str]]:
        """Positions (in ``frame``) of the rows that fail, found by halving: a chunk with
        a few bad rows costs a few dozen small predictions, not one per row."""
        try:
            self._predict(frame)
            return []
        except _ROW_ERRORS as exc:
            if len(frame) == 1:
                return [(first, _message(exc))]
        middle = len(frame) // 2
        return self._bad_rows(frame.iloc[:middle], first) + self._bad_rows(
            frame.iloc[middle:], first + middle
        )

    def _first_bad_row(self, frame: pd.DataFrame) -> tuple[int, str]:
        low, high = 0, len(frame)
        message = ""
        while high - low > 1:  # invariant: frame[low:high] holds a failing row
            middle = (low + high) // 2
            try:
                self._predict(frame.iloc[low:middle])
                low = middle
            except _ROW_ERRORS as exc:
                high, message = middle, _message(exc)
        try:
            self._predict(frame.iloc[low:high])
        except _ROW_ERRORS as exc:
            message = _message(exc)
        return low, message

    def _row_label(self, frame: pd.DataFrame, position: int, index: int) -> str:
        row = index * self.plan.chunk_rows + position
        label = f"input row {row} (row {position} of chunk {index})"
        if self.plan.id_column:
            label += (
                f", {self.plan.id_column}={_plain(frame[self.plan.id_column].iloc[position])!r}"
            )
        return label

    # -- one chunk -------------------------------------------------------------------
    def run(self, index: int, table: pa.Table) -> ChunkResult:
        """Predict one chunk and write its part file (and its skipped-rows report).

        Raises:
            InvalidInput: A row fails the model's signature and ``on_error`` is
                ``"fail"``; the message names the chunk, the input row and the column.
        """
        plan = self.plan
        data = self._numeric_data(table)
        if data is not None:
            try:
                predictions, proba = self._predict_data(data)
            except _ROW_ERRORS:
                data = None  # the pandas path finds the bad rows and names them
        if data is None:
            return self._run_frame(index, table.to_pandas())
        carried = {name: table.column(name) for name in plan.carried}
        out = self._output(carried, np.arange(table.num_rows), index, predictions, proba)
        _write_atomic_parquet(out, part_path(plan.parts_dir, index))
        rows = table.num_rows
        return ChunkResult(index, rows, rows, 0, peak_rss_bytes(), os.getpid())

    def _run_frame(self, index: int, frame: pd.DataFrame) -> ChunkResult:
        """The general path: ``conform`` on pandas rows, bad rows isolated and named."""
        plan = self.plan
        skipped: list[dict[str, Any]] = []
        try:
            predictions, proba = self._predict(frame)
            kept = frame
        except _ROW_ERRORS as exc:
            if plan.on_error == "fail":
                position, message = self._first_bad_row(frame)
                raise InvalidInput(
                    f"Chunk {index}: {self._row_label(frame, position, index)} does not fit "
                    f"the model: {message or _message(exc)} Fix the row, or re-run with "
                    "--on-error skip to leave such rows out (they are listed in a side file)."
                ) from None
            bad = self._bad_rows(frame, 0)
            positions = [p for p, _ in bad]
            for position, message in bad:
                entry: dict[str, Any] = {
                    "chunk": index,
                    "row": index * plan.chunk_rows + position,
                    "error": message,
                }
                if plan.id_column:
                    entry[plan.id_column] = _plain(frame[plan.id_column].iloc[position])
                skipped.append(entry)
            kept = frame.drop(index=frame.index[positions])
            if len(kept):
                predictions, proba = self._predict(kept)
            else:
                predictions, proba = np.array([], dtype=object), None
        carried = {name: pa.Array.from_pandas(kept[name]) for name in plan.carried}
        # to_pandas numbers the rows 0..n-1; skipped rows leave gaps
        out = self._output(carried, kept.index.to_numpy(np.int64), index, predictions, proba)
        _write_atomic_parquet(out, part_path(plan.parts_dir, index))
        if skipped:
            _write_atomic_text(
                "".join(json.dumps(e, default=str) + "\n" for e in skipped),
                skipped_path(plan.skipped_dir, index),
            )
        return ChunkResult(
            index, len(frame), out.num_rows, len(skipped), peak_rss_bytes(), os.getpid()
        )

    def _output(
        self,
        carried: dict[str, Any],
        positions: np.ndarray,
        index: int,
        predictions: np.ndarray,
        proba: np.ndarray | None,
    ) -> pa.Table:
        """The part table: carried input columns (or ``row_number``), then predictions.

        Args:
            carried: The id/kept input columns of the rows predicted.
            positions: Their row positions within the chunk.
        """
        plan = self.plan
        columns: dict[str, Any] = dict(carried)
        if not plan.carried:
            start = index * plan.chunk_rows
            columns[ROW_NUMBER] = pa.array(start + positions, pa.int64())
        columns[PREDICTION] = pa.array(predictions) if len(positions) else pa.array([], pa.null())
        if self.with_proba:
            for position, label in enumerate(self.model.classes or []):
                values = proba[:, position] if proba is not None else np.array([], np.float64)
                columns[f"{PROBABILITY_PREFIX}{label}"] = pa.array(values, pa.float64())
        return pa.table(columns)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text if text.endswith(".") else text + "."


def _write_atomic_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="lz4")  # a scratch file: merged (zstd) at the end
    _fsync_and_rename(tmp, path)


def _write_atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    _fsync_and_rename(tmp, path)


def _fsync_and_rename(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# -- process-pool plumbing: one predictor per worker process -----------------------
_WORKER: ChunkPredictor | None = None


def init_worker(plan: ChunkPlan) -> None:
    """Pool initializer: limit native thread pools to one thread and load the model.

    A stop sends SIGTERM to the job's whole process group; workers ignore it so the job
    process can let the chunks in flight finish and record them (SIGKILL still ends
    them once the grace period is over).
    """
    global _WORKER
    import signal

    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threadpool_limits(1)
    _WORKER = ChunkPredictor(plan)


def write_chunk(folder: str | Path, index: int, table: pa.Table) -> str:
    """Hand a chunk to a pool worker: an uncompressed Arrow IPC file in the transform's
    ``chunks/`` folder, which the worker memory-maps (:func:`run_chunk`).

    Sending the rows through the pool's pipe instead costs four copies of the chunk
    (serialise, pickle, the pipe, unpickle) and as much latency, during which the worker
    waits; this is one copy, and the pages are shared. Only the chunk's own rows are
    written, however the table was sliced. The worker deletes the file once the part is
    written; leftovers of a killed attempt are cleared by the next (:func:`clear_chunks`).
    """
    # The job's pid in the name: a worker orphaned by a killed attempt can only ever
    # delete its own attempt's file, never the same chunk handed over by the next one.
    path = Path(folder) / f"chunk-{os.getpid()}-{index:06d}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return str(path)


def clear_chunks(folder: str | Path) -> None:
    """Remove the chunk files a killed attempt left behind."""
    for path in Path(folder).glob("chunk-*.arrow"):
        path.unlink(missing_ok=True)


def worker_ready() -> tuple[int, int]:
    """Pool task that returns at once: done means the worker is initialised.

    Returns:
        The worker's pid and its peak RSS so far (imports and the loaded model).
    """
    return os.getpid(), peak_rss_bytes()


def run_chunk(index: int, path: str) -> ChunkResult:
    """Pool task: predict one chunk (a :func:`write_chunk` file) with this worker's model."""
    if _WORKER is None:  # pragma: no cover - the pool initializer always ran
        raise RuntimeError("init_worker was not called in this process")
    with pa.memory_map(path) as source:
        table = pa.ipc.open_file(source).read_all()
        result = _WORKER.run(index, table)
        del table
    os.unlink(path)
    return result


__all__ = [
    "PREDICTION",
    "PROBABILITY_PREFIX",
    "ROW_NUMBER",
    "ChunkPlan",
    "ChunkPredictor",
    "ChunkResult",
    "clear_chunks",
    "init_worker",
    "part_path",
    "peak_rss_bytes",
    "run_chunk",
    "skipped_path",
    "worker_ready",
    "write_chunk",
]
