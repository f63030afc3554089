"""The scheduler: each tick runs the due schedule executions and evaluates every alarm.

Two rules make it safe to run after downtime and to run twice:

- **A missed schedule runs once.** Only the newest due slot runs; the slots missed while
  no scheduler was up are counted (``missed_slots`` in the execution record) but not run.
- **Two schedulers never run the same execution.** Before submitting slot ``s`` of
  schedule ``n`` a scheduler takes the store claim ``schedule:<n>:<s ISO>``; exactly one
  caller ever gets it, across processes and machines sharing the store.

Alarm actions have the same guarantee through their own claims (see
:mod:`siklus.monitoring.alarms`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidState, NotFound
from siklus.monitoring.alarms import EvaluationResult, evaluate_alarms
from siklus.monitoring.scheduler._schedules import (
    KIND,
    Schedule,
    list_schedules,
    submit_execution,
)
from siklus.monitoring.scheduler._slots import iso, latest_slot, previous_slot, slots_between
from siklus.store import WorkspaceContext

log = logging.getLogger("siklus.scheduler")
_CAS_ATTEMPTS = 10


def scheduler_owner() -> str:
    """A name for this scheduler process in claims: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Execution:
    """One execution a tick submitted."""

    schedule: str
    slot: float
    job_id: str
    missed_slots: int

    def to_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "slot": iso(self.slot), "job_id": self.job_id,
                "missed_slots": self.missed_slots}  # fmt: skip


@dataclass(frozen=True)
class TickResult:
    executions: list[Execution] = field(default_factory=list)
    alarms: list[EvaluationResult] = field(default_factory=list)


def due_slot(schedule: Schedule, now: float) -> float | None:
    """The slot this schedule should run at ``now``, or None.

    That is the newest slot at or before ``now`` if it is after both the schedule's
    creation and its last scheduled run; older missed slots are skipped.
    """
    if not schedule.enabled:
        return None
    slot = latest_slot(schedule.cron, schedule.interval, now)
    if slot < schedule.body["created_ts"]:
        return None
    last = schedule.body.get("last_slot")
    if last is not None and slot <= last:
        return None
    return slot


def _record_run(ctx: WorkspaceContext, name: str, slot: float, job_id: str) -> None:
    """Move the schedule's ``last_slot`` forward (never back) by compare-and-set."""
    for _ in range(_CAS_ATTEMPTS):
        try:
            current = ctx.store.get_resource(KIND, name)
        except NotFound:
            return  # deleted meanwhile: nothing to record on
        last = current.body.get("last_slot")
        if last is not None and last >= slot:
            return
        body = {**current.body, "last_slot": slot, "last_job_id": job_id,
                "last_run_at": iso(time.time())}  # fmt: skip
        try:
            ctx.store.put_resource(KIND, name, body, expected_revision=current.revision)
            return
        except InvalidState:
            continue
    log.warning("could not record the run of %s at %s: the schedule kept changing", name, slot)


def run_due_schedules(
    ctx: WorkspaceContext, *, now: float | None = None, owner: str | None = None
) -> list[Execution]:
    """Submit the due execution of every schedule (at most one each); see the module."""
    now = time.time() if now is None else now
    owner = owner or scheduler_owner()
    submitted = []
    for schedule in list_schedules(ctx):
        slot = due_slot(schedule, now)
        if slot is None:
            continue
        slot_iso = iso(slot)
        if not ctx.store.claim(f"schedule:{schedule.name}:{slot_iso}", owner):
            continue  # another scheduler runs this slot
        last = schedule.body.get("last_slot")
        since = last if last is not None else schedule.body["created_ts"]
        missed = slots_between(schedule.cron, schedule.interval, since, slot)
        try:
            job = submit_execution(
                ctx, schedule, slot=slot, trigger="schedule", missed_slots=missed, owner=owner,
                window_start=previous_slot(schedule.cron, schedule.interval, slot),
                window_end=slot,
            )  # fmt: skip
        except Exception:  # one broken schedule must not stop the others
            log.exception("submitting %s at %s failed", schedule.name, slot_iso)
            continue
        _record_run(ctx, schedule.name, slot, job.id)
        log.info(
            "schedule %s: slot %s -> job %s%s", schedule.name, slot_iso, job.id,
            f" ({missed} missed slot(s) skipped)" if missed else "",
        )  # fmt: skip
        submitted.append(Execution(schedule.name, slot, job.id, missed))
    return submitted


def tick(
    ctx: WorkspaceContext, *, now: float | None = None, owner: str | None = None
) -> TickResult:
    """One scheduler tick: due schedule executions, then every alarm."""
    now = time.time() if now is None else now
    owner = owner or scheduler_owner()
    executions = run_due_schedules(ctx, now=now, owner=owner)
    alarms = evaluate_alarms(ctx, now=now, owner=owner)
    return TickResult(executions=executions, alarms=alarms)


def run_scheduler(
    ctx: WorkspaceContext,
    *,
    interval: float = 30.0,
    once: bool = False,
    stop: threading.Event | None = None,
    on_tick: Callable[[TickResult], None] | None = None,
) -> int:
    """Tick every ``interval`` seconds until ``stop`` is set (or once); returns the ticks.

    A failing tick (the database briefly unreachable) is logged and the loop goes on.
    Stopping between ticks is immediate; a tick in progress finishes first, so nothing
    is left half-recorded.
    """
    if interval <= 0:
        from siklus.exceptions import InvalidParameter

        raise InvalidParameter(f"The scheduler interval must be > 0 seconds, got {interval}.")
    stop = stop or threading.Event()
    owner = scheduler_owner()
    ticks = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = tick(ctx, owner=owner)
        except Exception:  # keep scheduling through a transient failure
            log.exception("scheduler tick failed")
            result = TickResult()
        ticks += 1
        if on_tick is not None:
            on_tick(result)
        if once:
            break
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    return ticks
