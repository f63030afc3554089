"""Running one attempt of a transform: stream chunks to workers, then publish the output.

The job process reads the input once, in order, cutting it into numbered chunks (a
thread reads up to two chunks ahead); chunks already in the manifest are passed over.
The others are predicted by ``workers`` processes: the job process itself plus a pool of
``workers - 1`` (``spawn``: each imports what it needs and loads the model once), with
at most two chunks queued per pool worker, so memory stays bounded by the chunk size.
Each finished chunk is recorded in the manifest as soon as its part file is in place.

When every chunk is done, the part files are streamed, in chunk order, into one Parquet
file that becomes a new version of the output dataset, linked in the lineage to the
input dataset, the model package and the job.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState, NotFound
from siklus.serving.batch._manifest import DoneChunk, Manifest, locked, read_manifest, work_dir
from siklus.serving.batch._predict import (
    ChunkPlan,
    ChunkPredictor,
    ChunkResult,
    clear_chunks,
    init_worker,
    part_path,
    peak_rss_bytes,
    run_chunk,
    skipped_path,
    worker_ready,
    write_chunk,
)
from siklus.serving.batch._sources import InputSource, check_unchanged, iter_chunks
from siklus.store import DatasetVersion, WorkspaceContext

_LOG_EVERY_S = 2.0


@dataclass
class _Progress:
    """Counts of one attempt, reported in the job log and the job outputs."""

    done: dict[int, DoneChunk]
    total_rows: int | None
    log: logging.Logger
    resumed_chunks: int = 0
    computed_chunks: int = 0
    computed_rows: int = 0
    worker_peaks: dict[int, int] = field(default_factory=dict)
    last_log: float = 0.0
    first_at: float | None = None  # when the first chunk of this attempt was recorded
    last_at: float | None = None
    first_rows: int = 0

    def add(self, result: ChunkResult) -> None:
        now = time.monotonic()
        if self.first_at is None:
            self.first_at, self.first_rows = now, result.rows_in
        self.last_at = now
        self.done[result.index] = DoneChunk(
            result.index, result.rows_in, result.rows_out, result.skipped
        )
        self.computed_chunks += 1
        self.computed_rows += result.rows_in
        self.worker_peaks[result.pid] = max(
            self.worker_peaks.get(result.pid, 0), result.peak_rss_bytes
        )
        if now - self.last_log >= _LOG_EVERY_S:
            self.last_log = now
            rows = sum(c.rows_in for c in self.done.values())
            total = "?" if self.total_rows is None else str(self.total_rows)
            self.log.info("progress: %d/%s rows, %d chunks done", rows, total, len(self.done))


def needed_columns(source: InputSource, record: dict[str, Any], manifest: dict) -> list[str]:
    """Input columns to read: the model's, the id column and the kept ones, in input order."""
    wanted = {c["name"] for c in manifest["input_signature"]}
    wanted.update(c for c in [record.get("id_column"), *record.get("keep_columns", [])] if c)
    return [c for c in source.columns if c in wanted]


def _source_for_run(ctx: WorkspaceContext, source: InputSource) -> InputSource:
    if source.kind == "dataset":
        version = ctx.store.get_dataset_version_by_id(str(source.dataset_version_id))
        try:
            path = ctx.artifacts.local_path(version.sha256)  # the hash is checked here
        except NotFound:
            raise NotFound(
                f"The data of dataset {version.ref} (artifact sha256:{version.sha256}) is no "
                f"longer in the artifact store at {ctx.artifacts.url}: it was deleted after "
                "the transform was created, or SIKLUS_ARTIFACT_ROOT points elsewhere."
            ) from None
        return replace(source, files=(str(path),))
    check_unchanged(source)
    return source


def _plan(ctx: WorkspaceContext, record: dict[str, Any], folder: Path) -> ChunkPlan:
    model = ctx.store.get_model(record["model_id"])
    runtime = record.get("runtime", "native")
    onnx_export, onnx_path = None, None
    if runtime == "onnx":
        from siklus.registry import require_onnx_file

        package = record["model_package"]  # "group:version"
        onnx_export, path = require_onnx_file(ctx, package)  # hash verified here, once
        onnx_path = str(path)
    return ChunkPlan(
        model_path=str(ctx.artifacts.local_path(model.sha256)),  # hash verified here
        model_id=model.id,
        manifest=dict(model.manifest),
        parts_dir=str(folder / "parts"),
        skipped_dir=str(folder / "skipped"),
        chunk_rows=int(record["chunk_rows"]),
        id_column=record.get("id_column"),
        keep_columns=tuple(record.get("keep_columns") or ()),
        probabilities=bool(record.get("probabilities", True)),
        on_error=record.get("on_error", "fail"),
        runtime=runtime,
        native_fallback=record.get("requested_runtime") == "auto",
        onnx_export=onnx_export,
        onnx_path=onnx_path,
    )


