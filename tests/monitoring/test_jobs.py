"""The scheduler's contract: a job entrypoint that runs one scheduled window."""

from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.jobs import LocalExecutor
from siklus.monitoring import (
    EXECUTION_ENTRYPOINT,
    NAMESPACE,
    build_baseline,
    execution_spec,
    get_execution,
    list_executions,
)
from siklus.monitoring.jobs import execution_request
from siklus.store import WorkspaceContext
from siklus.store.capture import CaptureWriter

from ._helpers import frame, store


@pytest.mark.slow
def test_scheduled_execution_runs_as_a_job(ctx: WorkspaceContext) -> None:
    ref = store(ctx, frame(300, 1), "people")
    build_baseline(ctx, ref, "people", exclude=["age"])
    writer = CaptureWriter(ctx.root, "ep", "v1")
    for i, row in enumerate(frame(60, 2, shift=3.0).itertuples()):
        writer.write(
            inference_id=f"r{i}",
            model="m:1",
            columns=["income", "score", "city"],
            rows=[[float(row.income), float(row.score), row.city]],
            predictions=[0],
            when=100.0 + i,
        )
    writer.close()
    ctx.store.put_resource(
        "monitoring-schedule",
        "hourly",
        {"baseline": "people", "endpoint": "ep", "dataset": None, "kinds": ["data_drift"]},
    )
    spec = execution_spec(schedule="hourly", window_start=100.0, window_end=130.0)
    assert (
        spec.entrypoint == EXECUTION_ENTRYPOINT == "siklus.monitoring.jobs:monitoring_execution_job"
    )
    done = LocalExecutor(ctx).run(spec, timeout=120)
    assert done.status.value == "Completed", done.failure_reason
    assert done.outputs["item_count"] == 30 and done.outputs["drifted_features"] == ["score"]
    [event] = list_executions(ctx, schedule="hourly")
    assert event["execution_id"] == done.outputs["execution_id"]
    assert event["window"] == [100.0, 130.0] and event["violations_count"] == 1
    assert event["paths"]["report"].endswith("report.html")
    points = ctx.store.get_metric_data(
        NAMESPACE, "feature_drifted", dimensions={"schedule": "hourly", "feature": "score"}
    )
    assert [(p.timestamp, p.value) for p in points] == [(130.0, 1.0)]
    record = get_execution(ctx, done.outputs["execution_id"])
    assert record["schedule"] == "hourly" and record["drifted_features"] == ["score"]


def test_execution_request_reads_the_schedule(ctx: WorkspaceContext) -> None:
    ctx.store.put_resource("monitoring-schedule", "s", {"baseline": "b", "dataset": "d:2"})
    request = execution_request(ctx, {"schedule": "s", "window_start": 1, "window_end": None})
    assert request == {
        "baseline": "b",
        "endpoint": None,
        "dataset": "d:2",
        "kinds": ["data_quality", "data_drift", "model_quality"],
        "window": (1.0, None),
        "schedule": "s",
    }
    with pytest.raises(NotFound, match="'gone'"):
        execution_request(ctx, {"schedule": "gone"})
    with pytest.raises(InvalidParameter, match="window_end must be epoch seconds"):
        execution_request(ctx, {"schedule": "s", "window_end": "noon"})
    ctx.store.put_resource("monitoring-schedule", "empty", {"endpoint": "e"})
    with pytest.raises(InvalidParameter, match="no baseline"):
        execution_request(ctx, {"schedule": "empty"})
