"""The pure evaluation rules: statistics against numpy, M-of-N and missing data against the
example tables of AWS's "How alarm state is evaluated when data is missing"."""

from __future__ import annotations

import numpy as np
import pytest

from siklus.exceptions import InvalidParameter
from siklus.monitoring.alarms import AlarmDefinition, aggregate, decide, evaluate_points
from siklus.store import MetricDatum

PERIOD = 60


def alarm(n: int, m: int, treat: str = "missing", **kw: object) -> AlarmDefinition:
    return AlarmDefinition(
        name="a", namespace="ns", metric="m", threshold=1.0, comparison="GreaterThanThreshold",
        period=PERIOD, evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=treat,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def periods(pattern: str) -> list[dict]:
    """``"0 - X - X"`` (oldest first): 0 not breaching, X breaching, - missing."""
    out = []
    for i, c in enumerate(pattern.split()):
        value = {"0": 0.0, "X": 2.0, "-": None}[c]
        out.append({"start": i * PERIOD, "value": value,
                    "breaching": None if value is None else value > 1.0})  # fmt: skip
    return out


KEEP = "keep"
# (pattern, MISSING, IGNORE, BREACHING, NOT BREACHING) from AWS's two tables.
THREE_OF_THREE = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", KEEP, "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - - - X", "INSUFFICIENT_DATA", KEEP, "ALARM", "OK"),
    # AWS shows ALARM for MISSING here; siklus documents why it says INSUFFICIENT_DATA.
    ("X - - - -", "INSUFFICIENT_DATA", KEEP, "ALARM", "OK"),
]
TWO_OF_THREE = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - - X", "INSUFFICIENT_DATA", KEEP, "ALARM", "OK"),
]


@pytest.mark.parametrize(
    ("m", "row"), [(3, r) for r in THREE_OF_THREE] + [(2, r) for r in TWO_OF_THREE]
)
def test_missing_data_tables(m: int, row: tuple[str, ...]) -> None:
    pattern, *expected = row
    treatments = ("missing", "ignore", "breaching", "notBreaching")
    for treat, want in zip(treatments, expected, strict=True):
        got = decide(alarm(3, m, treat), periods(pattern)).state
        assert (got.value if got else KEEP) == want, (pattern, treat)


def test_one_breaching_point_of_three_does_not_alarm_two_do() -> None:
    assert decide(alarm(3, 2), periods("- - 0 X 0")).state.value == "OK"
    assert decide(alarm(3, 2), periods("- - X 0 X")).state.value == "ALARM"


@pytest.mark.parametrize("statistic", ["Average", "Sum", "Minimum", "Maximum", "SampleCount",
                                       "p50", "p90", "p99.5"])  # fmt: skip
def test_statistics_match_numpy(statistic: str) -> None:
    values = np.random.default_rng(0).normal(size=101)
    reference = {
        "Average": np.mean, "Sum": np.sum, "Minimum": np.min, "Maximum": np.max,
        "SampleCount": len,
    }.get(statistic) or (lambda v: np.percentile(v, float(statistic[1:])))  # fmt: skip
    assert aggregate(values.tolist(), statistic) == pytest.approx(float(reference(values)))


def test_points_are_bucketed_into_complete_periods_only() -> None:
    a = alarm(1, 1, statistic="Maximum")
    now = 10 * PERIOD + 30  # the period [600, 660) is still in progress
    points = [MetricDatum("ns", "m", {}, 9 * PERIOD + 5, 0.5),
              MetricDatum("ns", "m", {}, 9 * PERIOD + 50, 1.5),
              MetricDatum("ns", "m", {}, 10 * PERIOD + 1, 99.0)]  # fmt: skip
    evaluation = evaluate_points(a, points, now)
    assert [p["value"] for p in evaluation.periods] == [None, None, 1.5]
    assert evaluation.state.value == "ALARM"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("statistic", "Median", "p50"),
        ("comparison", "Bigger", "GreaterThanThreshold"),
        ("treat_missing_data", "skip", "notBreaching"),
        ("datapoints_to_alarm", 5, "cannot exceed"),
        ("period", 0, "positive integer"),
        ("threshold", float("nan"), "finite"),
        ("alarm_actions", ["email:me"], "webhook:URL"),
        ("alarm_actions", ["webhook:ftp://x"], "http://"),
    ],
)
def test_bad_definitions_are_refused(field: str, value: object, fragment: str) -> None:
    fields = {"name": "a", "namespace": "ns", "metric": "m", "threshold": 1.0,
              "comparison": "GreaterThanThreshold", "evaluation_periods": 3}  # fmt: skip
    fields[field] = value
    with pytest.raises(InvalidParameter, match=fragment):
        AlarmDefinition(**fields)  # type: ignore[arg-type]
