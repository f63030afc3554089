"""Alarms in the store: put, describe, list, delete, history, evaluate, set state.

Each alarm is the resource ``("alarm", name)``: its definition plus its state. A state
change is written by compare-and-set on the resource's revision, so when two evaluators
(two schedulers, or a scheduler and ``siklus alarms evaluate``) see the same change only
one records it; every change is appended to the alarm's history (events of kind
``"alarm"``) and its actions are fired through :mod:`._actions`, each at most once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siklus.exceptions import AlreadyExists, InvalidParameter, InvalidState, NotFound
from siklus.monitoring.alarms._actions import fire_pending_actions
from siklus.monitoring.alarms._evaluate import Evaluation, evaluate_points, evaluation_window
from siklus.monitoring.alarms._model import (
    KIND,
    AlarmDefinition,
    AlarmState,
    check_alarm_name,
)
from siklus.store import Resource, ResourceEvent, WorkspaceContext

log = logging.getLogger("siklus.alarms")
_CAS_ATTEMPTS = 5


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass(frozen=True)
class Alarm:
    """An alarm as stored: its definition and current state.

    Attributes:
        transition: How many state changes the alarm has had; with ``alarm_id`` it names
            one transition (the claim key of its actions).
        state_timestamp: When the state last changed (seconds since the epoch).
    """

    definition: AlarmDefinition
    alarm_id: str
    state: AlarmState
    state_reason: str
    state_reason_data: dict[str, Any]
    state_timestamp: float
    transition: int
    revision: int
    created_at: str
    state_previous: str | None = None
    state_actions: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.definition.name

    @classmethod
    def from_resource(cls, resource: Resource) -> Alarm:
        body = resource.body
        state = body["state"]
        return cls(
            definition=AlarmDefinition.from_body(resource.name, body["definition"]),
            alarm_id=body["alarm_id"],
            state=AlarmState(state["value"]),
            state_reason=state["reason"],
            state_reason_data=state.get("reason_data") or {},
            state_timestamp=state["timestamp"],
            transition=state["transition"],
            revision=resource.revision,
            created_at=body["created_at"],
            state_previous=state.get("previous"),
            state_actions=tuple(state.get("actions") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON view (what ``siklus alarms describe --json`` prints)."""
        return {
            "name": self.name,
            "alarm_id": self.alarm_id,
            "state": self.state.value,
            "state_reason": self.state_reason,
            "state_updated_at": _iso(self.state_timestamp),
            "condition": self.definition.describe_condition(),
            **self.definition.to_body(),
            "transition": self.transition,
            "created_at": self.created_at,
            "state_reason_data": self.state_reason_data,
        }


def put_alarm(
    ctx: WorkspaceContext,
    name: str,
    *,
    namespace: str,
    metric: str,
    threshold: float,
    comparison: str,
    period: int = 300,
    statistic: str = "Average",
    dimensions: Mapping[str, str] | None = None,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
    treat_missing_data: str = "missing",
    description: str = "",
    actions_enabled: bool = True,
    alarm_actions: Sequence[str | Mapping[str, Any]] = (),
    ok_actions: Sequence[str | Mapping[str, Any]] = (),
    insufficient_data_actions: Sequence[str | Mapping[str, Any]] = (),
) -> Alarm:
    """Create an alarm, or replace the definition of an existing one (its state is kept,
    as with CloudWatch's ``PutMetricAlarm``).

    A new alarm starts in INSUFFICIENT_DATA. Actions are ``"log"``,
    ``"webhook:URL"``, ``"retrain:GROUP"`` or ``"pipeline:NAME"`` (or their dict forms).

    Example:
        >>> put_alarm(ctx, "drift-income", namespace="siklus/monitoring",
        ...     metric="feature_psi", dimensions={"schedule": "hourly", "feature": "income"},
        ...     statistic="Maximum", period=3600, threshold=0.2,
        ...     comparison="GreaterThanThreshold", evaluation_periods=3,
        ...     datapoints_to_alarm=2, alarm_actions=["log", "retrain:churn"]
        ... )  # doctest: +SKIP

    Raises:
        InvalidParameter: A field is not valid (the message names it).
    """
    definition = AlarmDefinition(
        name=check_alarm_name(name), namespace=namespace, metric=metric, threshold=threshold,
        comparison=comparison, period=period, statistic=statistic,
        dimensions=dict(dimensions or {}), evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm, treat_missing_data=treat_missing_data,
        description=description, actions_enabled=actions_enabled,
        alarm_actions=tuple(alarm_actions), ok_actions=tuple(ok_actions),
        insufficient_data_actions=tuple(insufficient_data_actions),
    )  # fmt: skip
    for _ in range(_CAS_ATTEMPTS):
        try:
            current = ctx.store.get_resource(KIND, name)
        except NotFound:
            current = None
        if current is None:
            now = time.time()
            body = {
                "alarm_id": uuid.uuid4().hex,
                "created_at": _iso(now),
                "definition": definition.to_body(),
                "state": {
                    "value": AlarmState.INSUFFICIENT_DATA.value,
                    "reason": "Unchecked: the alarm was just created.",
                    "reason_data": {},
                    "timestamp": now,
                    "transition": 0,
                },
            }
            expected = 0
        else:
            body = {**current.body, "definition": definition.to_body()}
            expected = current.revision
        try:
            resource = ctx.store.put_resource(KIND, name, body, expected_revision=expected)
        except (InvalidState, AlreadyExists):  # written concurrently: re-read and retry
            continue
        ctx.store.append_event(
            KIND, name,
            {"type": "ConfigurationUpdate", "action": "create" if current is None else "update",
             "definition": definition.to_body(), "timestamp": time.time()},
        )  # fmt: skip
        return Alarm.from_resource(resource)
    raise InvalidState(f"Alarm {name!r} kept changing while being written; try again.")


