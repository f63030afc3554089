"""Monitoring schedules: what to check, over which data, how often; each execution a job.

A schedule is the resource ``("monitoring-schedule", name)``. Its body is read by the
monitoring execution job (``siklus.monitoring.jobs:monitoring_execution_job`` unless the
schedule names its own entrypoint, as a bring-your-own-container monitor would):
``baseline``, ``endpoint`` or ``dataset`` (``name[@version]``), ``kinds``, ``label``, plus
the cadence (``cron`` or ``interval_seconds``), ``enabled`` and the record of the last
scheduled run. Executions are listed as events of the same kind and name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from siklus.exceptions import AlreadyExists, InvalidParameter, InvalidState
from siklus.jobs import JobSpec, LocalExecutor, parse_entrypoint
from siklus.monitoring.scheduler._slots import (
    check_cadence,
    iso,
    latest_slot,
    next_slot,
    previous_slot,
)
from siklus.store import Job, Resource, ResourceEvent, WorkspaceContext

KIND = "monitoring-schedule"
ENTRYPOINT = "siklus.monitoring.jobs:monitoring_execution_job"
#: Where the monitoring checks keep baselines (read by name, not imported: the checks
#: sit beside the scheduler, not under it).
BASELINE_KIND = "monitoring-baseline"
DEFAULT_KINDS = ("data_quality", "data_drift", "model_quality")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Body keys siklus owns; ``extra`` may not override them.
_OWN_KEYS = frozenset({
    "baseline", "endpoint", "dataset", "kinds", "label", "cron", "interval_seconds", "enabled",
    "created_at", "created_ts", "entrypoint", "resources", "last_slot", "last_job_id",
    "last_run_at",
})  # fmt: skip
_CAS_ATTEMPTS = 10


@dataclass(frozen=True)
class Schedule:
    """A monitoring schedule as stored (``body`` is the whole document)."""

    name: str
    body: dict[str, Any]
    revision: int

    @classmethod
    def from_resource(cls, resource: Resource) -> Schedule:
        return cls(name=resource.name, body=dict(resource.body), revision=resource.revision)

    @property
    def cron(self) -> str | None:
        return self.body.get("cron")

    @property
    def interval(self) -> int | None:
        return self.body.get("interval_seconds")

    @property
    def enabled(self) -> bool:
        return bool(self.body.get("enabled", True))

    @property
    def cadence(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.interval} s"

    def next_run(self, now: float | None = None) -> float | None:
        """The next slot that will run (None when disabled)."""
        if not self.enabled:
            return None
        now = time.time() if now is None else now
        return next_slot(self.cron, self.interval, max(now, self.body["created_ts"]))

    def to_dict(self) -> dict[str, Any]:
        source = self.body.get("endpoint") and f"endpoint {self.body['endpoint']}"
        return {
            "name": self.name,
            "cadence": self.cadence,
            "source": source or f"dataset {self.body.get('dataset')}",
            "next_run": iso(self.next_run()),
            "last_run": iso(self.body.get("last_slot")),
            **self.body,
        }


def _check_kinds(kinds: Sequence[str]) -> list[str]:
    kinds = list(kinds)
    if not kinds or not all(isinstance(k, str) and _KIND_NAME.match(k) for k in kinds):
        raise InvalidParameter(
            f"kinds {kinds!r} is not valid: give one or more check names such as "
            "data_quality, data_drift, model_quality."
        )
    return kinds


def _check_source(ctx: WorkspaceContext, endpoint: str | None, dataset: str | None) -> None:
    if (endpoint is None) == (dataset is None):
        raise InvalidParameter(
            "Give exactly one data source: endpoint=NAME (its captured requests) or "
            "dataset=NAME[@VERSION] (a batch dataset)."
        )
    if endpoint is not None:
        ctx.store.get_endpoint(endpoint)  # NotFound names the known endpoints
        return
    assert dataset is not None
    # NAME@VERSION is the documented form; NAME:VERSION (the dataset reference) works too.
    name, _, version = dataset.replace(":", "@", 1).partition("@")
    if not _NAME.match(name) or (version and not version.isdigit()):
        raise InvalidParameter(
            f"Dataset {dataset!r} is not valid: expected NAME or NAME@VERSION, e.g. bc@2."
        )
    ctx.store.get_dataset_version(name, int(version) if version else None)


def create_schedule(
    ctx: WorkspaceContext,
    name: str,
    *,
    baseline: str,
    endpoint: str | None = None,
    dataset: str | None = None,
    cron: str | None = None,
    interval_seconds: int | None = None,
    kinds: Sequence[str] = DEFAULT_KINDS,
    label: str | None = None,
    enabled: bool = True,
    entrypoint: str = ENTRYPOINT,
    resources: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Schedule:
    """Create a monitoring schedule; the first execution is the first slot after now.

    Example:
        >>> create_schedule(ctx, "bc-hourly", baseline="bc-baseline", endpoint="bc",
        ...                 cron="0 * * * *")  # doctest: +SKIP

    Args:
        name: The schedule's name.
        baseline: The baseline the checks compare with.
        endpoint: Monitor this endpoint's captured requests, or
        dataset: this batch dataset (``name`` = newest version, ``name@3``).
        cron: A 5-field cron expression in UTC, or
        interval_seconds: a fixed interval (slots at multiples of it since the epoch).
        kinds: The checks to run (``data_quality``, ``data_drift``, ``model_quality``).
        label: The ground-truth column for ``model_quality`` when the baseline does not
            name it.
        enabled: A disabled schedule keeps its definition but never runs on its own.
        entrypoint: The job that runs one execution (``"package.module:function"``).
        resources: The execution job's resources (default one CPU).
        extra: More body fields for the execution job (check settings).

    Raises:
        InvalidParameter: A bad name, cadence, source or kinds.
        NotFound: The endpoint or dataset does not exist.
        AlreadyExists: A schedule of that name exists.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"Schedule name {name!r} is not valid: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if not isinstance(baseline, str) or not baseline.strip():
        raise InvalidParameter(
            "A monitoring schedule needs baseline=NAME (see `siklus monitor baseline`)."
        )
    check_cadence(cron, interval_seconds)
    _check_source(ctx, endpoint, dataset)
    kinds = _check_kinds(kinds)
    parse_entrypoint(entrypoint)
    if entrypoint == ENTRYPOINT:
        ctx.store.get_resource(BASELINE_KIND, baseline)  # NotFound names the known ones
    JobSpec(kind="monitoring", entrypoint=entrypoint, resources=dict(resources or {}))
    clash = sorted(_OWN_KEYS & set(extra or {}))
    if clash:
        raise InvalidParameter(f"extra may not set {clash}: pass them as arguments.")
    now = time.time()
    body = {
        **dict(extra or {}),
        "baseline": baseline, "endpoint": endpoint, "dataset": dataset, "kinds": kinds,
        "label": label, "enabled": bool(enabled), "created_at": iso(now), "created_ts": now,
        "entrypoint": entrypoint, "resources": dict(resources or {"cpus": 1}),
        "last_slot": None, "last_job_id": None, "last_run_at": None,
    }  # fmt: skip
    body["cron" if cron is not None else "interval_seconds"] = (
        cron if cron is not None else interval_seconds
    )
    try:
        resource = ctx.store.put_resource(KIND, name, body, expected_revision=0)
    except AlreadyExists:
        raise AlreadyExists(
            f"Monitoring schedule {name!r} already exists; delete it first or pick another name."
        ) from None
    ctx.store.append_event(KIND, name, {"type": "Created", "timestamp": now})
    ctx.store.add_lineage(("monitoring-baseline", baseline), (KIND, name), "baseline")
    if endpoint is not None:
        ctx.store.add_lineage(("endpoint", endpoint), (KIND, name), "monitored-by")
    return Schedule.from_resource(resource)


