"""Triggers: start executions on a cron schedule or when a dataset gets a new version.

Both are resources, ``("pipeline-trigger", name)``, evaluated by :func:`run_due_triggers`,
which a scheduler loop (or cron, or a test) calls now and then. Each firing is claimed
with ``store.claim`` first, so two schedulers running at once start it at most once.
Alarm actions need no trigger record: they submit the job
``siklus.pipelines.jobs:run_pipeline_job`` directly.

A schedule fires once for the most recent slot that is due; slots missed while nothing
called :func:`run_due_triggers` are not replayed one by one (a retraining pipeline run
ten times in a row after a weekend off helps nobody).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from siklus.exceptions import InvalidParameter, NotFound
from siklus.pipelines._api import create_execution, submit_execution
from siklus.pipelines._model import check_name
from siklus.pipelines._records import get_pipeline, now_iso
from siklus.pipelines._validate import resolve_parameters
from siklus.store import WorkspaceContext

TRIGGER = "pipeline-trigger"

Starter = Callable[[WorkspaceContext, str], dict[str, Any]]


def _save(ctx: WorkspaceContext, name: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        check_name("trigger", name)
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None
    pipeline, _ = get_pipeline(ctx, body["pipeline"])  # NotFound for a typo
    resolve_parameters(pipeline, body.get("parameters"))  # wrong types fail now
    ctx.store.put_resource(TRIGGER, name, body)
    return body


def create_schedule(
    ctx: WorkspaceContext,
    name: str,
    pipeline: str,
    cron: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run ``pipeline`` at every time ``cron`` matches (UTC), from now on.

    Example:
        >>> create_schedule(ctx, "nightly", "retrain", "0 2 * * *")  # doctest: +SKIP

    Raises:
        InvalidParameter: ``cron`` is not a valid 5-field expression, or bad parameters.
        NotFound: No pipeline of that name.
    """
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise InvalidParameter(
            f"{cron!r} is not a cron expression; use 5 fields 'minute hour day month "
            "weekday', e.g. '0 2 * * *' for 02:00 UTC every day."
        )
    start = (now or datetime.now(UTC)).isoformat()
    body = {
        "type": "schedule", "pipeline": pipeline, "cron": cron,
        "parameters": dict(parameters or {}), "enabled": True, "checked_at": start,
        "executions": [],
    }  # fmt: skip
    return _save(ctx, name, body)


