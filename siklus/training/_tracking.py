"""Forward a training job's metric series to ``siklus.experiments``, when both exist.

A training job is attached to an experiment run by ``parameters["run_id"]`` (or a
``SIKLUS_RUN_ID`` inherited from whoever submitted it). ``siklus.experiments`` offers
module-level ``log_metric(key, value, step=...)`` that writes to the run named by the
``SIKLUS_RUN_ID`` environment variable; this adapter sets that variable in the job process
and forwards each point.

Tracking is a side channel: when ``siklus.experiments`` is not installed, or logging a
point fails, the job still trains and stores its model; the failure is written to the job
log once and reported in the job outputs (``tracking``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

RUN_ID_ENV = "SIKLUS_RUN_ID"


def run_id_of(parameters: dict[str, Any]) -> str | None:
    """The run a job reports to: ``parameters["run_id"]``, else ``SIKLUS_RUN_ID``, else None."""
    run_id = parameters.get("run_id") or os.environ.get(RUN_ID_ENV)
    return str(run_id) if run_id else None


def _find_log_metric() -> Callable[..., Any] | None:
    try:
        experiments = importlib.import_module("siklus.experiments")
    except ModuleNotFoundError as exc:
        if exc.name in ("siklus.experiments", "siklus"):
            return None
        raise
    log_metric = getattr(experiments, "log_metric", None)
    return log_metric if callable(log_metric) else None


class Tracker:
    """Sends metric points to the attached experiment run, or nowhere.

    Args:
        run_id: The run to log to; None disables tracking.
        log: The job log, for the one warning a failure produces.
    """

    def __init__(self, run_id: str | None, log: logging.Logger) -> None:
        self.run_id = run_id
        self._log = log
        self._log_metric = _find_log_metric() if run_id else None
        self.status = "off" if run_id is None else "on"
        if run_id is not None and self._log_metric is None:
            self.status = "unavailable: siklus.experiments (log_metric) is not installed"
            log.info("Run %s: metrics not tracked (%s).", run_id, self.status)
        if self._log_metric is not None:
            os.environ[RUN_ID_ENV] = str(run_id)  # the experiments API attaches by env

    @property
    def active(self) -> bool:
        return self._log_metric is not None

    def log_metric(self, key: str, value: float | None, step: int | None = None) -> None:
        """Log one point; a None (non-finite) value is skipped."""
        if self._log_metric is None or value is None:
            return
        try:
            self._log_metric(key, value, step=step)
        except Exception as exc:  # tracking must never cost the trained model
            self.status = f"failed: {type(exc).__name__}: {exc}"
            self._log.warning("Run %s: tracking stopped, %s", self.run_id, self.status)
            self._log_metric = None

    def log_series(self, series: dict[str, list[tuple[int | None, float | None]]]) -> None:
        """Log whole series: ``{key: [(step, value), ...]}``."""
        for key, points in series.items():
            for step, value in points:
                self.log_metric(key, value, step)
        self.flush()

    def flush(self) -> None:
        """Write buffered points now: the job may be marked Completed (and its run ended
        by the submitter) before the interpreter's exit-time flush would run."""
        if self._log_metric is None:
            return
        flush = getattr(importlib.import_module("siklus.experiments"), "flush", None)
        if callable(flush):
            try:
                flush()
            except Exception as exc:  # tracking must never cost the trained model
                self.status = f"failed: {type(exc).__name__}: {exc}"
                self._log.warning("Run %s: tracking flush failed, %s", self.run_id, self.status)


__all__ = ["RUN_ID_ENV", "Tracker", "run_id_of"]
