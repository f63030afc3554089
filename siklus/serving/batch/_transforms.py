"""Batch transforms as resources: start, resume, describe and list them.

A transform is a store resource (kind ``batch-transform``) holding everything needed to
run it again identically: the model (package and model id), the resolved input (dataset
version, or the files with their size and modification time), the chunk size and the
output options. Each attempt is a job (kind ``batch-transform``); a crashed, failed or
stopped attempt is resumed by a new job over the same resource and work folder, which
skips the chunks already done.

Everything that can be checked before a job starts is checked here: the package's
approval, that the model loads, that the input has the model's columns and the id/kept
columns, and that output column names do not clash.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siklus.data import check_dataset_name
from siklus.exceptions import InvalidInput, InvalidParameter, InvalidState, NotFound
from siklus.jobs import JobSpec, LocalExecutor
from siklus.registry import get_package, require_onnx_file
from siklus.serving._config import auto_runtime
from siklus.serving.batch._engine import check_workers
from siklus.serving.batch._manifest import read_manifest, work_dir
from siklus.serving.batch._predict import PREDICTION, PROBABILITY_PREFIX, ROW_NUMBER
from siklus.serving.batch._sources import resolve_input
from siklus.store import ApprovalStatus, Job, JobStatus, WorkspaceContext

KIND = "batch-transform"
ENTRYPOINT = "siklus.serving.batch._job:run"
ON_ERROR = ("fail", "skip")
RUNTIMES = ("auto", "native", "onnx")
DEFAULT_CHUNK_ROWS = 50_000

OnPoll = Callable[[Job], None]


@dataclass(frozen=True)
class BatchTransform:
    """What a transform is and how far it got (a snapshot; describe again to refresh).

    Attributes:
        id: ``bt-…``; also the name of its work folder and store resource.
        status: The latest attempt's job status (``Completed`` once the output exists).
        model_package: ``group:version`` of the model used.
        input: The input as given (dataset ``name:version`` or path/glob).
        output_name: The dataset the output is stored as.
        output_dataset: ``name:version`` of the output once completed.
        job_ids: Every attempt, oldest first.
        chunks_done: Chunks whose output is in place.
        rows_done: Input rows in those chunks.
        total_rows: Input rows (None for CSV/JSON Lines until completed).
        skipped_rows: Rows left out by ``on_error="skip"`` so far.
        failure_reason: Why the latest attempt failed or stopped.
    """

    id: str
    status: str
    model_package: str
    input: str
    output_name: str
    output_dataset: str | None
    job_ids: tuple[str, ...]
    chunk_rows: int
    workers: int
    runtime: str
    on_error: str
    id_column: str | None
    keep_columns: tuple[str, ...]
    chunks_done: int
    rows_done: int
    total_rows: int | None
    skipped_rows: int
    failure_reason: str | None
    outputs: dict[str, Any]
    created_at: str

    @property
    def job_id(self) -> str:
        """The latest attempt."""
        return self.job_ids[-1]

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["job_ids"] = list(self.job_ids)
        out["keep_columns"] = list(self.keep_columns)
        return out


def _check_options(
    chunk_rows: int, workers: int, runtime: str, on_error: str, output_name: str
) -> None:
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise InvalidParameter(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}.")
    check_workers(workers)
    if runtime not in RUNTIMES:
        raise InvalidParameter(
            f"runtime {runtime!r} is not available; use one of {list(RUNTIMES)}."
        )
    if on_error not in ON_ERROR:
        raise InvalidParameter(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}.")
    check_dataset_name(output_name)


def _check_columns(
    columns: Sequence[str],
    signature: list[dict[str, Any]],
    classes: list[Any] | None,
    id_column: str | None,
    keep_columns: Sequence[str],
    where: str,
) -> None:
    missing = [c["name"] for c in signature if c["name"] not in columns]
    if missing:
        raise InvalidInput(
            f"Input {where} lacks column(s) {missing} that the model needs; its columns "
            f"are {list(columns)}."
        )
    for what, names in (
        ("--id-column", [id_column] if id_column else []),
        ("--keep-columns", keep_columns),
    ):
        absent = [c for c in names if c not in columns]
        if absent:
            raise InvalidParameter(
                f"{what} {absent} not in input {where}; its columns are {list(columns)}."
            )
    produced = {PREDICTION, ROW_NUMBER, *(f"{PROBABILITY_PREFIX}{c}" for c in classes or [])}
    clash = [c for c in [id_column, *keep_columns] if c in produced]
    if clash:
        raise InvalidParameter(
            f"Input column(s) {clash} would clash with the output columns "
            f"{sorted(produced)}; rename them in the input or do not keep them."
        )


def _executor(ctx: WorkspaceContext) -> LocalExecutor:
    return LocalExecutor(ctx)


def _submit(
    ctx: WorkspaceContext, body: dict[str, Any], *, attempt: int
) -> tuple[Job, dict[str, Any]]:
    """Start a job for the transform and record its id (one more attempt)."""
    spec = JobSpec(
        kind=KIND,
        entrypoint=ENTRYPOINT,
        name=f"{body['id']}-{attempt}",
        inputs={
            "dataset": body["input"].get("dataset_version_id"),
            "model_package": body["model_package_id"],
        },
        parameters={"transform_id": body["id"]},
        resources={"cpus": body["workers"]},  # one CPU per worker: never oversubscribed
        tags=dict(body.get("tags") or {}),
    )
    job = _executor(ctx).submit(spec)
    return job, {**body, "job_ids": [*body["job_ids"], job.id]}


def transform(
    ctx: WorkspaceContext,
    model: str,
    input: str,
    output_name: str,
    *,
    id_column: str | None = None,
    keep_columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int = 1,
    runtime: str = "auto",
    on_error: str = "fail",
    probabilities: bool = True,
    input_format: str | None = None,
    force: bool = False,
    tags: dict[str, str] | None = None,
    wait: bool = True,
    timeout: float | None = None,
    on_poll: OnPoll | None = None,
) -> BatchTransform:
    """Start a batch transform job: predict every input row with a registered model.

    Example:
        >>> bt = transform(ctx, "breast-cancer:1", "bc.test", "bc.scored",
        ...                id_column="patient_id", workers=2)  # doctest: +SKIP
        >>> bt.status, bt.output_dataset  # doctest: +SKIP
        ('Completed', 'bc.scored:1')

    Args:
        ctx: The workspace.
        model: Model package ``GROUP[:VERSION]`` (newest version when omitted).
        input: A dataset ``NAME[:VERSION]``, or a file, folder or glob of Parquet, CSV or
            JSON Lines files (local, or any fsspec URL), read in sorted order.
        output_name: Dataset name for the output (a new version of it is created).
        id_column: Input column copied to the output to join predictions back.
        keep_columns: Input columns copied to the output. With neither option the output
            has ``row_number``, the row's position in the input.
        chunk_rows: Rows per chunk: the unit of work, of memory and of resumption.
        workers: Worker processes (each loads the model once); the job reserves as many
            CPUs.
        runtime: ``"auto"`` (the package's verified ONNX export when it has one, else
            native; the record keeps the one chosen; a chunk with missing values the
            export was not verified for is predicted natively), ``"native"`` (the skops
            pipeline) or ``"onnx"`` (the ONNX export through onnxruntime; exported now if
            missing; such a chunk's rows are refused).
        on_error: ``"fail"`` stops at the first row that fails the model's signature,
            naming chunk and row; ``"skip"`` leaves such rows out and lists them in
            ``skipped.jsonl`` in the transform's work folder.
        probabilities: Add ``probability_<class>`` columns for classifiers.
        input_format: ``parquet``, ``csv`` or ``jsonl`` when file suffixes do not say.
        force: Use a package that is not Approved.
        tags: Tags of the job and the output dataset.
        wait: Wait for the job to end (a failure is reported in ``status``, not raised).
        timeout: Seconds to wait at most (the job keeps running after).
        on_poll: Called with the job record while waiting (progress bars).

    Returns:
        The transform, described after the job ended (or right after submit).

    Raises:
        NotFound: The package, dataset or files do not exist.
        InvalidState: The package is not Approved and ``force`` is False.
        InvalidParameter: A bad option, an unknown id/kept column, a column clash.
        InvalidInput: The input lacks columns the model needs.
    """
    _check_options(chunk_rows, workers, runtime, on_error, output_name)
    keep = list(dict.fromkeys(keep_columns or []))
    package = get_package(ctx, model)
    if package.approval_status != ApprovalStatus.APPROVED and not force:
        raise InvalidState(
            f"Model package {package.ref} is {package.approval_status.value}, not Approved; "
            f"only approved versions are deployed. Approve it with `siklus models approve "
            f"{package.ref} --reason '...'`, or run anyway with --force (force=True)."
        )
    stored = ctx.store.get_model(package.model_id)
    requested = runtime
    if runtime == "auto":
        runtime = auto_runtime(ctx, package)
    if runtime == "onnx":
        require_onnx_file(ctx, package)  # exports now if needed; refuses what cannot convert
        signature = list(stored.manifest["input_signature"])
        classes = stored.manifest.get("classes")
    else:
        # Imported here: the job process imports this module too, and with the ONNX
        # runtime it never needs scikit-learn or skops. (An ONNX export was made from a
        # model that passed the same allow-list check.)
        from siklus.training import load_model

        loaded = load_model(ctx, stored)  # refuse an unloadable or untrusted model now
        signature, classes = loaded.signature, loaded.classes
    source = resolve_input(ctx, input, format=input_format)
    if source.kind == "dataset" and source.ref.rsplit(":", 1)[0] == output_name:
        # The output would become the input's latest version: `NAME` would then mean the
        # predictions, silently replacing the data everything else reads by that name.
        raise InvalidParameter(
            f"--output {output_name!r} is the input dataset {source.ref}; the predictions "
            "would become its latest version. Choose another output name, such as "
            f"'{output_name}.scored'."
        )
    _check_columns(source.columns, signature, classes, id_column, keep, source.ref)
    transform_id = f"bt-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {
        "id": transform_id,
        "model_package": package.ref,
        "model_package_id": package.id,
        "model_id": stored.id,
        "input": source.to_dict(),
        "output_name": output_name,
        "id_column": id_column,
        "keep_columns": keep,
        "chunk_rows": chunk_rows,
        "workers": workers,
        "runtime": runtime,
        # "auto" promises native's answers: rows the export was not verified for (gaps
        # where the training data had none) are predicted natively instead of refused.
        "requested_runtime": requested,
        "on_error": on_error,
        "probabilities": probabilities,
        "tags": dict(tags or {}),
        "job_ids": [],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    resource = ctx.store.put_resource(KIND, transform_id, body, expected_revision=0)
    work_dir(ctx, transform_id)
    try:
        job, body = _submit(ctx, body, attempt=1)
    except BaseException:  # e.g. more workers than the machine has CPUs: leave no trace
        ctx.store.delete_resource(KIND, transform_id)
        shutil.rmtree(work_dir(ctx, transform_id), ignore_errors=True)
        raise
    ctx.store.put_resource(KIND, transform_id, body, expected_revision=resource.revision)
    return _maybe_wait(ctx, transform_id, job, wait=wait, timeout=timeout, on_poll=on_poll)


def _maybe_wait(
    ctx: WorkspaceContext,
    transform_id: str,
    job: Job,
    *,
    wait: bool,
    timeout: float | None,
    on_poll: OnPoll | None,
) -> BatchTransform:
    if wait and not job.status.is_final:
        _executor(ctx).wait(job.id, timeout=timeout, on_poll=on_poll)
    return describe_transform(ctx, transform_id)


def _record(ctx: WorkspaceContext, transform_or_job_id: str) -> tuple[dict[str, Any], int]:
    """The transform resource for a transform id or any of its jobs' ids."""
    key = transform_or_job_id
    if not key.startswith("bt-"):
        try:
            job = ctx.store.get_job(key)
        except NotFound:
            raise NotFound(
                f"No batch transform or job has id {key!r}; list them with `siklus transform list`."
            ) from None
        if job.kind != KIND or "transform_id" not in job.parameters:
            raise InvalidParameter(
                f"Job {key} is a {job.kind!r} job, not a batch transform; give a transform "
                "id (bt-…) or the id of one of its jobs."
            )
        key = str(job.parameters["transform_id"])
    try:
        resource = ctx.store.get_resource(KIND, key)
    except NotFound:
        raise NotFound(
            f"No batch transform has id {key!r}; list them with `siklus transform list`."
        ) from None
    return dict(resource.body), resource.revision


def resume_transform(
    ctx: WorkspaceContext,
    transform_or_job_id: str,
    *,
    wait: bool = True,
    timeout: float | None = None,
    on_poll: OnPoll | None = None,
) -> BatchTransform:
    """Start a new attempt of a failed, stopped or crashed transform.

    Chunks already done are skipped, so the output has each input row exactly once.

    Args:
        ctx: The workspace.
        transform_or_job_id: The transform id (``bt-…``) or the id of any of its jobs.
        wait, timeout, on_poll: As for :func:`transform`.

    Raises:
        NotFound: No such transform or job.
        InvalidState: The transform completed already, or an attempt is still running.
    """
    body, revision = _record(ctx, transform_or_job_id)
    current = describe_transform(ctx, body["id"])
    if current.output_dataset is not None:
        raise InvalidState(
            f"Transform {body['id']} already completed: its output is dataset "
            f"{current.output_dataset}. Start a new transform to predict again."
        )
    if current.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.STOPPING):
        raise InvalidState(
            f"Transform {body['id']} is still {current.status} in job {current.job_id}; "
            "wait for it, or stop it (`siklus jobs stop`) before resuming."
        )
    job, body = _submit(ctx, body, attempt=len(body["job_ids"]) + 1)
    ctx.store.put_resource(KIND, body["id"], body, expected_revision=revision)
    return _maybe_wait(ctx, body["id"], job, wait=wait, timeout=timeout, on_poll=on_poll)


