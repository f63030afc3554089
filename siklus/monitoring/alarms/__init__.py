"""CloudWatch-style alarms over the store's metric series.

An alarm watches one series (namespace, metric, exact dimensions), aggregates it per
period with a statistic, compares with a threshold, and moves between OK, ALARM and
INSUFFICIENT_DATA following CloudWatch's M-of-N and missing-data rules
(:mod:`siklus.monitoring.alarms._evaluate`). Every change is kept as history and fires the
new state's actions (log, webhook, retraining job, pipeline job) at most once.

Example:
    >>> from siklus.monitoring.alarms import put_alarm, evaluate_alarm
    >>> put_alarm(ctx, "accuracy-drop", namespace="siklus/monitoring", metric="accuracy",
    ...           dimensions={"schedule": "nightly"}, statistic="Average", period=3600,
    ...           threshold=0.9, comparison="LessThanThreshold", evaluation_periods=3,
    ...           datapoints_to_alarm=2, alarm_actions=["retrain:churn"])  # doctest: +SKIP
    >>> evaluate_alarm(ctx, "accuracy-drop").alarm.state  # doctest: +SKIP
"""

from siklus.monitoring.alarms._actions import notification, post_webhook
from siklus.monitoring.alarms._api import (
    Alarm,
    EvaluationResult,
    alarm_history,
    delete_alarm,
    evaluate_alarm,
    evaluate_alarms,
    get_alarm,
    list_alarms,
    put_alarm,
    set_alarm_state,
)
from siklus.monitoring.alarms._evaluate import Evaluation, aggregate, decide, evaluate_points
from siklus.monitoring.alarms._model import (
    STATISTICS,
    AlarmDefinition,
    AlarmState,
    Comparison,
    TreatMissingData,
    parse_action,
)

__all__ = [
    "STATISTICS",
    "Alarm",
    "AlarmDefinition",
    "AlarmState",
    "Comparison",
    "Evaluation",
    "EvaluationResult",
    "TreatMissingData",
    "aggregate",
    "alarm_history",
    "decide",
    "delete_alarm",
    "evaluate_alarm",
    "evaluate_alarms",
    "evaluate_points",
    "get_alarm",
    "list_alarms",
    "notification",
    "parse_action",
    "post_webhook",
    "put_alarm",
    "set_alarm_state",
]
