"""Job entrypoints of monitoring, and the API that runs them as jobs.

The scheduler (``siklus.monitoring.scheduler``) and pipelines start executions by
entrypoint name, so these names are a public contract:

* ``siklus.monitoring.jobs:monitoring_execution_job`` with parameters
  ``{"schedule": NAME, "window_start": epoch_s | None, "window_end": epoch_s | None}``
  reads the ``("monitoring-schedule", NAME)`` resource (``baseline``, ``endpoint`` or
  ``dataset``, ``kinds``) and runs :func:`~siklus.monitoring.run_monitoring` over that
  window. Without ``schedule`` it takes ``baseline``/``endpoint``/``dataset``/``kinds``
  from the parameters themselves (an on-demand run).
* ``siklus.monitoring.jobs:baseline_job`` builds a baseline (parameters of
  :func:`~siklus.monitoring.build_baseline`).
"""

from __future__ import annotations

from typing import Any

from siklus.exceptions import InvalidParameter, JobFailed, NotFound
from siklus.jobs import JobContext, JobSpec, LocalExecutor
from siklus.monitoring._baseline import Baseline, build_baseline, load_baseline
from siklus.monitoring._execution import (
    EXECUTION_KIND,
    KINDS,
    SCHEDULE_KIND,
    run_monitoring,
)
from siklus.store import Job, WorkspaceContext

EXECUTION_ENTRYPOINT = "siklus.monitoring.jobs:monitoring_execution_job"
BASELINE_ENTRYPOINT = "siklus.monitoring.jobs:baseline_job"

_BASELINE_OPTIONS = (
    "label",
    "model",
    "evaluation_dataset",
    "exclude",
    "sketch_size",
    "bins",
    "model_quality_tolerance",
)


def _threads(job: JobContext) -> int | None:
    return job.allocation.cpus if getattr(job.allocation, "cpus", None) else None


def baseline_job(job: JobContext) -> dict[str, Any]:
    """Entrypoint: build the baseline described by the job's parameters."""
    p = dict(job.parameters)
    options = {k: p[k] for k in _BASELINE_OPTIONS if p.get(k) is not None}
    job.log.info("building baseline %s from %s", p["name"], p["dataset"])
    baseline = build_baseline(
        job.workspace, p["dataset"], p["name"], threads=_threads(job), **options
    )
    job.log.info(
        "baseline %s: %d features, model quality %s",
        baseline.name,
        len(baseline.features),
        "yes" if baseline.model_quality else "no",
    )
    return {
        "baseline": baseline.name,
        "revision": baseline.revision,
        "statistics_sha256": baseline.body["statistics_sha256"],
        "constraints_sha256": baseline.body["constraints_sha256"],
        "features": len(baseline.features),
    }


