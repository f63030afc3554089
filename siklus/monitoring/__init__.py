"""Model monitoring (SageMaker Model Monitor's job, with its open file formats).

A **baseline** summarises the training data (``statistics.json``: type, completeness,
quantile sketch, histogram, category counts per feature) and suggests what current data
must satisfy (``constraints.json``, editable by hand and validated when loaded), plus,
given a model and its label, the model's metrics on a held-out split. An **execution**
checks an endpoint's captured requests in a time window, or a dataset version, against a
baseline: data quality (SageMaker's six checks), data drift per feature (PSI, KS,
chi-square, Jensen-Shannon, Wasserstein) and model quality (ground truth uploaded later,
joined by capture row id). It writes ``constraint_violations.json`` and an HTML report
and emits every statistic as a metric series (namespace ``siklus/monitoring``) for alarms.

Contract for the scheduler and pipelines:

* Job entrypoint ``siklus.monitoring.jobs:monitoring_execution_job``, parameters
  ``{"schedule": NAME, "window_start": epoch_s | None, "window_end": epoch_s | None}``.
  The schedule is the resource ``("monitoring-schedule", NAME)`` whose body has at least
  ``{"baseline": BASELINE, "endpoint": NAME | None, "dataset": "name[:version]" | None,
  "kinds": ["data_quality", "data_drift", "model_quality"]}``. A missing window side is
  open (captured requests with ``start <= time < end``). :func:`execution_spec` builds
  the :class:`~siklus.jobs.JobSpec`.
* Each execution appends an event to ``("monitoring-schedule", NAME)`` (on-demand runs:
  to ``("monitoring-baseline", BASELINE)``) with ``execution_id``, ``violations_count``,
  ``drifted_features``, ``paths`` (``statistics``, ``violations``, ``report`` files under
  ``.siklus/monitoring/executions/<id>/``) and ``artifacts`` (their sha256), and stores
  the resource ``("monitoring-execution", id)``.
* Metric series: namespace ``siklus/monitoring``, dimension ``schedule`` (scheduled) or
  ``endpoint``/``dataset`` (on demand), plus ``feature`` for per-feature series; names
  in :data:`DATASET_METRICS`, :data:`FEATURE_METRICS` and the model metrics of
  ``siklus.evaluation`` (``accuracy``, ``recall``, ``rmse``, ...). See
  ``docs/monitoring.md``.

Example:
    >>> from siklus.monitoring import build_baseline, run_monitoring
    >>> build_baseline(ctx, "bc.train", "bc", label="diagnosis", model="bc:1")  # doctest: +SKIP
    >>> result = run_monitoring(ctx, baseline="bc", endpoint="bc")  # doctest: +SKIP
    >>> result.violations  # doctest: +SKIP
"""

from __future__ import annotations

from siklus._lazy import lazy_exports

# Names resolve on first use: importing siklus.monitoring (as every scheduler tick and
# alarm job does) must not pay for SciPy and the drift code until they are needed.
_EXPORTS: dict[str, str] = {
    "Alarm": "siklus.monitoring.alarms",
    "AlarmState": "siklus.monitoring.alarms",
    "BASELINE_ENTRYPOINT": "siklus.monitoring.jobs",
    "BASELINE_KIND": "siklus.monitoring._baseline",
    "Baseline": "siklus.monitoring._baseline",
    "CHECK_TYPES": "siklus.monitoring._checks",
    "Constraints": "siklus.monitoring._constraints",
    "DATASET_METRICS": "siklus.monitoring._emit",
    "DRIFT_DEFAULTS": "siklus.monitoring._constraints",
    "DRIFT_METHODS": "siklus.monitoring._constraints",
    "EXECUTION_ENTRYPOINT": "siklus.monitoring.jobs",
    "EXECUTION_KIND": "siklus.monitoring._execution",
    "FEATURE_METRICS": "siklus.monitoring._emit",
    "FeatureDrift": "siklus.monitoring._checks",
    "GROUND_TRUTH_KIND": "siklus.monitoring._model_quality",
    "KINDS": "siklus.monitoring._execution",
    "MONITORING_CONFIG_DEFAULTS": "siklus.monitoring._constraints",
    "MonitoringResult": "siklus.monitoring._execution",
    "NAMESPACE": "siklus.monitoring._emit",
    "PSI_EPSILON": "siklus.monitoring._drift",
    "SCHEDULE_KIND": "siklus.monitoring._execution",
    "Schedule": "siklus.monitoring.scheduler",
    "alarm_history": "siklus.monitoring.alarms",
    "bin_counts": "siklus.monitoring._drift",
    "build_baseline": "siklus.monitoring._baseline",
    "chi_square": "siklus.monitoring._drift",
    "create_baseline": "siklus.monitoring.jobs",
    "create_schedule": "siklus.monitoring.scheduler",
    "delete_alarm": "siklus.monitoring.alarms",
    "delete_schedule": "siklus.monitoring.scheduler",
    "evaluate_alarm": "siklus.monitoring.alarms",
    "evaluate_alarms": "siklus.monitoring.alarms",
    "execution_spec": "siklus.monitoring.jobs",
    "get_alarm": "siklus.monitoring.alarms",
    "get_comparison": "siklus.monitoring.retrain",
    "get_execution": "siklus.monitoring._results",
    "get_schedule": "siklus.monitoring.scheduler",
    "ground_truth": "siklus.monitoring._model_quality",
    "jensen_shannon": "siklus.monitoring._drift",
    "ks_wasserstein": "siklus.monitoring._drift",
    "l_infinity": "siklus.monitoring._drift",
    "latest_execution": "siklus.monitoring._results",
    "list_alarms": "siklus.monitoring.alarms",
    "list_executions": "siklus.monitoring._results",
    "list_schedules": "siklus.monitoring.scheduler",
    "load_baseline": "siklus.monitoring._baseline",
    "load_report": "siklus.monitoring._results",
    "load_violations": "siklus.monitoring._results",
    "parse_constraints": "siklus.monitoring._constraints",
    "psi": "siklus.monitoring._drift",
    "put_alarm": "siklus.monitoring.alarms",
    "run_monitoring": "siklus.monitoring._execution",
    "run_now": "siklus.monitoring.scheduler",
    "run_scheduler": "siklus.monitoring.scheduler",
    "set_alarm_state": "siklus.monitoring.alarms",
    "set_constraints": "siklus.monitoring._baseline",
    "start_monitoring_job": "siklus.monitoring.jobs",
    "start_retraining": "siklus.monitoring.retrain",
    "tick": "siklus.monitoring.scheduler",
    "upload_ground_truth": "siklus.monitoring._model_quality",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = sorted(_EXPORTS)
