"""Alarm actions: log, webhook, start a retraining job, start a pipeline.

Each action of a state change fires at most once, whichever evaluator sees the change
first: before running action ``i`` of transition ``t`` an evaluator takes the store claim
``alarm-action:<alarm id>:<t>:<i>``, which exactly one caller ever gets. The list of
actions is the one stored with the transition, so editing an alarm later does not fire
new actions for an old state change. Every attempt is written to the alarm's history as
an ``Action`` entry with its outcome.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from siklus.jobs import JobSpec, LocalExecutor
from siklus.store import WorkspaceContext

if TYPE_CHECKING:
    from siklus.monitoring.alarms._api import Alarm

log = logging.getLogger("siklus.alarms")

PIPELINE_ENTRYPOINT = "siklus.pipelines.jobs:run_pipeline_job"
_WEBHOOK_TIMEOUT_S = 10.0
_MAX_BACKOFF_S = 30.0


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_key(alarm: Alarm, index: int) -> str:
    return f"alarm-action:{alarm.alarm_id}:{alarm.transition}:{index}"


def notification(alarm: Alarm) -> dict[str, Any]:
    """The JSON a webhook receives (and a pipeline or retraining job gets as trigger)."""
    d = alarm.definition
    return {
        "source": "siklus",
        "alarm_name": alarm.name,
        "alarm_description": d.description,
        "new_state": alarm.state.value,
        "old_state": alarm.state_previous,
        "reason": alarm.state_reason,
        "state_change_time": alarm.state_timestamp,
        "transition": alarm.transition,
        "trigger": {
            "namespace": d.namespace, "metric": d.metric, "dimensions": d.dimensions,
            "statistic": d.statistic, "period": d.period, "threshold": d.threshold,
            "comparison": d.comparison.value, "evaluation_periods": d.evaluation_periods,
            "datapoints_to_alarm": d.datapoints_to_alarm,
        },
    }  # fmt: skip


def post_webhook(
    url: str, payload: dict[str, Any], *, retries: int = 3, backoff: float = 0.5
) -> dict[str, Any]:
    """POST ``payload`` as JSON; retry network errors, 429 and 5xx with exponential
    backoff (``backoff``, 2x, 4x... seconds, at most 30 s apart). A 4xx other than 429 is
    not retried: the receiver refused this message and will refuse it again.

    Returns:
        ``{"status": "Succeeded"|"Failed", "attempts": n, "http_status": code|None,
        "error": str|None}``.
    """
    import httpx

    error: str | None = None
    code: int | None = None
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        try:
            response = httpx.post(url, json=payload, timeout=_WEBHOOK_TIMEOUT_S)
            code = response.status_code
            if response.is_success:
                return {"status": "Succeeded", "attempts": attempts, "http_status": code,
                        "error": None}  # fmt: skip
            error = f"HTTP {code}: {response.text[:200]}"
            if code != 429 and code < 500:
                break
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if attempt < retries:
            time.sleep(min(backoff * 2**attempt, _MAX_BACKOFF_S))
    return {"status": "Failed", "attempts": attempts, "http_status": code, "error": error}


def _submit(ctx: WorkspaceContext, spec: JobSpec) -> dict[str, Any]:
    """Start the job and return at once: the action is "Submitted"; how the job ends is
    the job's own record (``siklus jobs describe JOB_ID``), not the alarm's."""
    job = LocalExecutor(ctx).submit(spec)
    status = "Failed" if job.status.value == "Failed" else "Submitted"
    return {"status": status, "job_id": job.id, "error": job.failure_reason}


def run_action(ctx: WorkspaceContext, alarm: Alarm, action: dict[str, Any]) -> dict[str, Any]:
    """Run one action for the alarm's current transition; never raises (the outcome is
    returned, and recorded by the caller)."""
    kind = action["type"]
    try:
        if kind == "log":
            log.warning(
                "ALARM ACTION %s is %s (was %s): %s",
                alarm.name, alarm.state.value, alarm.state_previous, alarm.state_reason,
            )  # fmt: skip
            return {"status": "Succeeded"}
        if kind == "webhook":
            return post_webhook(
                action["url"], notification(alarm), retries=int(action.get("retries", 3)),
                backoff=float(action.get("backoff_seconds", 0.5)),
            )  # fmt: skip
        tags = {"alarm": alarm.name, "alarm_transition": str(alarm.transition)}
        if kind == "retrain":
            from siklus.monitoring.retrain import retraining_spec

            spec = retraining_spec(action["group"], trigger=notification(alarm), tags=tags)
            return _submit(ctx, spec)
        if kind == "pipeline":
            spec = JobSpec(
                kind="pipeline", entrypoint=PIPELINE_ENTRYPOINT,
                name=f"pipeline-{action['pipeline']}-alarm-{alarm.name}"[:200],
                parameters={"pipeline": action["pipeline"],
                            "parameters": dict(action.get("parameters") or {})},
                resources={"cpus": 0}, tags=tags,
            )  # fmt: skip
            return _submit(ctx, spec)
        return {"status": "Failed", "error": f"unknown action type {kind!r}"}
    except Exception as exc:  # an action failure is recorded, not raised
        log.exception("alarm %s: action %s failed", alarm.name, kind)
        return {"status": "Failed", "error": f"{type(exc).__name__}: {exc}"}


def fire_pending_actions(
    ctx: WorkspaceContext, alarm: Alarm, *, owner: str | None = None
) -> list[dict[str, Any]]:
    """Fire the actions of the alarm's latest transition that nobody has claimed yet.

    Returns:
        One ``{"action": ..., **outcome}`` per action this caller fired.
    """
    if alarm.transition == 0 or not alarm.state_actions:
        return []
    owner = owner or default_owner()
    fired = []
    for index, action in enumerate(alarm.state_actions):
        if not ctx.store.claim(claim_key(alarm, index), owner):
            continue
        outcome = run_action(ctx, alarm, action)
        entry = {"action": action, **outcome}
        ctx.store.append_event(
            "alarm", alarm.name,
            {"type": "Action", "transition": alarm.transition, "state": alarm.state.value,
             "owner": owner, "timestamp": time.time(), **entry},
        )  # fmt: skip
        fired.append(entry)
    return fired
