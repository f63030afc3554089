"""What an alarm is: a validated definition (CloudWatch's ``PutMetricAlarm`` fields) and
its actions.

An alarm is stored as the resource ``("alarm", name)``: the definition below plus its
current state (:mod:`siklus.monitoring.alarms._api` owns the state part). Keeping the
names and values of CloudWatch (``GreaterThanThreshold``, ``notBreaching``, ``p99``…)
lets people move alarm definitions over unchanged.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidParameter

KIND = "alarm"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
#: CloudWatch caps period x periods at one day; monitoring runs hourly or daily, so siklus
#: allows a week.
MAX_LOOKBACK_SECONDS = 86_400 * 7


class AlarmState(enum.StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Comparison(enum.StrEnum):
    GT = "GreaterThanThreshold"
    GE = "GreaterThanOrEqualToThreshold"
    LT = "LessThanThreshold"
    LE = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        """Whether ``value`` is on the alarming side of ``threshold``."""
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.LT:
            return value < threshold
        return value <= threshold

    @property
    def symbol(self) -> str:
        return {"GT": ">", "GE": ">=", "LT": "<", "LE": "<="}[self.name]


class TreatMissingData(enum.StrEnum):
    MISSING = "missing"
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    IGNORE = "ignore"


STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
ACTION_TYPES = ("log", "webhook", "retrain", "pipeline")


def check_alarm_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"Alarm name {name!r} is not valid: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def check_statistic(statistic: str) -> str:
    """``Average``, ``Sum``, ``Minimum``, ``Maximum``, ``SampleCount`` or ``pNN`` (0-100)."""
    if statistic in STATISTICS:
        return statistic
    match = _PERCENTILE.match(statistic or "")
    if match and 0 <= float(match.group(1)) <= 100:
        return statistic
    raise InvalidParameter(
        f"Statistic {statistic!r} is not supported: use one of {', '.join(STATISTICS)} or a "
        "percentile such as p50, p90, p99.9."
    )


def _choice(what: str, enum_type: type[enum.StrEnum], value: Any) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        raise InvalidParameter(
            f"{what} {value!r} is not valid: use one of "
            + ", ".join(member.value for member in enum_type)
            + "."
        ) from None


def parse_action(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``log``, ``webhook:URL``, ``retrain:GROUP`` or ``pipeline:NAME`` (or the stored
    dict form) into the stored dict form, checking it.

    Example:
        >>> parse_action("retrain:churn")
        {'type': 'retrain', 'group': 'churn'}
    """
    if isinstance(spec, str):
        kind, _, arg = spec.partition(":")
        kind = kind.strip()
        if kind == "log" and not arg:
            action: dict[str, Any] = {"type": "log"}
        elif kind == "webhook":
            action = {"type": "webhook", "url": arg}
        elif kind == "retrain":
            action = {"type": "retrain", "group": arg}
        elif kind == "pipeline":
            action = {"type": "pipeline", "pipeline": arg, "parameters": {}}
        else:
            raise InvalidParameter(
                f"Alarm action {spec!r} is not valid: use log, webhook:URL, retrain:GROUP "
                "or pipeline:NAME."
            )
    elif isinstance(spec, Mapping):
        action = dict(spec)
    else:
        raise InvalidParameter(f"Alarm action {spec!r} must be a string or a dict.")
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        raise InvalidParameter(
            f"Alarm action type {kind!r} is not valid: use one of {', '.join(ACTION_TYPES)}."
        )
    if kind == "webhook":
        url = str(action.get("url") or "")
        if not re.match(r"^https?://[^\s/]+", url):
            raise InvalidParameter(
                f"Webhook URL {url!r} is not valid: give an http:// or https:// URL, e.g. "
                "webhook:http://127.0.0.1:9000/hook."
            )
        retries = action.setdefault("retries", 3)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
            raise InvalidParameter(f"Webhook retries must be an integer 0-10, got {retries!r}.")
    if kind == "retrain" and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$", action["group"]):
        raise InvalidParameter(
            f"retrain:{action['group']} does not name a model package group; e.g. retrain:churn."
        )
    if kind == "pipeline":
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$", str(action.get("pipeline"))):
            raise InvalidParameter(
                f"pipeline:{action.get('pipeline')} does not name a pipeline; e.g. "
                "pipeline:retrain."
            )
        if not isinstance(action.setdefault("parameters", {}), dict):
            raise InvalidParameter("Pipeline action parameters must be a dict.")
    return action