def create_dataset_trigger(
    ctx: WorkspaceContext,
    name: str,
    pipeline: str,
    dataset: str,
    *,
    parameter: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``pipeline`` for every new version of ``dataset`` (versions after this call).

    Args:
        parameter: A string parameter that receives the new version's ref
            (``name:version``), so the pipeline reads exactly that version.

    Raises:
        NotFound: No pipeline of that name.
        InvalidParameter: ``parameter`` is not a string parameter of the pipeline.
    """
    definition, _ = get_pipeline(ctx, pipeline)
    if parameter is not None and (
        parameter not in definition.parameters or definition.parameters[parameter].type != "string"
    ):
        raise InvalidParameter(
            f"Pipeline {pipeline!r} has no string parameter {parameter!r} to receive the "
            f"dataset version; its parameters: {sorted(definition.parameters)}."
        )
    versions = ctx.store.list_dataset_versions(dataset)
    body = {
        "type": "dataset", "pipeline": pipeline, "dataset": dataset, "parameter": parameter,
        "parameters": dict(parameters or {}), "enabled": True,
        "last_version": max((v.version for v in versions), default=0), "executions": [],
    }  # fmt: skip
    return _save(ctx, name, body)


def list_triggers(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    return [{"name": r.name, **r.body} for r in ctx.store.list_resources(TRIGGER)]


def delete_trigger(ctx: WorkspaceContext, name: str) -> None:
    ctx.store.delete_resource(TRIGGER, name)


def _background(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    return submit_execution(ctx, execution_id)


def run_due_triggers(
    ctx: WorkspaceContext, *, now: datetime | None = None, start: Starter | None = None
) -> list[dict[str, Any]]:
    """Start the executions that schedules and dataset triggers owe now.

    Args:
        now: The current time (tests pass one).
        start: Runs a created execution; default: in a background job.

    Returns:
        One record per execution started: ``trigger``, ``execution_id``, ``reason``.
    """
    moment = now or datetime.now(UTC)
    start = start or _background
    started: list[dict[str, Any]] = []
    for resource in ctx.store.list_resources(TRIGGER):
        body = dict(resource.body)
        if not body.get("enabled", True):
            continue
        if body["type"] == "schedule":
            fired = _due_schedule(ctx, resource.name, body, moment, start)
        else:
            fired = _due_dataset(ctx, resource.name, body, start)
        started += fired
    return started


def _record(ctx: WorkspaceContext, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    for _ in range(20):
        resource = ctx.store.get_resource(TRIGGER, name)
        body = dict(resource.body)
        change(body)
        try:
            ctx.store.put_resource(TRIGGER, name, body, expected_revision=resource.revision)
            return
        except Exception:  # someone else updated it; re-read
            continue


def _fire(
    ctx: WorkspaceContext, name: str, body: dict[str, Any], key: str, parameters: dict[str, Any],
    trigger: dict[str, Any], start: Starter,
) -> list[dict[str, Any]]:  # fmt: skip
    if not ctx.store.claim(key, owner=f"run_due_triggers@{now_iso()}"):
        return []  # another scheduler took this slot
    try:
        execution = create_execution(ctx, body["pipeline"], parameters, trigger=trigger)
    except NotFound:
        return []  # the pipeline was deleted; the trigger stays for the user to remove
    result = start(ctx, execution["id"])

    def note(b: dict[str, Any]) -> None:
        b["executions"] = [*b.get("executions", [])[-19:], execution["id"]]

    _record(ctx, name, note)
    return [{"trigger": name, "execution_id": result["id"], "reason": trigger}]


def _due_schedule(
    ctx: WorkspaceContext, name: str, body: dict[str, Any], moment: datetime, start: Starter
) -> list[dict[str, Any]]:
    checked = datetime.fromisoformat(body["checked_at"])
    slot = None
    it = croniter(body["cron"], checked)
    while True:
        candidate = it.get_next(datetime)
        if candidate > moment:
            break
        slot = candidate
    if slot is None:
        return []

    def advance(b: dict[str, Any]) -> None:
        b["checked_at"] = moment.isoformat()

    _record(ctx, name, advance)
    key = f"pipeline-trigger:{name}:{slot.isoformat()}"
    trigger = {"type": "schedule", "trigger": name, "slot": slot.isoformat()}
    return _fire(ctx, name, body, key, dict(body["parameters"]), trigger, start)


def _due_dataset(
    ctx: WorkspaceContext, name: str, body: dict[str, Any], start: Starter
) -> list[dict[str, Any]]:
    fired: list[dict[str, Any]] = []
    versions = sorted(
        (v for v in ctx.store.list_dataset_versions(body["dataset"])
         if v.version > body["last_version"]),
        key=lambda v: v.version,
    )  # fmt: skip
    for version in versions:
        parameters = dict(body["parameters"])
        if body.get("parameter"):
            parameters[body["parameter"]] = version.ref
        key = f"pipeline-trigger:{name}:{version.id}"
        trigger = {"type": "dataset", "trigger": name, "dataset_version": version.ref}
        fired += _fire(ctx, name, body, key, parameters, trigger, start)

        def advance(b: dict[str, Any], seen: int = version.version) -> None:
            b["last_version"] = max(int(b["last_version"]), seen)

        _record(ctx, name, advance)
    return fired


__all__ = [
    "TRIGGER",
    "create_dataset_trigger",
    "create_schedule",
    "delete_trigger",
    "list_triggers",
    "run_due_triggers",
]
