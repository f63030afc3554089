"""Schedules and the scheduler: cadence maths, missed slots run once, two schedulers in
parallel processes run each slot once, on-demand runs, alarms evaluated in the tick."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime

import pytest

from siklus.exceptions import AlreadyExists, InvalidParameter, NotFound
from siklus.jobs import LocalExecutor
from siklus.monitoring.alarms import put_alarm
from siklus.monitoring.scheduler import (
    create_schedule,
    delete_schedule,
    due_slot,
    executions,
    get_schedule,
    latest_slot,
    list_schedules,
    next_slot,
    previous_slot,
    run_now,
    run_scheduler,
    set_enabled,
    tick,
)
from siklus.store import WorkspaceContext

HOUR = 3600
FAKE_JOB = "_sched_fixtures:record"  # on the job processes' PYTHONPATH (conftest.py)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def future_slot() -> float:
    """The first slot after now: the first slot of a schedule created before the call."""
    return next_slot(None, HOUR, time.time())


def hourly(ctx: WorkspaceContext, name: str = "scores-hourly", **kw: object):
    options = {"baseline": "b", "dataset": "scores", "interval_seconds": HOUR,
               "entrypoint": FAKE_JOB}  # fmt: skip
    options.update(kw)
    return create_schedule(ctx, name, **options)  # type: ignore[arg-type]


def test_cadence_maths() -> None:
    now = ts("2026-03-01T10:17:30")
    assert latest_slot("0 * * * *", None, now) == ts("2026-03-01T10:00:00")
    assert latest_slot("0 * * * *", None, ts("2026-03-01T10:00:00")) == ts("2026-03-01T10:00:00")
    assert previous_slot("30 2 * * *", None, ts("2026-03-01T02:30:00")) == ts("2026-02-28T02:30:00")
    assert next_slot("*/15 * * * *", None, now) == ts("2026-03-01T10:30:00")
    assert latest_slot(None, 600, now) == ts("2026-03-01T10:10:00")
    assert previous_slot(None, 600, ts("2026-03-01T10:10:00")) == ts("2026-03-01T10:00:00")


@pytest.mark.parametrize(
    ("kw", "error", "fragment"),
    [
        ({"cron": "0 * * *", "interval_seconds": None}, InvalidParameter, "five fields"),
        ({"cron": "0 * * * *"}, InvalidParameter, "exactly one of cron"),
        ({"interval_seconds": 0}, InvalidParameter, "positive integer"),
        ({"dataset": None}, InvalidParameter, "exactly one data source"),
        ({"endpoint": "live"}, InvalidParameter, "exactly one data source"),
        ({"dataset": "scores@7"}, NotFound, "scores"),
        ({"dataset": "nope"}, NotFound, "nope"),
        ({"dataset": "scores:x"}, InvalidParameter, "NAME@VERSION"),
        ({"kinds": []}, InvalidParameter, "check names"),
        ({"entrypoint": "no-colon"}, InvalidParameter, "entrypoint"),
        ({"extra": {"cron": "x"}}, InvalidParameter, "extra may not set"),
    ],
)
def test_bad_schedules_are_refused(workspace, kw, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        hourly(workspace, **kw)


def test_the_real_monitoring_job_needs_an_existing_baseline(workspace) -> None:
    with pytest.raises(NotFound, match="baseline"):
        create_schedule(workspace, "s", baseline="missing", dataset="scores", cron="0 * * * *")


def test_crud(workspace: WorkspaceContext) -> None:
    hourly(workspace, name="colon-form", dataset="scores:1")
    schedule = hourly(workspace, dataset="scores@1", kinds=["data_drift"], extra={"psi": 0.2})
    assert schedule.body["dataset"] == "scores@1" and schedule.body["psi"] == 0.2
    with pytest.raises(AlreadyExists):
        hourly(workspace, dataset="scores@1")
    assert [s.name for s in list_schedules(workspace)] == ["colon-form", "scores-hourly"]
    view = get_schedule(workspace, "scores-hourly").to_dict()
    assert view["cadence"] == "every 3600 s" and view["next_run"] is not None
    assert set_enabled(workspace, "scores-hourly", False).next_run() is None
    delete_schedule(workspace, "scores-hourly")
    with pytest.raises(NotFound):
        get_schedule(workspace, "scores-hourly")


def test_missed_slots_run_once_and_only_the_latest(workspace: WorkspaceContext) -> None:
    schedule = hourly(workspace)
    t = future_slot()
    assert due_slot(schedule, t - 1) is None or due_slot(schedule, t - 1) < t
    [first] = tick(workspace, now=t + 10).executions
    assert (first.slot, first.missed_slots) == (t, 0)
    assert tick(workspace, now=t + 20).executions == []  # same slot: nothing
    # The scheduler was down for five slots: only the newest runs, once.
    later = t + 5 * HOUR
    [catch_up] = tick(workspace, now=later + 10).executions
    assert (catch_up.slot, catch_up.missed_slots) == (later, 4)
    assert tick(workspace, now=later + 30).executions == []
    runs = executions(workspace, "scores-hourly")
    assert [e.body["slot"] for e in runs] == [t, later]
    assert runs[1].body["window_start"] == later - HOUR and runs[1].body["window_end"] == later
    assert get_schedule(workspace, "scores-hourly").body["last_slot"] == later
    job = LocalExecutor(workspace).wait(catch_up.job_id, timeout=60)
    assert job.status.value == "Completed", job.failure_reason
    assert job.outputs["parameters"] == {
        "schedule": "scores-hourly", "window_start": later - HOUR, "window_end": later,
    }  # fmt: skip
    assert job.kind == "monitoring" and job.tags["monitoring_schedule"] == "scores-hourly"


def test_disabled_schedules_wait_but_run_now_runs(workspace: WorkspaceContext) -> None:
    hourly(workspace, enabled=False)
    assert tick(workspace, now=future_slot() + 10).executions == []
    job = run_now(workspace, "scores-hourly")
    [run] = executions(workspace, "scores-hourly")
    assert run.body["trigger"] == "on-demand" and run.body["job_id"] == job.id
    assert run.body["window_end"] - run.body["window_start"] == pytest.approx(HOUR)
    with pytest.raises(InvalidParameter, match="before window_end"):
        run_now(workspace, "scores-hourly", window_start=10, window_end=5)


TICKER = textwrap.dedent(
    """
    import sys
    from siklus.store import WorkspaceContext
    from siklus.monitoring.scheduler import tick
    ctx = WorkspaceContext.open(sys.argv[1])
    for now in sys.argv[2:]:
        tick(ctx, now=float(now))
    """
)


@pytest.mark.slow
def test_two_schedulers_in_parallel_run_each_slot_once(workspace: WorkspaceContext) -> None:
    for name in ("a", "b"):
        hourly(workspace, name=name, resources={"cpus": 0})
    t = future_slot()
    nows = [str(t + k * HOUR + 5) for k in range(2)]
    procs = [
        subprocess.Popen([sys.executable, "-c", TICKER, str(workspace.root), *nows])
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    for name in ("a", "b"):
        slots = [e.body["slot"] for e in executions(workspace, name)]
        assert sorted(slots) == [t, t + HOUR], name
    assert len(workspace.store.list_jobs(kind="monitoring")) == 4


def test_the_tick_evaluates_alarms(workspace: WorkspaceContext) -> None:
    hourly(workspace)
    put_alarm(
        workspace, "no-executions", namespace="siklus/monitoring", metric="executions",
        dimensions={"schedule": "scores-hourly"}, statistic="SampleCount", period=HOUR,
        threshold=1, comparison="LessThanThreshold", treat_missing_data="breaching",
    )  # fmt: skip
    t = future_slot()
    first = tick(workspace, now=t + 10)
    assert first.alarms[0].alarm.state.value == "ALARM"  # nothing ran in the last hour
    LocalExecutor(workspace).wait(first.executions[0].job_id, timeout=60)
    second = tick(workspace, now=t + HOUR + 10)  # the first execution emitted its point
    [result] = second.alarms
    assert result.changed and result.alarm.state.value == "OK"
    assert len(second.executions) == 1


def test_run_scheduler_loops_until_stopped(workspace: WorkspaceContext) -> None:
    assert run_scheduler(workspace, once=True) == 1
    stop = threading.Event()
    ticks: list[object] = []

    def on_tick(result: object) -> None:
        ticks.append(result)
        if len(ticks) == 3:
            stop.set()

    assert run_scheduler(workspace, interval=0.01, stop=stop, on_tick=on_tick) == 3
    with pytest.raises(InvalidParameter):
        run_scheduler(workspace, interval=0)


@pytest.mark.slow
def test_with_the_real_monitoring_job(workspace: WorkspaceContext) -> None:
    jobs = pytest.importorskip("siklus.monitoring.jobs")
    monitoring = importlib.import_module("siklus.monitoring")
    build_baseline = getattr(monitoring, "build_baseline", None) or jobs.build_baseline
    build_baseline(workspace, "scores", "scores-baseline")
    create_schedule(workspace, "real", baseline="scores-baseline", dataset="scores",
                    interval_seconds=HOUR)  # fmt: skip
    [execution] = tick(workspace, now=future_slot() + 10).executions
    job = LocalExecutor(workspace).wait(execution.job_id, timeout=120)
    assert job.status.value == "Completed", LocalExecutor(workspace).logs(job.id)
    assert workspace.store.list_metric_series("siklus/monitoring")
