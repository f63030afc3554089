"""``recommend``: submit the recommendation job, follow its progress, return the choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidParameter, JobFailed, NotFound
from siklus.jobs import JobSpec, LocalExecutor
from siklus.registry import get_onnx_export, get_package
from siklus.serving.recommender._candidates import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_WORKERS,
    RUNTIMES,
    candidate_grid,
)
from siklus.serving.recommender._costs import CostModel
from siklus.serving.recommender._job import ENTRYPOINT, PROGRESS_KIND
from siklus.store import Job, WorkspaceContext

MAX_DURATION_S = 600.0


@dataclass
class Recommendation:
    """The measured candidates and the one recommended.

    Attributes:
        package: ``group:version`` tested.
        p99_ms: The latency target.
        results: One row per candidate: runtime, batch_size, workers, concurrency,
            requests, errors, requests_per_second, rows_per_second, p50_ms, p99_ms, cpus,
            memory_gb, cost_per_million (None when unmeasured), note.
        recommended: The cheapest row meeting the target, or None.
        message: Why that one, or why none.
        notes: What the grid left out and why (e.g. ONNX not convertible).
        job_id: The job that measured them.
    """

    package: str
    p99_ms: float
    results: list[dict[str, Any]]
    recommended: dict[str, Any] | None
    message: str
    notes: list[str] = field(default_factory=list)
    job_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_number(name: str, value: float, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise InvalidParameter(f"{name} must be a number in ({low:g}, {high:g}]; got {value!r}.")
    return float(value)


def recommendation_spec(
    ctx: WorkspaceContext,
    ref: str,
    *,
    p99_ms: float = 20.0,
    duration_s: float = 5.0,
    warmup_s: float = 0.5,
    runtimes: Sequence[str] = RUNTIMES,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    workers: Sequence[int] = DEFAULT_WORKERS,
    concurrency: int | None = None,
    prices: CostModel | None = None,
    data: str | None = None,
) -> tuple[JobSpec, list[str]]:
    """Validate the request and build the job spec; also return notes on left-out candidates.

    Raises:
        InvalidParameter: Bad numbers, unknown runtimes, a model without an input signature.
        NotFound: No such package (or dataset).
    """
    package = get_package(ctx, ref)
    _check_number("p99_ms", p99_ms, 0, 3_600_000)
    _check_number("duration", duration_s, 0, MAX_DURATION_S)
    if not 0 <= warmup_s <= 60:
        raise InvalidParameter(f"warm-up must be 0..60 s; got {warmup_s!r}.")
    if concurrency is not None and not 1 <= concurrency <= 256:
        raise InvalidParameter(f"concurrency must be 1..256; got {concurrency!r}.")
    manifest = ctx.store.get_model(package.model_id).manifest
    if "input_signature" not in manifest or (not data and not manifest.get("input_example")):
        raise InvalidParameter(
            f"Model package {package.ref} has no input signature/example to build requests "
            "from; pass data=DATASET (--data) with rows in the model's input columns."
        )
    if data:
        from siklus.data import resolve

        version = resolve(ctx, data)  # NotFound now rather than in the job
        have = {str(column["name"]) for column in version.schema}
        missing = [c["name"] for c in manifest["input_signature"] if c["name"] not in have]
        if missing:
            raise InvalidParameter(
                f"Dataset {version.ref} lacks the model's input column(s) {missing}; pass a "
                "dataset with the columns the model was trained on."
            )
    grid = candidate_grid(runtimes, batch_sizes, workers)
    notes: list[str] = []
    if any(c.runtime == "onnx" for c in grid):
        try:
            export = get_onnx_export(ctx, package)
        except NotFound:
            from siklus.registry import export_onnx

            export = export_onnx(ctx, package)
        if export.get("status") != "exported":
            grid = [c for c in grid if c.runtime != "onnx"]
            notes.append(f"ONNX candidates left out: {export.get('reason')}.")
    if not grid:
        raise InvalidParameter(
            "No candidate configuration is left to test; see: " + " ".join(notes)
        )
    spec = JobSpec(
        kind="recommendation",
        entrypoint=ENTRYPOINT,
        name=f"recommend-{package.group}-{package.version}",
        inputs={"package_id": package.id},
        parameters={
            "candidates": [c.to_dict() for c in grid],
            "p99_ms": float(p99_ms),
            "duration_s": float(duration_s),
            "warmup_s": float(warmup_s),
            "concurrency": concurrency,
            "prices": (prices or CostModel()).to_dict(),
            "data": data,
        },
        resources={"cpus": 1},
    )
    return spec, notes


def read_progress(ctx: WorkspaceContext, job_id: str) -> dict[str, Any] | None:
    """The job's progress document (``total``, ``done``, ``current``, ``results``), if any."""
    try:
        return dict(ctx.store.get_resource(PROGRESS_KIND, job_id).body)
    except NotFound:
        return None


def recommend(
    ctx: WorkspaceContext,
    ref: str,
    *,
    on_progress: Callable[[Job, dict[str, Any] | None], None] | None = None,
    **options: Any,
) -> Recommendation:
    """Load-test candidate configurations of package ``ref``; recommend the cheapest fast one.

    Runs as a job (``kind="recommendation"``); each candidate is a real endpoint on
    127.0.0.1, created, loaded for ``duration_s`` seconds and deleted.

    Args:
        ctx: The workspace.
        ref: ``group:version`` (or ``group`` for the newest).
        on_progress: Called with the job and its progress document on every poll.
        **options: See :func:`recommendation_spec` (``p99_ms``, ``duration_s``,
            ``runtimes``, ``batch_sizes``, ``workers``, ``concurrency``, ``prices``,
            ``data``).

    Example:
        >>> rec = recommend(ctx, "breast-cancer:1", p99_ms=20, duration_s=5)  # doctest: +SKIP
        >>> rec.recommended["label"]  # doctest: +SKIP
        'onnx, batch 1, 1 worker'

    Raises:
        JobFailed: The job failed (its reason and log are quoted).
    """
    spec, notes = recommendation_spec(ctx, ref, **options)
    executor = LocalExecutor(ctx)

    def poll(job: Job) -> None:
        if on_progress is not None:
            on_progress(job, read_progress(ctx, job.id))

    job = executor.run(spec, on_poll=poll, poll_interval=0.2)
    if job.status.value != "Completed":
        raise JobFailed(
            f"Recommendation job {job.id} ended {job.status.value}: {job.failure_reason}. "
            f"Log: {job.log_path}"
        )
    out = job.outputs
    return Recommendation(
        package=out["package"],
        p99_ms=float(out["p99_ms"]),
        results=out["results"],
        recommended=out["recommended"],
        message=out["message"],
        notes=notes,
        job_id=job.id,
    )
