"""Alarms in a real store: the OK → ALARM → OK must-show on a synthetic series, history,
actions (log, webhook with retries, pipeline), and at-most-once firing across evaluators."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.monitoring.alarms import (
    alarm_history,
    delete_alarm,
    evaluate_alarm,
    get_alarm,
    list_alarms,
    post_webhook,
    put_alarm,
    set_alarm_state,
)
from siklus.store import WorkspaceContext
from siklus.testing import postgres_schema, postgres_test_url

NS, METRIC, DIMS = "siklus/monitoring", "feature_psi", {"schedule": "hourly", "feature": "age"}
PERIOD = 60
T0 = 1_800_000_000 - 1_800_000_000 % PERIOD  # a period boundary


def make_alarm(ctx: WorkspaceContext, **kw: object) -> None:
    options = dict(
        namespace=NS, metric=METRIC, dimensions=DIMS, statistic="Average", period=PERIOD,
        threshold=0.5, comparison="GreaterThanThreshold", evaluation_periods=3,
        datapoints_to_alarm=2,
    )  # fmt: skip
    options.update(kw)
    put_alarm(ctx, "psi-age", **options)  # type: ignore[arg-type]


def test_alarm_goes_ok_alarm_ok_with_2_of_3(workspace: WorkspaceContext, hook) -> None:
    make_alarm(workspace, alarm_actions=["log", f"webhook:{hook.url}"],
               ok_actions=[f"webhook:{hook.url}"])  # fmt: skip
    before = evaluate_alarm(workspace, "psi-age", now=T0)
    assert before.alarm.state.value == "INSUFFICIENT_DATA" and not before.changed
    # One value per period; two points per period so the Average statistic matters.
    series = [0.1, 0.2, 0.9, 0.1, 0.8, 0.9, 0.7, 0.1, 0.2, 0.1]
    states = []
    for i, value in enumerate(series):
        start = T0 + i * PERIOD
        workspace.store.put_metric_data(
            NS, METRIC, [(start + 5, value - 0.05), (start + 40, value + 0.05)], dimensions=DIMS
        )
        workspace.store.put_metric_data(NS, METRIC, [(start + 5, 99.0)], dimensions={"x": "y"})
        result = evaluate_alarm(workspace, "psi-age", now=start + PERIOD)
        states.append(result.alarm.state.value)
        # Independent reference: 2 of the last 3 period averages above 0.5.
        window = series[max(0, i - 2) : i + 1]
        expected = "ALARM" if sum(v > 0.5 for v in window) >= 2 else "OK"
        assert states[-1] == expected, (i, window)
    # Period 2 is one breaching point of three: still OK.
    assert states == ["OK", "OK", "OK", "OK", "ALARM", "ALARM", "ALARM", "ALARM", "OK", "OK"]
    updates = [e.body for e in alarm_history(workspace, "psi-age", types=["StateUpdate"])]
    assert [(u["old_state"], u["new_state"]) for u in updates] == [
        ("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK"),
    ]  # fmt: skip
    assert "2 of 3 datapoint(s) breaching" in updates[1]["reason"]
    # Each transition fired its actions exactly once: OK, ALARM (log + webhook), OK.
    assert [b["new_state"] for b in hook.bodies] == ["OK", "ALARM", "OK"]
    assert hook.bodies[1]["old_state"] == "OK" and hook.bodies[1]["trigger"]["metric"] == METRIC
    actions = alarm_history(workspace, "psi-age", types=["Action"])
    assert [(a.body["state"], a.body["action"]["type"]) for a in actions] == [
        ("OK", "webhook"), ("ALARM", "log"), ("ALARM", "webhook"), ("OK", "webhook"),
    ]  # fmt: skip
    assert all(a.body["status"] == "Succeeded" for a in actions)


def test_missing_data_goes_insufficient_and_notbreaching_stays_ok(workspace) -> None:
    make_alarm(workspace)
    workspace.store.put_metric_data(NS, METRIC, [(T0 + 1, 0.9)], dimensions=DIMS)
    assert evaluate_alarm(workspace, "psi-age", now=T0 + PERIOD).alarm.state.value == (
        "INSUFFICIENT_DATA"
    )
    make_alarm(workspace, treat_missing_data="breaching")
    assert evaluate_alarm(workspace, "psi-age", now=T0 + PERIOD).alarm.state.value == "ALARM"
    make_alarm(workspace, treat_missing_data="notBreaching")
    assert evaluate_alarm(workspace, "psi-age", now=T0 + PERIOD).alarm.state.value == "OK"


def test_crud_and_errors(workspace: WorkspaceContext) -> None:
    make_alarm(workspace, description="drift of age")
    make_alarm(workspace, threshold=0.7)  # an update keeps the state and the id
    alarm = get_alarm(workspace, "psi-age")
    assert alarm.definition.threshold == 0.7 and alarm.definition.description == ""
    assert [a.name for a in list_alarms(workspace, state="INSUFFICIENT_DATA")] == ["psi-age"]
    assert list_alarms(workspace, state="ALARM") == []
    with pytest.raises(InvalidParameter, match="OK, ALARM or INSUFFICIENT_DATA"):
        list_alarms(workspace, state="RED")
    delete_alarm(workspace, "psi-age")
    with pytest.raises(NotFound):
        get_alarm(workspace, "psi-age")
    kinds = [e.body["action"] for e in alarm_history(workspace, "psi-age")]
    assert kinds == ["create", "update", "delete"]
    with pytest.raises(NotFound, match="'psi-agee' does not exist"):
        alarm_history(workspace, "psi-agee")  # a typo is not an empty history
    with pytest.raises(InvalidParameter, match="Alarm name"):
        put_alarm(workspace, "bad name", namespace=NS, metric=METRIC, threshold=1,
                  comparison="LessThanThreshold")  # fmt: skip


def test_webhook_retries_server_errors_but_not_client_errors(hook) -> None:
    hook.statuses = [500, 503]
    outcome = post_webhook(hook.url, {"x": 1}, retries=3, backoff=0.01)
    assert outcome == {"status": "Succeeded", "attempts": 3, "http_status": 200, "error": None}
    hook.statuses = [400]
    refused = post_webhook(hook.url, {"x": 2}, retries=3, backoff=0.01)
    assert refused["status"] == "Failed" and refused["attempts"] == 1
    assert refused["http_status"] == 400
    down = post_webhook("http://127.0.0.1:9/nothing", {}, retries=1, backoff=0.01)
    assert down["status"] == "Failed" and down["attempts"] == 2 and "Error" in down["error"]


def test_pipeline_action_submits_a_pipeline_job_by_name(workspace: WorkspaceContext) -> None:
    make_alarm(workspace, alarm_actions=[
        {"type": "pipeline", "pipeline": "retrain", "parameters": {"epochs": 3}}
    ])  # fmt: skip
    result = set_alarm_state(workspace, "psi-age", "ALARM", reason="testing the action")
    [fired] = result.fired
    job = workspace.store.get_job(fired["job_id"])
    assert job.entrypoint == "siklus.pipelines.jobs:run_pipeline_job"
    assert job.parameters == {"pipeline": "retrain", "parameters": {"epochs": 3}}
    assert job.tags["alarm"] == "psi-age" and job.resources == {"cpus": 0}
    # The next evaluation sets the state from the data again (no data: INSUFFICIENT_DATA).
    assert evaluate_alarm(workspace, "psi-age", now=T0).alarm.state.value == "INSUFFICIENT_DATA"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ws(
    request: pytest.FixtureRequest, workspace: WorkspaceContext
) -> Iterator[WorkspaceContext]:
    """The workspace with each metadata-store backend in turn."""
    if request.param == "sqlite":
        yield workspace
        return
    with postgres_schema(postgres_test_url()) as url:
        ctx = WorkspaceContext.open(workspace.root, settings={"database_url": url})
        yield ctx
        ctx.store.close()


def test_racing_evaluators_record_each_change_and_action_once(
    any_ws: WorkspaceContext, hook
) -> None:
    """Four evaluators, each with its own store connection (as separate processes have),
    start together on every evaluation; the alarm goes ALARM, OK, ALARM. Across processes
    the same store claims decide (see the scheduler's parallel-process test)."""
    make_alarm(any_ws, alarm_actions=[f"webhook:{hook.url}"], ok_actions=["log"])
    contexts = [any_ws.child() for _ in range(4)]
    values = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9]
    for i, value in enumerate(values):
        any_ws.store.put_metric_data(NS, METRIC, [(T0 + i * PERIOD + 1, value)], dimensions=DIMS)
        barrier = threading.Barrier(len(contexts))

        def evaluate(
            ctx: WorkspaceContext,
            now: float = T0 + (i + 1) * PERIOD,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            evaluate_alarm(ctx, "psi-age", now=now, owner=str(id(ctx)))

        threads = [threading.Thread(target=evaluate, args=(c,)) for c in contexts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    for ctx in contexts:
        ctx.store.close()
    updates = [e.body["new_state"] for e in alarm_history(any_ws, "psi-age", types=["StateUpdate"])]
    assert updates == ["ALARM", "OK", "ALARM"]  # the first lone breaching point: not enough
    assert [b["new_state"] for b in hook.bodies] == ["ALARM", "ALARM"]
    actions = alarm_history(any_ws, "psi-age", types=["Action"])
    assert [a.body["transition"] for a in actions] == [1, 2, 3]