def _window_value(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be epoch seconds or null, got {value!r}.") from None


def execution_request(ctx: WorkspaceContext, parameters: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`run_monitoring` for the job parameters (see module doc)."""
    window = (
        _window_value(parameters.get("window_start"), "window_start"),
        _window_value(parameters.get("window_end"), "window_end"),
    )
    schedule = parameters.get("schedule")
    if schedule:
        try:
            body = ctx.store.get_resource(SCHEDULE_KIND, schedule).body
        except NotFound:
            raise NotFound(f"Monitoring schedule {schedule!r} does not exist.") from None
        source = body
    else:
        source = parameters
    if not source.get("baseline"):
        where = f"schedule {schedule!r}" if schedule else "the job parameters"
        raise InvalidParameter(f"{where} name(s) no baseline.")
    return {
        "baseline": source["baseline"],
        "endpoint": source.get("endpoint"),
        "dataset": source.get("dataset"),
        "kinds": source.get("kinds") or list(KINDS),
        "window": window,
        "schedule": schedule or None,
    }


def monitoring_execution_job(job: JobContext) -> dict[str, Any]:
    """Entrypoint: one monitoring execution (scheduled or on demand)."""
    request = execution_request(job.workspace, dict(job.parameters))
    result = run_monitoring(
        job.workspace, threads=_threads(job), on_progress=job.log.info, **request
    )
    for v in result.violations:
        job.log.info(
            "violation %s %s: %s",
            v.get("feature_name") or v.get("metric_name"),
            v["constraint_check_type"],
            v["description"],
        )
    for c in result.corrupt_records:
        job.log.warning(
            "skipped corrupt captured line %s:%s: %s", c["file"], c["line"], c["reason"]
        )
    return {
        "execution_id": result.execution_id,
        "violations_count": len(result.violations),
        "drifted_features": result.drifted_features,
        "corrupt_records": len(result.corrupt_records),
        "item_count": result.item_count,
        "paths": result.paths,
        "artifacts": result.artifacts,
    }


def execution_spec(
    *,
    schedule: str | None = None,
    window_start: float | None = None,
    window_end: float | None = None,
    baseline: str | None = None,
    endpoint: str | None = None,
    dataset: str | None = None,
    kinds: list[str] | None = None,
) -> JobSpec:
    """The :class:`JobSpec` of one execution (scheduled when ``schedule`` is given)."""
    parameters: dict[str, Any] = {
        "schedule": schedule,
        "window_start": window_start,
        "window_end": window_end,
    }
    if not schedule:
        parameters.update(baseline=baseline, endpoint=endpoint, dataset=dataset, kinds=kinds)
    return JobSpec(
        kind="monitoring",
        entrypoint=EXECUTION_ENTRYPOINT,
        name=f"monitoring-{schedule or baseline}",
        parameters=parameters,
    )


def _finish(job: Job) -> Job:
    if job.status.value != "Completed":
        raise JobFailed(
            f"Monitoring job {job.id} ended {job.status.value}: {job.failure_reason}. "
            f"Log: {job.log_path}"
        )
    return job


def create_baseline(
    ctx: WorkspaceContext,
    dataset: str,
    name: str,
    *,
    executor: Any = None,
    timeout: float | None = None,
    on_poll: Any = None,
    **options: Any,
) -> tuple[Job, Baseline]:
    """Build baseline ``name`` from ``dataset`` in a job and wait for it.

    Takes the options of :func:`~siklus.monitoring.build_baseline` (``label``, ``model``,
    ``exclude``, …).

    Raises:
        JobFailed: the job failed (the message points at its log).
    """
    unknown = sorted(set(options) - set(_BASELINE_OPTIONS))
    if unknown:
        raise InvalidParameter(f"Unknown baseline option(s) {unknown}; use {_BASELINE_OPTIONS}.")
    spec = JobSpec(
        kind="monitoring-baseline",
        entrypoint=BASELINE_ENTRYPOINT,
        name=f"baseline-{name}",
        parameters={"dataset": dataset, "name": name, **options},
    )
    job = _finish((executor or LocalExecutor(ctx)).run(spec, timeout=timeout, on_poll=on_poll))
    return job, load_baseline(ctx, name)


def start_monitoring_job(
    ctx: WorkspaceContext,
    *,
    executor: Any = None,
    timeout: float | None = None,
    on_poll: Any = None,
    **request: Any,
) -> tuple[Job, dict[str, Any]]:
    """Run one execution as a job (keywords of :func:`execution_spec`) and wait for it.

    Returns:
        The job and the stored execution record (``monitoring-execution`` resource body).
    """
    spec = execution_spec(**request)
    job = _finish((executor or LocalExecutor(ctx)).run(spec, timeout=timeout, on_poll=on_poll))
    record = ctx.store.get_resource(EXECUTION_KIND, job.outputs["execution_id"]).body
    return job, dict(record)


__all__ = [
    "BASELINE_ENTRYPOINT",
    "EXECUTION_ENTRYPOINT",
    "baseline_job",
    "create_baseline",
    "execution_request",
    "execution_spec",
    "monitoring_execution_job",
    "start_monitoring_job",
]