def get_schedule(ctx: WorkspaceContext, name: str) -> Schedule:
    """Raises: NotFound."""
    return Schedule.from_resource(ctx.store.get_resource(KIND, name))


def list_schedules(ctx: WorkspaceContext) -> list[Schedule]:
    return [Schedule.from_resource(r) for r in ctx.store.list_resources(KIND)]


def delete_schedule(ctx: WorkspaceContext, name: str) -> None:
    """Delete the schedule (running executions finish; the history stays)."""
    ctx.store.delete_resource(KIND, name)
    ctx.store.append_event(KIND, name, {"type": "Deleted", "timestamp": time.time()})


def set_enabled(ctx: WorkspaceContext, name: str, enabled: bool) -> Schedule:
    """Pause or resume a schedule. Raises: NotFound."""
    for _ in range(_CAS_ATTEMPTS):
        current = ctx.store.get_resource(KIND, name)
        body = {**current.body, "enabled": bool(enabled)}
        try:
            written = ctx.store.put_resource(KIND, name, body, expected_revision=current.revision)
        except InvalidState:
            continue
        return Schedule.from_resource(written)
    raise InvalidState(f"Schedule {name!r} kept changing; try again.")


def executions(
    ctx: WorkspaceContext, name: str, *, limit: int | None = None
) -> list[ResourceEvent]:
    """The schedule's executions (scheduled and on demand), oldest first."""
    events = [e for e in ctx.store.list_events(KIND, name) if e.body.get("type") == "Execution"]
    return events[-limit:] if limit else events