def _positive_int(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameter(f"{what} must be a positive integer, got {value!r}.")
    return value


@dataclass(frozen=True)
class AlarmDefinition:
    """A metric alarm, as CloudWatch's ``PutMetricAlarm`` defines one.

    The alarm aggregates the series ``namespace``/``metric``/``dimensions`` into one
    value per ``period`` (with ``statistic``), compares each with ``threshold``, and goes
    to ALARM when at least ``datapoints_to_alarm`` (M) of the last
    ``evaluation_periods`` (N) values breach; ``treat_missing_data`` says what an empty
    period counts as.

    Raises:
        InvalidParameter: A field is out of range; the message names it.
    """

    name: str
    namespace: str
    metric: str
    threshold: float
    comparison: Comparison
    period: int = 300
    statistic: str = "Average"
    dimensions: dict[str, str] = field(default_factory=dict)
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: TreatMissingData = TreatMissingData.MISSING
    description: str = ""
    actions_enabled: bool = True
    alarm_actions: tuple[dict[str, Any], ...] = ()
    ok_actions: tuple[dict[str, Any], ...] = ()
    insufficient_data_actions: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        check_alarm_name(self.name)
        for what in ("namespace", "metric"):
            value = getattr(self, what)
            if not isinstance(value, str) or not value.strip():
                raise InvalidParameter(f"Alarm {self.name!r}: {what} must be a non-empty string.")
        object.__setattr__(self, "comparison", _choice("Comparison", Comparison, self.comparison))
        object.__setattr__(
            self,
            "treat_missing_data",
            _choice("treat_missing_data", TreatMissingData, self.treat_missing_data),
        )
        check_statistic(self.statistic)
        try:
            threshold = float(self.threshold)
        except (TypeError, ValueError):
            raise InvalidParameter(f"Threshold {self.threshold!r} is not a number.") from None
        if not math.isfinite(threshold):
            raise InvalidParameter(f"Threshold must be a finite number, got {self.threshold!r}.")
        object.__setattr__(self, "threshold", threshold)
        _positive_int("period (seconds)", self.period)
        _positive_int("evaluation_periods", self.evaluation_periods)
        m = (
            self.evaluation_periods
            if self.datapoints_to_alarm is None
            else self.datapoints_to_alarm
        )
        _positive_int("datapoints_to_alarm", m)
        if m > self.evaluation_periods:
            raise InvalidParameter(
                f"datapoints_to_alarm ({m}) cannot exceed evaluation_periods "
                f"({self.evaluation_periods}): the alarm needs M breaching of the last N periods."
            )
        object.__setattr__(self, "datapoints_to_alarm", m)
        if self.period * (self.evaluation_periods + 2) > MAX_LOOKBACK_SECONDS:
            raise InvalidParameter(
                f"period x evaluation_periods looks back more than "
                f"{MAX_LOOKBACK_SECONDS // 86400} days; use a shorter period or fewer periods."
            )
        if not isinstance(self.dimensions, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.dimensions.items()
        ):
            raise InvalidParameter(f"Dimensions must map strings to strings: {self.dimensions!r}.")
        object.__setattr__(self, "dimensions", dict(self.dimensions))
        for what in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            actions = getattr(self, what)
            if isinstance(actions, (str, Mapping)):
                actions = [actions]
            object.__setattr__(self, what, tuple(parse_action(a) for a in actions))

    @property
    def evaluation_range(self) -> int:
        """How many periods are read: N plus two, so that a few empty periods can be
        skipped over to find N real datapoints (as CloudWatch does)."""
        return self.evaluation_periods + 2

    def actions_for(self, state: AlarmState) -> tuple[dict[str, Any], ...]:
        return {
            AlarmState.ALARM: self.alarm_actions,
            AlarmState.OK: self.ok_actions,
            AlarmState.INSUFFICIENT_DATA: self.insufficient_data_actions,
        }[state]

    def to_body(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "metric": self.metric,
            "dimensions": dict(self.dimensions),
            "statistic": self.statistic,
            "period": self.period,
            "threshold": self.threshold,
            "comparison": self.comparison.value,
            "evaluation_periods": self.evaluation_periods,
            "datapoints_to_alarm": self.datapoints_to_alarm,
            "treat_missing_data": self.treat_missing_data.value,
            "description": self.description,
            "actions_enabled": self.actions_enabled,
            "alarm_actions": list(self.alarm_actions),
            "ok_actions": list(self.ok_actions),
            "insufficient_data_actions": list(self.insufficient_data_actions),
        }

    @classmethod
    def from_body(cls, name: str, body: Mapping[str, Any]) -> AlarmDefinition:
        fields = cls.__dataclass_fields__
        return cls(name=name, **{k: v for k, v in body.items() if k in fields and k != "name"})

    def describe_condition(self) -> str:
        """``Average(loss) > 0.5 for 2 of 3 periods of 300 s``."""
        return (
            f"{self.statistic}({self.namespace}/{self.metric}) {self.comparison.symbol} "
            f"{self.threshold:g} for {self.datapoints_to_alarm} of {self.evaluation_periods} "
            f"period(s) of {self.period} s"
        )


def normalise_actions(actions: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [parse_action(a) for a in (actions or [])]