def execute(
    ctx: WorkspaceContext,
    record: dict[str, Any],
    *,
    job_id: str,
    log: logging.Logger,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Run one attempt of the transform described by ``record``; return the job outputs.

    Raises:
        InvalidInput: A row fails the signature (``on_error="fail"``), or the input has
            no rows.
        InvalidState: Another attempt runs, the input files changed, or a worker died.
    """
    transform_id = record["id"]
    folder = work_dir(ctx, transform_id)
    with locked(folder, transform_id):
        plan = _plan(ctx, record, folder)
        clear_chunks(folder / "chunks")
        started = time.monotonic()
        # The pool workers spawn (import, load the model) while this process verifies
        # the input's hash and loads its own copy of the model.
        # Processes, one onnxruntime thread each, also for ONNX: a tree ensemble summed
        # on two threads adds its votes in another order, and a row whose classes tie
        # exactly (50 of 100 trees) can come out the other class than scikit-learn's.
        with _Pool(plan, int(record["workers"])) as pool:
            source = _source_for_run(ctx, InputSource.from_dict(record["input"]))
            done = read_manifest(folder)
            progress = _Progress(dict(done), source.total_rows, log, resumed_chunks=len(done))
            if done:
                log.info("resuming: %d chunk(s) already done are skipped", len(done))
            columns = needed_columns(source, record, plan.manifest)
            manifest = Manifest(folder)
            try:
                last, stopped = _run_chunks(
                    source, plan, columns, pool, manifest, progress, should_stop
                )
            finally:
                manifest.close()
        seconds = time.monotonic() - started
        outputs: dict[str, Any] = {
            "transform_id": transform_id,
            "chunks_resumed": progress.resumed_chunks,
            "chunks_computed": progress.computed_chunks,
            "rows_computed": progress.computed_rows,
            "seconds": round(seconds, 3),
            "rows_per_second": round(progress.computed_rows / seconds, 1) if seconds else None,
            # Start-up (spawning workers, loading the model, the first chunk) apart from
            # the steady rate after it: they scale differently with the data size.
            "startup_seconds": (
                round(progress.first_at - started, 3) if progress.first_at is not None else None
            ),
            "steady_rows_per_second": _steady_rate(progress),
            "peak_rss_bytes": _peaks(progress),
        }
        if stopped:
            log.info("stopped after %d chunk(s); resume to finish", len(progress.done))
            return {**outputs, "stopped": True}
        outputs.update(_publish(ctx, record, source, folder, progress.done, last, job_id, log))
        return outputs


def _peaks(progress: _Progress) -> dict[str, int]:
    """Peak RSS of the job process and of the pool workers (each its own ``VmHWM``);
    ``total`` adds them: an upper bound of what the transform held at once."""
    job = peak_rss_bytes()
    pool = [peak for pid, peak in progress.worker_peaks.items() if pid != os.getpid()]
    return {
        "job": job,
        "workers_max": max(pool, default=0),
        "workers_sum": sum(pool),
        "total": job + sum(pool),
    }


def _steady_rate(progress: _Progress) -> float | None:
    if progress.first_at is None or progress.last_at is None:
        return None
    span = progress.last_at - progress.first_at
    rows = progress.computed_rows - progress.first_rows
    return round(rows / span, 1) if span > 0 and rows > 0 else None


class _Pool:
    """The ``workers - 1`` spawned worker processes, started on entering.

    Each imports what it needs and loads the model once (``spawn``: nothing of the job
    process is inherited). A worker gets chunks only once it has answered a first no-op
    task (``ready``), i.e. it finished importing and loading the model: chunks queued
    behind a worker that is still starting would wait for it while the job process sits
    idle at the end.
    """

    def __init__(self, plan: ChunkPlan, workers: int) -> None:
        self.plan = plan
        self.size = workers - 1
        self.executor: ProcessPoolExecutor | None = None
        self.ready_checks: list[Future[tuple[int, int]]] = []
        self.warned = False

    def __enter__(self) -> _Pool:
        if self.size > 0:
            context = multiprocessing.get_context("spawn")
            self.executor = ProcessPoolExecutor(
                self.size, mp_context=context, initializer=init_worker, initargs=(self.plan,)
            )
            self.ready_checks = [self.executor.submit(worker_ready) for _ in range(self.size)]
        return self

    def ready(self) -> int:
        """Workers that finished starting (a failed start is not ready)."""
        return sum(1 for check in self.ready_checks if _succeeded(check))

    def warn_failed_start(self, log: logging.Logger) -> None:
        """Say once that the workers failed to start: the job process goes on alone."""
        if self.warned or not self.ready_checks:
            return
        failed = [c for c in self.ready_checks if c.done() and not _succeeded(c)]
        if len(failed) == len(self.ready_checks):
            self.warned = True
            log.warning(
                "The worker processes failed to start (their error is above in this log); "
                "the job process predicts every chunk alone."
            )

    def shutdown(self, progress: _Progress | None = None) -> None:
        """Wait for the workers to exit (a worker is counted in the job's metered CPU
        time once waited for), and note each one's peak memory in ``progress``."""
        if self.executor is None:
            return
        self.executor.shutdown(wait=True, cancel_futures=True)
        for check in self.ready_checks:
            if progress and _succeeded(check):
                pid, peak = check.result()
                progress.worker_peaks[pid] = max(progress.worker_peaks.get(pid, 0), peak)

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _succeeded(future: Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _read_ahead(
    chunks: Iterator[tuple[int, pa.Table]], depth: int = 2
) -> Iterator[tuple[int, pa.Table]]:
    """``chunks``, read up to ``depth`` ahead on a thread while the caller predicts.

    Reading (Parquet decoding, CSV parsing) and onnxruntime release the GIL, so the next
    chunk is read while this one is predicted. Errors of the reader are raised here, in
    order; closing the generator (a stop, an error) stops the reader.
    """
    done = object()
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in chunks:
                if not hand(item):
                    return
            hand(done)
        except BaseException as exc:  # handed to the caller, raised there
            hand(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # its open files, in this thread

    reader = threading.Thread(target=read, name="siklus-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _run_chunks(
    source: InputSource,
    plan: ChunkPlan,
    columns: list[str],
    pool: _Pool,
    manifest: Manifest,
    progress: _Progress,
    should_stop: Callable[[], bool],
) -> tuple[int, bool]:
    """Compute every chunk not done yet; return (last chunk index, stopped)."""
    chunks = _read_ahead(iter_chunks(source, plan.chunk_rows, columns))
    last = -1
    # The job process is one of the workers: it already has everything imported, so it
    # predicts from the first second while the others spawn, and whenever their queue is
    # full. The pool adds the other ``workers - 1`` processes.
    local = ChunkPredictor(plan)
    if pool.executor is None:
        for index, table in chunks:
            last = index
            if index in progress.done:
                continue
            if should_stop():
                return last, True
            result = local.run(index, table)
            manifest.record(result)
            progress.add(result)
        return last, False
    in_flight: dict[Future[ChunkResult], int] = {}
    handover = Path(plan.parts_dir).parent / "chunks"
    try:
        for index, table in chunks:
            last = index
            if index in progress.done:
                continue
            if should_stop():
                _drain(in_flight, manifest, progress)
                return last, True
            _collect({f for f in in_flight if f.done()}, in_flight, manifest, progress)
            pool.warn_failed_start(progress.log)
            if len(in_flight) < 2 * pool.ready():
                path = write_chunk(handover, index, table)
                in_flight[pool.executor.submit(run_chunk, index, path)] = index
            else:
                result = local.run(index, table)
                manifest.record(result)
                progress.add(result)
            del table
        _drain(in_flight, manifest, progress)
    except BrokenProcessPool:
        _record_finished(in_flight, manifest, progress)
        if _stop_requested(should_stop):
            # A stop signals the whole process group: a worker still starting up (before
            # it could ignore SIGTERM) dies of it. The stop is what counts.
            return last, True
        raise InvalidState(
            f"A worker process died while predicting chunk(s) {sorted(in_flight.values())} "
            "(killed, or out of memory: try a smaller chunk size or fewer workers). "
            "Finished chunks are kept: resume the transform to go on."
        ) from None
    except BaseException:
        pool.shutdown()
        _record_finished(in_flight, manifest, progress)  # kept for a resume
        raise
    finally:
        pool.shutdown(progress)
        clear_chunks(handover)
    return last, False


def _record_finished(
    in_flight: dict[Future[ChunkResult], int], manifest: Manifest, progress: _Progress
) -> None:
    """Record the chunks that finished but were not collected yet."""
    for future in [f for f in in_flight if f.done() and not f.cancelled()]:
        if future.exception() is None:
            result = future.result()
            del in_flight[future]
            manifest.record(result)
            progress.add(result)


def _stop_requested(should_stop: Callable[[], bool], patience_s: float = 0.5) -> bool:
    """Whether a stop was asked for, allowing the signal handler a moment to run."""
    deadline = time.monotonic() + patience_s
    while not should_stop():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _collect(
    finished: set[Future[ChunkResult]],
    in_flight: dict[Future[ChunkResult], int],
    manifest: Manifest,
    progress: _Progress,
) -> None:
    for future in sorted(finished, key=lambda f: in_flight[f]):
        result = future.result()
        del in_flight[future]
        manifest.record(result)
        progress.add(result)


def _drain(
    in_flight: dict[Future[ChunkResult], int], manifest: Manifest, progress: _Progress
) -> None:
    while in_flight:
        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        _collect(finished, in_flight, manifest, progress)


def _publish(
    ctx: WorkspaceContext,
    record: dict[str, Any],
    source: InputSource,
    folder: Path,
    done: dict[int, DoneChunk],
    last: int,
    job_id: str,
    log: logging.Logger,
) -> dict[str, Any]:
    """Merge the parts into the output dataset version and record lineage."""
    if last < 0:
        raise InvalidInput(f"Input {source.ref} has no rows: there is nothing to transform.")
    missing = [i for i in range(last + 1) if i not in done]
    if missing:  # cannot happen unless the folder was tampered with; never publish holes
        raise InvalidState(
            f"Chunks {missing[:5]} of transform {record['id']} have no part file; resume "
            "the transform to compute them."
        )
    rows_in = sum(done[i].rows_in for i in range(last + 1))
    if source.total_rows is not None and rows_in != source.total_rows:
        raise InvalidState(
            f"The finished chunks cover {rows_in} rows but the input has "
            f"{source.total_rows}; the work folder {folder} does not match this input."
        )
    version = _store_parts(ctx, record, source, folder, last)
    skipped = _merge_skipped(folder, last)
    skipped_rows = sum(done[i].skipped for i in range(last + 1))
    store = ctx.store
    out = ("dataset", version.id)
    if source.dataset_version_id:
        store.add_lineage(("dataset", source.dataset_version_id), ("job", job_id), "input:data")
        store.add_lineage(("dataset", source.dataset_version_id), out, "batch-transform:input")
    store.add_lineage(("model_package", record["model_package_id"]), ("job", job_id), "input:model")
    store.add_lineage(("model_package", record["model_package_id"]), out, "batch-transform:model")
    store.add_lineage(("job", job_id), out, "output")
    log.info(
        "stored %s: %d rows (%d input rows, %d skipped)",
        version.ref, version.row_count, rows_in, skipped_rows,
    )  # fmt: skip
    return {
        "output_dataset": version.ref,
        "output_dataset_id": version.id,
        "rows_in": rows_in,
        "rows_out": version.row_count,
        "skipped_rows": skipped_rows,
        "skipped_file": str(skipped) if skipped is not None else None,
        "chunks": last + 1,
    }


def _store_parts(
    ctx: WorkspaceContext, record: dict[str, Any], source: InputSource, folder: Path, last: int
) -> DatasetVersion:
    """Stream the part files into one Parquet artifact and record a dataset version.

    ``siklus.data.store_table`` takes a whole in-memory table; writing part by part with
    the same Parquet options keeps memory at one part instead of the whole output.
    """
    parts = [part_path(folder / "parts", i) for i in range(last + 1)]
    try:
        schema = pa.unify_schemas(
            [pq.read_schema(p) for p in parts], promote_options="permissive"
        ).remove_metadata()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInput(
            f"The chunks of transform {record['id']} disagree on column types ({exc}); "
            "give the kept columns one type throughout the input."
        ) from None
    rows = 0
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        path = Path(tmp) / "data.parquet"
        with pq.ParquetWriter(
            path, schema, compression="zstd", write_statistics=True, store_schema=False
        ) as writer:
            for part in parts:
                table = pq.read_table(part).cast(schema)
                rows += table.num_rows
                writer.write_table(table)
        digest = ctx.artifacts.put_file(path)
        size = path.stat().st_size
    version, _ = ctx.store.add_dataset_version(
        record["output_name"],
        sha256=digest,
        schema=[{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema],
        row_count=rows,
        size_bytes=size,
        source=(
            f"batch transform {record['id']}: model package {record['model_package']} "
            f"over {source.ref}"
        ),
        parent_id=source.dataset_version_id,
        tags=ctx.with_tags({**record.get("tags", {}), "batch_transform": record["id"]}),
    )
    return version


def _merge_skipped(folder: Path, last: int) -> Path | None:
    files = [skipped_path(folder / "skipped", i) for i in range(last + 1)]
    files = [f for f in files if f.exists()]
    if not files:
        return None
    target = folder / "skipped.jsonl"
    tmp = folder / ".skipped.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        for file in files:
            out.write(file.read_text(encoding="utf-8"))
    tmp.replace(target)
    return target


def check_workers(workers: int) -> int:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidParameter(f"workers must be a whole number >= 1, got {workers!r}.")
    return workers


__all__ = ["check_workers", "execute", "needed_columns"]
