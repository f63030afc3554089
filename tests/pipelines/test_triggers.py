"""Triggers: cron schedules and new-dataset-version events, each firing at most once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from siklus.data import ingest
from siklus.exceptions import InvalidParameter, NotFound
from siklus.pipelines import (
    PipelineDefinition,
    Step,
    create_dataset_trigger,
    create_schedule,
    get_execution,
    list_triggers,
    param,
    run_due_triggers,
    run_execution,
    save_pipeline,
)
from siklus.store import WorkspaceContext


def _inline(ctx: WorkspaceContext, execution_id: str) -> dict:
    return run_execution(ctx, execution_id)


@pytest.fixture
def pipeline(ctx: WorkspaceContext) -> str:
    save_pipeline(ctx, PipelineDefinition(
        name="nightly",
        parameters={"data": {"type": "string", "default": "none"}},
        steps=[Step(name="gate", type="condition",
                    conditions=[{"left": param("data"), "op": "!=", "right": ""}])],
    ))  # fmt: skip
    return "nightly"


def test_cron_schedule_fires_once_per_due_slot(ctx: WorkspaceContext, pipeline: str) -> None:
    t0 = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    create_schedule(ctx, "every-hour", pipeline, "0 * * * *", now=t0)
    assert run_due_triggers(ctx, now=t0 + timedelta(minutes=20), start=_inline) == []
    fired = run_due_triggers(ctx, now=t0 + timedelta(minutes=40), start=_inline)
    assert len(fired) == 1 and fired[0]["reason"]["slot"] == "2026-01-01T01:00:00+00:00"
    body = get_execution(ctx, fired[0]["execution_id"])
    assert body["status"] == "Succeeded" and body["trigger"]["type"] == "schedule"
    # Asking again for the same moment starts nothing; missed slots fire once, not each.
    assert run_due_triggers(ctx, now=t0 + timedelta(minutes=40), start=_inline) == []
    later = run_due_triggers(ctx, now=t0 + timedelta(hours=5), start=_inline)
    assert [f["reason"]["slot"] for f in later] == ["2026-01-01T05:00:00+00:00"]
    # A second scheduler asking for an already claimed slot gets nothing.
    ctx.store.put_resource("pipeline-trigger", "every-hour",
                           {**ctx.store.get_resource("pipeline-trigger", "every-hour").body,
                            "checked_at": t0.isoformat()})  # fmt: skip
    assert run_due_triggers(ctx, now=t0 + timedelta(minutes=40), start=_inline) == []


def test_dataset_trigger_runs_once_per_new_version(
    ctx: WorkspaceContext, pipeline: str, tmp_path: Path
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n", encoding="utf-8")
    ingest(ctx, data, "events")
    create_dataset_trigger(ctx, "on-events", pipeline, "events", parameter="data")
    assert run_due_triggers(ctx, start=_inline) == []  # versions before the trigger: none
    data.write_text("x\n1\n2\n", encoding="utf-8")
    version, _ = ingest(ctx, data, "events")
    (fired,) = run_due_triggers(ctx, start=_inline)
    body = get_execution(ctx, fired["execution_id"])
    assert body["parameters"] == {"data": version.ref}
    assert body["trigger"] == {"type": "dataset", "trigger": "on-events",
                               "dataset_version": version.ref}  # fmt: skip
    assert run_due_triggers(ctx, start=_inline) == []
    assert list_triggers(ctx)[0]["executions"] == [fired["execution_id"]]


def test_bad_triggers_are_rejected(ctx: WorkspaceContext, pipeline: str) -> None:
    with pytest.raises(InvalidParameter, match="not a cron expression"):
        create_schedule(ctx, "bad", pipeline, "every day")
    with pytest.raises(NotFound, match="No pipeline 'nope'"):
        create_schedule(ctx, "bad", "nope", "0 2 * * *")
    with pytest.raises(InvalidParameter, match="is a string, got 3"):
        create_schedule(ctx, "bad", pipeline, "0 2 * * *", parameters={"data": 3})
    with pytest.raises(InvalidParameter, match="no string parameter 'x'"):
        create_dataset_trigger(ctx, "bad", pipeline, "events", parameter="x")