def submit_execution(
    ctx: WorkspaceContext,
    schedule: Schedule,
    *,
    window_start: float | None,
    window_end: float | None,
    trigger: str,
    slot: float | None = None,
    missed_slots: int = 0,
    owner: str | None = None,
) -> Job:
    """Submit one execution job and record it (an ``Execution`` event)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(slot or time.time()))
    spec = JobSpec(
        kind="monitoring", entrypoint=schedule.body.get("entrypoint") or ENTRYPOINT,
        name=f"monitor-{schedule.name}-{stamp}"[:200],
        parameters={"schedule": schedule.name, "window_start": window_start,
                    "window_end": window_end},
        resources=dict(schedule.body.get("resources") or {"cpus": 1}),
        tags={"monitoring_schedule": schedule.name, "trigger": trigger},
    )  # fmt: skip
    job = LocalExecutor(ctx).submit(spec)
    ctx.store.append_event(
        KIND, schedule.name,
        {"type": "Execution", "trigger": trigger, "job_id": job.id, "slot": slot,
         "slot_iso": iso(slot), "window_start": window_start, "window_end": window_end,
         "missed_slots": missed_slots, "owner": owner, "timestamp": time.time()},
    )  # fmt: skip
    return job


def run_now(
    ctx: WorkspaceContext,
    name: str,
    *,
    window_start: float | None = None,
    window_end: float | None = None,
) -> Job:
    """Run one execution now, outside the cadence (also when the schedule is disabled).

    The default window is the last schedule period up to now.

    Raises:
        NotFound: No such schedule.
        InvalidParameter: ``window_start`` is not before ``window_end``.
    """
    schedule = get_schedule(ctx, name)
    now = time.time()
    if window_end is None:
        window_end = now
    if window_start is None:
        latest = latest_slot(schedule.cron, schedule.interval, window_end)
        window_start = window_end - (
            latest - previous_slot(schedule.cron, schedule.interval, latest)
        )
    if window_start >= window_end:
        raise InvalidParameter(
            f"window_start ({iso(window_start)}) must be before window_end ({iso(window_end)})."
        )
    return submit_execution(
        ctx, schedule, window_start=window_start, window_end=window_end, trigger="on-demand"
    )
