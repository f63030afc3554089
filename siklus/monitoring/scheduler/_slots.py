"""When a schedule runs: cron expressions (UTC, via croniter) or fixed intervals.

A *slot* is the instant an execution is due, in seconds since the epoch. Interval slots
are multiples of the interval since the epoch (``interval_seconds=3600`` runs at the top of
every hour), so every scheduler computes the same slots without sharing a clock origin.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from croniter import croniter

from siklus.exceptions import InvalidParameter

_MAX_COUNT = 100_000  # counting missed cron slots stops here (years of minutely slots)


def check_cadence(cron: str | None, interval_seconds: int | None) -> None:
    """Exactly one of a valid 5-field cron expression and a positive interval."""
    if (cron is None) == (interval_seconds is None):
        raise InvalidParameter(
            "Give exactly one of cron='0 * * * *' (a cron expression, UTC) and "
            "interval_seconds=3600."
        )
    if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
        raise InvalidParameter(
            f"Cron expression {cron!r} is not valid: use five fields 'minute hour day month "
            "weekday' in UTC, e.g. '0 * * * *' (hourly) or '30 2 * * *' (daily at 02:30)."
        )
    if interval_seconds is not None and (
        isinstance(interval_seconds, bool)
        or not isinstance(interval_seconds, int)
        or interval_seconds < 1
    ):
        raise InvalidParameter(
            f"interval_seconds must be a positive integer, got {interval_seconds!r}."
        )


def latest_slot(cron: str | None, interval: int | None, now: float) -> float:
    """The newest slot at or before ``now``."""
    if interval is not None:
        return float(math.floor(now / interval) * interval)
    # croniter's get_prev is strict; cron slots are whole minutes, so start just after now.
    return float(croniter(cron, math.floor(now) + 1).get_prev(float))


def previous_slot(cron: str | None, interval: int | None, slot: float) -> float:
    """The slot before ``slot`` (the start of that execution's data window)."""
    if interval is not None:
        return slot - interval
    return float(croniter(cron, slot).get_prev(float))


def next_slot(cron: str | None, interval: int | None, now: float) -> float:
    """The first slot after ``now``."""
    if interval is not None:
        return latest_slot(cron, interval, now) + interval
    return float(croniter(cron, math.floor(now)).get_next(float))


def slots_between(cron: str | None, interval: int | None, after: float, until: float) -> int:
    """How many slots lie strictly after ``after`` and strictly before ``until``."""
    if until <= after:
        return 0
    if interval is not None:
        return max(0, math.ceil((until - after) / interval) - 1)
    count, it = 0, croniter(cron, after)
    while count < _MAX_COUNT and it.get_next(float) < until:
        count += 1
    return count


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()