def get_alarm(ctx: WorkspaceContext, name: str) -> Alarm:
    """Raises: NotFound (naming the known alarms)."""
    return Alarm.from_resource(ctx.store.get_resource(KIND, name))


def list_alarms(
    ctx: WorkspaceContext, *, state: str | None = None, prefix: str | None = None
) -> list[Alarm]:
    """All alarms (in ``state`` / whose name starts with ``prefix``), by name."""
    if state is not None:
        try:
            state = AlarmState(state).value
        except ValueError:
            raise InvalidParameter(
                f"Alarm state {state!r} is not valid: use OK, ALARM or INSUFFICIENT_DATA."
            ) from None
    alarms = [Alarm.from_resource(r) for r in ctx.store.list_resources(KIND, prefix=prefix)]
    return [a for a in alarms if state is None or a.state.value == state]


def delete_alarm(ctx: WorkspaceContext, name: str) -> None:
    """Delete the alarm; its history stays readable. Raises: NotFound."""
    ctx.store.delete_resource(KIND, name)
    ctx.store.append_event(KIND, name, {"type": "ConfigurationUpdate", "action": "delete",
                                        "timestamp": time.time()})  # fmt: skip


def alarm_history(
    ctx: WorkspaceContext,
    name: str,
    *,
    types: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[ResourceEvent]:
    """The alarm's history oldest first: ``ConfigurationUpdate``, ``StateUpdate`` and
    ``Action`` entries (filter with ``types``); ``limit`` keeps the newest ones.

    Raises:
        NotFound: no alarm of that name ever existed (a deleted alarm keeps its history).
    """
    events = ctx.store.list_events(KIND, name)
    if not events:
        get_alarm(ctx, name)  # NotFound names the known alarms
    if types:
        events = [e for e in events if e.body.get("type") in set(types)]
    return events[-limit:] if limit else events


def _transition(
    ctx: WorkspaceContext,
    resource: Resource,
    new_state: AlarmState,
    reason: str,
    reason_data: dict[str, Any],
    *,
    retry: bool,
) -> tuple[Alarm, bool]:
    """Move the alarm read as ``resource`` to ``new_state`` by compare-and-set.

    Returns ``(alarm, changed)``. Without ``retry`` a lost race (someone wrote the alarm
    since ``resource`` was read) gives up and returns the winner's alarm: an evaluation is
    only valid for the state it was computed against. With ``retry`` (a state set by
    hand) the write is retried on the fresh alarm.
    """
    for _ in range(_CAS_ATTEMPTS):
        alarm = Alarm.from_resource(resource)
        if alarm.state is new_state:
            return alarm, False
        now = time.time()
        state = {
            "value": new_state.value,
            "reason": reason,
            "reason_data": reason_data,
            "timestamp": now,
            "transition": alarm.transition + 1,
            "previous": alarm.state.value,
            # The actions to fire for this change, fixed now: a later edit of the alarm
            # must not fire new actions for an old change.
            "actions": list(alarm.definition.actions_for(new_state))
            if alarm.definition.actions_enabled
            else [],
        }
        try:
            written = ctx.store.put_resource(
                KIND, resource.name, {**resource.body, "state": state},
                expected_revision=resource.revision,
            )  # fmt: skip
        except InvalidState:
            resource = ctx.store.get_resource(KIND, resource.name)
            if not retry:
                return Alarm.from_resource(resource), False
            continue
        updated = Alarm.from_resource(written)
        ctx.store.append_event(
            KIND, resource.name,
            {"type": "StateUpdate", "old_state": alarm.state.value,
             "new_state": new_state.value, "reason": reason, "reason_data": reason_data,
             "timestamp": now, "transition": updated.transition},
        )  # fmt: skip
        log.warning(
            "alarm %s: %s -> %s: %s", resource.name, alarm.state.value, new_state.value, reason
        )
        return updated, True
    raise InvalidState(f"Alarm {resource.name!r} kept changing while being written; try again.")


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate_alarm` found and did."""

    alarm: Alarm
    evaluation: Evaluation
    changed: bool
    fired: list[dict[str, Any]]


def evaluate_alarm(
    ctx: WorkspaceContext, name: str, *, now: float | None = None, owner: str | None = None
) -> EvaluationResult:
    """Evaluate one alarm over its metric data at ``now`` and apply the outcome.

    A changed state is recorded (history ``StateUpdate``) and the actions of the new state
    fire, each at most once per transition across every evaluator (store claims); an
    action that an evaluator claimed but never finished is not retried.

    Args:
        now: Seconds since the epoch (default: the clock); tests pass synthetic times.
        owner: Who evaluates (claims record it); default host:pid.
    """
    now = time.time() if now is None else now
    resource = ctx.store.get_resource(KIND, name)
    alarm = Alarm.from_resource(resource)
    definition = alarm.definition
    start, end = evaluation_window(definition, now)
    points = ctx.store.get_metric_data(
        definition.namespace, definition.metric, dimensions=definition.dimensions,
        start=start, end=end,
    )  # fmt: skip
    evaluation = evaluate_points(definition, points, now)
    changed = False
    if evaluation.state is not None:
        alarm, changed = _transition(
            ctx, resource, evaluation.state, evaluation.reason, evaluation.reason_data(),
            retry=False,
        )  # fmt: skip
    fired = fire_pending_actions(ctx, alarm, owner=owner)
    return EvaluationResult(alarm=alarm, evaluation=evaluation, changed=changed, fired=fired)


def evaluate_alarms(
    ctx: WorkspaceContext, *, now: float | None = None, owner: str | None = None
) -> list[EvaluationResult]:
    """Evaluate every alarm (the scheduler does this each tick); one failing alarm is
    logged and does not stop the others."""
    results = []
    for resource in ctx.store.list_resources(KIND):
        try:
            results.append(evaluate_alarm(ctx, resource.name, now=now, owner=owner))
        except NotFound:
            continue  # deleted meanwhile
        except Exception:  # one bad alarm must not stop the scheduler
            log.exception("evaluating alarm %s failed", resource.name)
    return results


def set_alarm_state(
    ctx: WorkspaceContext, name: str, state: str, *, reason: str, owner: str | None = None
) -> EvaluationResult:
    """Force a state, as CloudWatch's ``SetAlarmState`` (to test actions); the next
    evaluation sets it back from the data."""
    try:
        target = AlarmState(state)
    except ValueError:
        raise InvalidParameter(
            f"Alarm state {state!r} is not valid: use OK, ALARM or INSUFFICIENT_DATA."
        ) from None
    if not reason or not reason.strip():
        raise InvalidParameter("A reason is required to set an alarm's state by hand.")
    resource = ctx.store.get_resource(KIND, name)
    alarm, changed = _transition(
        ctx, resource, target, reason.strip(), {"manual": True}, retry=True
    )
    fired = fire_pending_actions(ctx, alarm, owner=owner)
    evaluation = Evaluation(state=target, reason=reason)
    return EvaluationResult(alarm=alarm, evaluation=evaluation, changed=changed, fired=fired)
