"""Alarm evaluation as pure functions: raw points → one value per period → a state.

The rules follow CloudWatch's "How alarm state is evaluated when data is missing":

1. The alarm reads the last ``N + 2`` complete periods (the *evaluation range*) and
   aggregates each non-empty period with the statistic. Periods are aligned to multiples
   of ``period`` seconds since the epoch; the period still in progress is never read, so a
   half-filled period cannot flap the alarm.
2. If at least N periods have data, the N most recent of them are evaluated and the
   missing-data setting is not used.
3. Otherwise every real datapoint in the range is evaluated, plus as few filled-in ones
   as make up N: ``breaching`` fills breaching points, ``notBreaching`` fills
   non-breaching ones. ``missing`` and ``ignore`` fill nothing: M breaching points still
   mean ALARM and a non-breaching point means OK; with neither, ``missing`` goes to
   INSUFFICIENT_DATA and ``ignore`` keeps the current state.
4. ALARM when at least M (datapoints-to-alarm) of the evaluated points breach, else OK.

This reproduces every row of the two example tables in AWS's documentation but one: for
3 of 3 with ``missing`` and only the oldest of five periods present and breaching
(``X - - - -``) AWS shows ALARM, and siklus INSUFFICIENT_DATA (one breaching point is not
three), the same as the mirror case ``- - - - X`` in that very table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siklus.monitoring.alarms._model import AlarmDefinition, AlarmState, TreatMissingData
from siklus.store import MetricDatum


def aggregate(values: Sequence[float], statistic: str) -> float:
    """One period's value: ``Average``/``Sum``/``Minimum``/``Maximum``/``SampleCount`` or a
    percentile ``pNN`` (linear interpolation between closest ranks, numpy's default)."""
    array = np.asarray(values, dtype=float)
    if statistic == "SampleCount":
        return float(array.size)
    if array.size == 0:
        return math.nan
    if statistic == "Average":
        return float(array.mean())
    if statistic == "Sum":
        return float(array.sum())
    if statistic == "Minimum":
        return float(array.min())
    if statistic == "Maximum":
        return float(array.max())
    return float(np.percentile(array, float(statistic[1:])))


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation.

    Attributes:
        state: The state the alarm should be in; None means "keep the current one"
            (``ignore`` with no data to decide on).
        reason: A sentence for people (stored as the state reason).
        periods: ``[{"start": ts, "value": v|None, "breaching": bool|None}]`` oldest first,
            the whole evaluation range.
        evaluated: How many real datapoints were evaluated, and ``filled`` how many were
            filled in by the missing-data setting.
    """

    state: AlarmState | None
    reason: str
    periods: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0
    filled: int = 0
    breaching: int = 0

    def reason_data(self) -> dict[str, Any]:
        return {
            "periods": self.periods,
            "evaluated": self.evaluated,
            "filled": self.filled,
            "breaching": self.breaching,
        }


def evaluation_window(alarm: AlarmDefinition, now: float) -> tuple[float, float]:
    """``(start, end)`` of the evaluation range at time ``now``: complete periods only."""
    end = math.floor(now / alarm.period) * alarm.period
    return end - alarm.evaluation_range * alarm.period, float(end)


def period_values(
    alarm: AlarmDefinition, points: Sequence[MetricDatum], now: float
) -> list[dict[str, Any]]:
    """Bucket ``points`` into the evaluation range's periods and aggregate each one."""
    start, end = evaluation_window(alarm, now)
    buckets: list[list[float]] = [[] for _ in range(alarm.evaluation_range)]
    for point in points:
        if start <= point.timestamp < end:
            buckets[int((point.timestamp - start) // alarm.period)].append(point.value)
    periods = []
    for index, values in enumerate(buckets):
        value = aggregate(values, alarm.statistic) if values else None
        breaching = None if value is None else alarm.comparison.breaches(value, alarm.threshold)
        periods.append(
            {"start": start + index * alarm.period, "value": value, "breaching": breaching}
        )
    return periods


def decide(alarm: AlarmDefinition, periods: list[dict[str, Any]]) -> Evaluation:
    """Apply the M-of-N and missing-data rules of the module docstring to ``periods``."""
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm
    assert m is not None
    real = [p["breaching"] for p in periods if p["breaching"] is not None]
    condition = alarm.describe_condition()
    treat = alarm.treat_missing_data
    if len(real) >= n:
        evaluated, filled = real[-n:], 0
        breaching = sum(evaluated)
    else:
        evaluated = real
        filled = (
            n - len(real)
            if treat in (TreatMissingData.BREACHING, TreatMissingData.NOT_BREACHING)
            else 0
        )
        breaching = sum(real) + (filled if treat is TreatMissingData.BREACHING else 0)
    base = Evaluation(
        state=None, reason="", periods=periods, evaluated=len(evaluated), filled=filled,
        breaching=breaching,
    )  # fmt: skip
    seen = f"{breaching} of {len(evaluated) + filled} datapoint(s) breaching"
    if filled:
        seen += f" ({filled} missing treated as {treat.value})"
    if breaching >= m:
        return _with(base, AlarmState.ALARM, f"Threshold crossed: {seen}; alarm when {condition}.")
    if len(evaluated) + filled >= n or not all(evaluated):
        return _with(base, AlarmState.OK, f"Threshold not crossed: {seen}; alarm when {condition}.")
    missing = alarm.evaluation_range - len(real)
    if treat is TreatMissingData.IGNORE:
        return _with(
            base, None, f"{missing} of {alarm.evaluation_range} period(s) have no data; "
            "missing data is ignored, so the state is kept.",
        )  # fmt: skip
    return _with(
        base, AlarmState.INSUFFICIENT_DATA,
        f"Insufficient data: {len(real)} of {alarm.evaluation_range} period(s) have data "
        f"({seen}); alarm when {condition}.",
    )  # fmt: skip


def _with(base: Evaluation, state: AlarmState | None, reason: str) -> Evaluation:
    return Evaluation(
        state=state, reason=reason, periods=base.periods, evaluated=base.evaluated,
        filled=base.filled, breaching=base.breaching,
    )  # fmt: skip


def evaluate_points(
    alarm: AlarmDefinition, points: Sequence[MetricDatum], now: float
) -> Evaluation:
    """Evaluate ``alarm`` over raw ``points`` at time ``now`` (seconds since the epoch)."""
    return decide(alarm, period_values(alarm, points, now))
