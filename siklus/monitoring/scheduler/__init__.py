"""Monitoring schedules (cron or interval, plus on demand) and the scheduler that runs them.

``siklus scheduler`` ticks every 30 s: it submits each schedule's due execution as a
job and evaluates every alarm. After downtime a missed schedule runs once (its newest
slot); two schedulers sharing a store never run the same execution twice.

Example:
    >>> from siklus.monitoring.scheduler import create_schedule, tick
    >>> create_schedule(ctx, "bc-hourly", baseline="bc-baseline", dataset="bc",
    ...                 interval_seconds=3600)  # doctest: +SKIP
    >>> tick(ctx).executions  # doctest: +SKIP
"""

from siklus.monitoring.scheduler._loop import (
    Execution,
    TickResult,
    due_slot,
    run_due_schedules,
    run_scheduler,
    scheduler_owner,
    tick,
)
from siklus.monitoring.scheduler._schedules import (
    DEFAULT_KINDS,
    ENTRYPOINT,
    KIND,
    Schedule,
    create_schedule,
    delete_schedule,
    executions,
    get_schedule,
    list_schedules,
    run_now,
    set_enabled,
)
from siklus.monitoring.scheduler._slots import latest_slot, next_slot, previous_slot

__all__ = [
    "DEFAULT_KINDS",
    "ENTRYPOINT",
    "KIND",
    "Execution",
    "Schedule",
    "TickResult",
    "create_schedule",
    "delete_schedule",
    "due_slot",
    "executions",
    "get_schedule",
    "latest_slot",
    "list_schedules",
    "next_slot",
    "previous_slot",
    "run_due_schedules",
    "run_now",
    "run_scheduler",
    "scheduler_owner",
    "set_enabled",
    "tick",
]
