"""Finding executions again: by id, by schedule, by baseline; their violations file."""

from __future__ import annotations

import json
from typing import Any

from siklus.exceptions import NotFound
from siklus.monitoring._baseline import BASELINE_KIND
from siklus.monitoring._execution import EXECUTION_KIND, SCHEDULE_KIND
from siklus.store import WorkspaceContext


def get_execution(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    """The stored record of one execution. Raises NotFound."""
    try:
        return dict(ctx.store.get_resource(EXECUTION_KIND, execution_id).body)
    except NotFound:
        raise NotFound(
            f"Monitoring execution {execution_id!r} does not exist; list them with "
            "`siklus monitor violations SCHEDULE_OR_BASELINE`."
        ) from None


def list_executions(
    ctx: WorkspaceContext, *, schedule: str | None = None, baseline: str | None = None
) -> list[dict[str, Any]]:
    """Execution events of a schedule (or of on-demand runs of a baseline), oldest first."""
    if schedule is not None:
        events = ctx.store.list_events(SCHEDULE_KIND, schedule)
    elif baseline is not None:
        events = ctx.store.list_events(BASELINE_KIND, baseline)
    else:
        events = [*ctx.store.list_events(SCHEDULE_KIND), *ctx.store.list_events(BASELINE_KIND)]
        events.sort(key=lambda e: e.seq)
    return [{"seq": e.seq, **e.body} for e in events if "execution_id" in e.body]


def latest_execution(ctx: WorkspaceContext, name: str) -> dict[str, Any]:
    """An execution by id, or the latest one of a schedule or baseline called ``name``."""
    try:
        return get_execution(ctx, name)
    except NotFound:
        pass
    for kind in (SCHEDULE_KIND, BASELINE_KIND):
        found = list_executions(ctx, **{kind.split("-")[1]: name})
        if found:
            return get_execution(ctx, found[-1]["execution_id"])
    raise NotFound(
        f"No monitoring execution, schedule or baseline with executions is called {name!r}."
    )


def load_violations(ctx: WorkspaceContext, execution: dict[str, Any]) -> dict[str, Any]:
    """The ``constraint_violations.json`` document of an execution record."""
    return json.loads(ctx.artifacts.get_bytes(execution["artifacts"]["violations"]))


def load_report(ctx: WorkspaceContext, execution: dict[str, Any]) -> str:
    """The HTML report of an execution record."""
    return ctx.artifacts.get_bytes(execution["artifacts"]["report"]).decode("utf-8")


__all__ = ["get_execution", "latest_execution", "list_executions", "load_report", "load_violations"]
