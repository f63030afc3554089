"""The experiment-tracking half of the metadata-store contract.

:class:`~siklus.store.BaseStore` inherits it, so every backend keeps experiments, runs
and metric series too. Checked by ``siklus.testing.TrackingContract``.

Contract, on top of :class:`~siklus.store.BaseStore`'s:

- A run is created ``Running`` and ends once (``Completed``, ``Failed`` or ``Killed``).
  An ended run's metrics and params are final; its tags, artifacts and model link may
  still change (e.g. to mark the best run of a tuning job).
- :meth:`log_run_batch` is one transaction: the metric points, the run's latest-metric
  values, params, tags and (optionally) its end are all written or none is. Many
  processes may log into the same run at once; no point and no key is lost.
- ``metrics`` on a :class:`~siklus.store.Run` is the most recently logged value of each
  key (by flush order), NaN and ±inf included.
- Keys and values are checked with the rules of :mod:`siklus.store._run_values`;
  breaking them raises :class:`~siklus.exceptions.InvalidParameter`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from siklus.store._filter import RunFilter
from siklus.store.records import Experiment, MetricPoint, Run, RunStatus

#: ``(key, value, step, timestamp)``: one metric point as :meth:`log_run_batch` takes
#: it; ``timestamp`` is seconds since the epoch (``time.time()``).
MetricTuple = tuple[str, float, int, float]


class TrackingStore(abc.ABC):
    """Experiments, runs and metric series (SageMaker Experiments' model)."""

    # -- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def ensure_experiment(self, name: str, *, tags: Mapping[str, str] | None = None) -> Experiment:
        """Return experiment ``name``, creating it (with ``tags``) when missing.

        Safe when several processes create the same experiment at once: all get the
        same one.

        Raises:
            InvalidParameter: The name is empty or longer than 200 characters.
        """

    @abc.abstractmethod
    def get_experiment(self, name_or_id: str) -> Experiment:
        """Return the experiment with this name (or id).

        Raises:
            NotFound: No such experiment; the message lists the known ones.
        """

    @abc.abstractmethod
    def list_experiments(self) -> list[Experiment]:
        """All experiments, by name."""

    @abc.abstractmethod
    def count_runs(self) -> dict[str, int]:
        """Experiment id → number of runs (experiments without runs are left out)."""

    # -- runs --------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        job_id: str | None = None,
        inputs: Mapping[str, str] | None = None,
    ) -> Run:
        """Create a ``Running`` run in one transaction, with its first params and tags.

        Each input is also recorded as lineage (``dataset_version → run``, ``input``).

        Args:
            experiment_id: The experiment's id (see :meth:`ensure_experiment`).
            name: Defaults to ``<experiment>-<UTC timestamp>``.
            params: See :func:`~siklus.store._run_values.param_value` for what is kept.
            job_id: The job whose work this run records.
            inputs: Channel name → dataset version id.

        Raises:
            NotFound: The experiment, the job or a dataset version does not exist.
            InvalidParameter: A key or value breaks the rules.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Raises: NotFound."""

    @abc.abstractmethod
    def log_run_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[MetricTuple] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        artifacts: Mapping[str, str] | None = None,
        model_id: str | None = None,
        status: RunStatus | None = None,
        end_time: datetime | None = None,
    ) -> None:
        """Write everything a run logged since the last call, in one transaction.

        Metric points are appended in the given order; the run's latest value of each
        key becomes the last point of that key in ``metrics``. ``params``, ``tags`` and
        ``artifacts`` are merged over what the run has.

        Args:
            model_id: Link the run to the model it produced (also recorded as lineage
                ``run → model``, ``output``).
            status: End the run in this final status, in the same transaction, so a
                reader who sees it ended also sees everything it logged.
            end_time: When it ended (default: now); only with ``status``.

        Raises:
            NotFound: No such run, or ``model_id`` is not a model.
            InvalidState: Ending a run that has ended, or logging metrics or params into
                one.
            InvalidParameter: A key or value breaks the rules, or ``status`` is Running.
        """

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of metric ``key`` of the run, by step (then by logging order).

        Raises:
            NotFound: No such run.
        """

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str | RunFilter = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        """Runs of the experiments (all when None) that match ``filter``.

        The filter and the order are evaluated in the database. Runs without the key
        of an order-by clause come last; ties keep the newest run first.

        Args:
            filter: See :mod:`siklus.store._filter` (e.g.
                ``"metrics.accuracy > 0.9 and params.C = '1.0'"``).
            order_by: Clauses such as ``["metrics.accuracy DESC", "params.C"]``;
                default newest first.
            max_results: At most this many runs.

        Raises:
            InvalidParameter: The filter or an order-by clause does not parse, or
                ``max_results`` is not positive.
        """


__all__ = ["MetricTuple", "TrackingStore"]
