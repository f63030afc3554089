"""A stand-in monitoring execution job for scheduler tests, imported by job processes
through PYTHONPATH (``conftest.py``). It reads the schedule resource as the real
monitoring job does and emits one metric point, so alarms have something to watch."""

from __future__ import annotations

from typing import Any


def record(ctx: Any) -> dict[str, Any]:
    schedule = ctx.workspace.store.get_resource("monitoring-schedule", ctx.parameters["schedule"])
    end = ctx.parameters["window_end"]
    if end is not None:
        ctx.workspace.store.put_metric_data(
            "siklus/monitoring", "executions", [(end, 1.0)],
            dimensions={"schedule": ctx.parameters["schedule"]},
        )  # fmt: skip
    return {"parameters": dict(ctx.parameters), "baseline": schedule.body["baseline"]}