def describe_transform(ctx: WorkspaceContext, transform_or_job_id: str) -> BatchTransform:
    """The transform and its progress (chunks and rows done, from its manifest).

    Raises:
        NotFound: No such transform or job.
    """
    body, _ = _record(ctx, transform_or_job_id)
    executor = _executor(ctx)
    job = executor.describe(body["job_ids"][-1]) if body["job_ids"] else None
    done = read_manifest(work_dir(ctx, body["id"]))
    outputs = dict(job.outputs) if job is not None else {}
    total = body["input"].get("total_rows")
    if total is None and outputs.get("rows_in") is not None:
        total = outputs["rows_in"]
    return BatchTransform(
        id=body["id"],
        status=job.status.value if job is not None else JobStatus.PENDING.value,
        model_package=body["model_package"],
        input=body["input"]["ref"],
        output_name=body["output_name"],
        output_dataset=outputs.get("output_dataset"),
        job_ids=tuple(body["job_ids"]),
        chunk_rows=int(body["chunk_rows"]),
        workers=int(body["workers"]),
        runtime=body["runtime"],
        on_error=body["on_error"],
        id_column=body.get("id_column"),
        keep_columns=tuple(body.get("keep_columns") or ()),
        chunks_done=len(done),
        rows_done=sum(c.rows_in for c in done.values()),
        total_rows=total,
        skipped_rows=sum(c.skipped for c in done.values()),
        failure_reason=job.failure_reason if job is not None else None,
        outputs=outputs,
        created_at=body["created_at"],
    )


def list_transforms(ctx: WorkspaceContext) -> list[BatchTransform]:
    """All transforms, newest first."""
    found = [describe_transform(ctx, r.name) for r in ctx.store.list_resources(KIND)]
    return sorted(found, key=lambda t: t.created_at, reverse=True)


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "KIND",
    "ON_ERROR",
    "RUNTIMES",
    "BatchTransform",
    "describe_transform",
    "list_transforms",
    "resume_transform",
    "transform",
]
