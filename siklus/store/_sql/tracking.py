"""Experiments, runs and metric series for :class:`~siklus.store._sql.store.SqlStore`.

A mixin, so the tracking half of the store lives in its own module. Two choices carry
the speed:

- a run's latest metrics, params and tags are JSON columns on its row, updated by the
  same transaction that appends the metric points, so search reads one row per run;
- :meth:`log_run_batch` writes a whole buffer of points with one ``executemany`` in one
  transaction. The run's row is read ``FOR UPDATE`` on PostgreSQL (SQLite's ``BEGIN
  IMMEDIATE`` already serialises writers), so concurrent batches into one run never
  lose each other's keys.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.store._filter import RunFilter, parse_order_by, parse_run_filter
from siklus.store._run_values import (
    check_key,
    decode_latest,
    encode_latest,
    metric_step,
    metric_value,
    param_value,
    tag_value,
)
from siklus.store._sql import models as m
from siklus.store._sql.bulk import PointRow, insert_points
from siklus.store._sql.search import order_clauses, where_clause
from siklus.store._tracking_base import MetricTuple
from siklus.store.records import Experiment, MetricPoint, Run, RunStatus

T = TypeVar("T")

_MAX_NAME = 200
_RUN_COLUMNS = (
    m.RunRow.id,
    m.RunRow.experiment_id,
    m.RunRow.name,
    m.RunRow.status,
    m.RunRow.params,
    m.RunRow.metrics,
    m.RunRow.tags,
    m.RunRow.job_id,
    m.RunRow.model_id,
    m.RunRow.inputs,
    m.RunRow.artifacts,
    m.RunRow.start_time,
    m.RunRow.end_time,
)

_INSERT_RUN = sa.insert(cast(sa.Table, m.RunRow.__table__))


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _check_name(what: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"The {what} name must be a non-empty string, got {name!r}.")
    if len(name) > _MAX_NAME:
        raise InvalidParameter(f"The {what} name {name[:40]!r}… is longer than {_MAX_NAME}.")
    return name


def _to_experiment(row: m.ExperimentRow) -> Experiment:
    return Experiment(id=row.id, name=row.name, tags=dict(row.tags), created_at=row.created_at)


def _to_run(row: Mapping[Any, Any], experiment: str) -> Run:
    """A :class:`Run` from the runs table's columns (a fetched row's ``_mapping``)."""
    return Run(
        id=row["id"],
        experiment_id=row["experiment_id"],
        experiment=experiment,
        name=row["name"],
        status=RunStatus(row["status"]),
        params=dict(row["params"]),
        metrics={key: decode_latest(value) for key, value in row["metrics"].items()},
        tags=dict(row["tags"]),
        job_id=row["job_id"],
        model_id=row["model_id"],
        inputs=dict(row["inputs"]),
        artifacts=dict(row["artifacts"]),
        start_time=row["start_time"],
        end_time=row["end_time"],
    )


def _clean(
    kind: str, values: Mapping[str, Any] | None, convert: Callable[[str, Any], Any]
) -> dict[str, Any]:
    return {check_key(kind, key): convert(key, value) for key, value in (values or {}).items()}


def _clean_points(run_id: str, points: Sequence[MetricTuple]) -> list[PointRow]:
    """Check every point and shape it as a row; each distinct key is checked once."""
    keys: set[str] = set()
    rows: list[PointRow] = []
    for key, value, step, timestamp in points:
        if key not in keys:
            keys.add(check_key("metric", key))
        number = value if type(value) is float else metric_value(key, value)
        rows.append(
            (
                run_id,
                key,
                None if number != number else number,  # NaN is stored as NULL
                step if type(step) is int else metric_step(key, step),
                float(timestamp),
            )
        )
    return rows


class TrackingMixin:
    """The :class:`~siklus.store._tracking_base.TrackingStore` methods on SQLAlchemy."""

    # Provided by SqlStore.
    _engine: sa.Engine
    _run: Callable[[Callable[[Session], Any]], Any]
    add_lineage: Callable[..., None]

    # -- experiments -------------------------------------------------------------------
    def ensure_experiment(self, name: str, *, tags: Mapping[str, str] | None = None) -> Experiment:
        _check_name("experiment", name)
        clean_tags = _clean("tag", tags, tag_value)
        E = m.ExperimentRow

        def ensure(session: Session) -> Experiment:
            row = session.scalars(sa.select(E).where(E.name == name)).first()
            if row is None:
                row = E(id=_new_id("exp"), name=name, tags=clean_tags, created_at=m.utcnow())
                session.add(row)
                session.flush()
            return _to_experiment(row)

        try:
            return self._run(ensure)  # type: ignore[no-any-return]
        except IntegrityError:  # created by another process just now: it exists
            return self._run(ensure)  # type: ignore[no-any-return]

    def get_experiment(self, name_or_id: str) -> Experiment:
        E = m.ExperimentRow
        stmt = sa.select(E).where(sa.or_(E.name == name_or_id, E.id == name_or_id))
        found = self._run(lambda s: s.scalars(stmt).first())
        if found is None:
            known = [e.name for e in self.list_experiments()]
            hint = f" Known experiments: {', '.join(known)}." if known else " There is none yet."
            raise NotFound(
                f"Experiment {name_or_id!r} does not exist.{hint} start_run("
                f"{name_or_id!r}) creates it."
            )
        return _to_experiment(found)

    def list_experiments(self) -> list[Experiment]:
        E = m.ExperimentRow
        stmt = sa.select(E).order_by(E.name)
        return self._run(lambda s: [_to_experiment(r) for r in s.scalars(stmt)])  # type: ignore[no-any-return]

    def count_runs(self) -> dict[str, int]:
        R = m.RunRow
        stmt = sa.select(R.experiment_id, sa.func.count()).group_by(R.experiment_id)
        return self._run(lambda s: {eid: int(n) for eid, n in s.execute(stmt)})  # type: ignore[no-any-return]

    def _experiment_name(self, session: Session, experiment_id: str) -> str:
        """The experiment's name, remembered: experiments are never renamed or deleted,
        so creating a run costs no extra query after the first in an experiment."""
        names: dict[str, str] = self.__dict__.setdefault("_experiment_name_cache", {})
        name = names.get(experiment_id)
        if name is None:
            row = session.get(m.ExperimentRow, experiment_id)
            if row is None:
                raise NotFound(
                    f"Experiment {experiment_id!r} does not exist; get one with "
                    "ensure_experiment(name)."
                )
            name = names[experiment_id] = row.name
        return name

    def _experiment_names(self, session: Session) -> dict[str, str]:
        E = m.ExperimentRow
        return {eid: name for eid, name in session.execute(sa.select(E.id, E.name))}

    # -- runs --------------------------------------------------------------------------
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
        if name is not None:
            _check_name("run", name)
        clean_params = _clean("param", params, param_value)
        clean_tags = _clean("tag", tags, tag_value)
        clean_inputs = _clean("input", inputs, lambda _k, v: str(v))
        start = m.utcnow()

        def add(session: Session) -> Run:
            experiment = self._experiment_name(session, experiment_id)
            if job_id is not None and session.get(m.JobRow, job_id) is None:
                raise NotFound(f"Job {job_id!r} does not exist; pass the id of a recorded job.")
            for channel, version_id in clean_inputs.items():
                if session.get(m.DatasetVersionRow, version_id) is None:
                    raise NotFound(
                        f"Input {channel!r}: dataset version {version_id!r} does not exist; "
                        "pass a DatasetVersion.id (see `siklus data list`)."
                    )
            values = {
                "id": _new_id("run"),
                "experiment_id": experiment_id,
                "name": name or f"{experiment}-{start:%Y%m%d-%H%M%S}",
                "status": RunStatus.RUNNING.value,
                "params": clean_params,
                "metrics": {},
                "tags": clean_tags,
                "inputs": clean_inputs,
                "artifacts": {},
                "job_id": job_id,
                "model_id": None,
                "start_time": start,
                "end_time": None,
            }
            session.execute(_INSERT_RUN, values)  # a constant statement: compiled once
            return _to_run(values, experiment)

        run: Run = self._run(add)
        for channel, version_id in clean_inputs.items():
            self.add_lineage(("dataset", version_id), ("run", run.id), f"input:{channel}")
        return run

    def get_run(self, run_id: str) -> Run:
        def get(session: Session) -> Run:
            row = session.execute(sa.select(*_RUN_COLUMNS).where(m.RunRow.id == run_id)).first()
            if row is None:
                raise NotFound(
                    f"Run {run_id!r} does not exist; find runs with `siklus runs search`."
                )
            experiment = session.get(m.ExperimentRow, row.experiment_id)
            return _to_run(row._mapping, experiment.name if experiment else row.experiment_id)

        return self._run(get)  # type: ignore[no-any-return]

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
        points = _clean_points(run_id, metrics)
        clean_params = _clean("param", params, param_value)
        clean_tags = _clean("tag", tags, tag_value)
        clean_artifacts = _clean("artifact", artifacts, lambda _k, v: str(v))
        final = RunStatus(status) if status is not None else None
        if final is RunStatus.RUNNING:
            raise InvalidParameter(f"Run {run_id}: a run can only end in a final status.")
        R = m.RunRow
        nothing_else = not (points or clean_params or clean_tags or clean_artifacts or model_id)
        if final is not None and nothing_else and self._end_only(run_id, final, end_time):
            return

        def write(session: Session) -> None:
            stmt = sa.select(R.status, R.metrics, R.params, R.tags, R.artifacts).where(
                R.id == run_id
            )
            row = session.execute(stmt.with_for_update()).first()
            if row is None:
                raise NotFound(f"Run {run_id!r} does not exist.")
            current = RunStatus(row.status)
            if current.is_final and (final is not None or points or clean_params):
                raise InvalidState(
                    f"Run {run_id} has ended ({current.value}); its metrics and params are "
                    "final. Start a new run to log more."
                )
            if model_id is not None and session.get(m.ModelRow, model_id) is None:
                raise NotFound(f"Model {model_id!r} does not exist; pass a recorded Model.id.")
            values: dict[str, Any] = {}
            if points:
                insert_points(session.connection(), points)
                latest = dict(row.metrics)
                for _, key, value, _, _ in points:  # in logging order: the last one wins
                    latest[key] = encode_latest(math.nan if value is None else value)
                values["metrics"] = latest
            if clean_params:
                values["params"] = {**row.params, **clean_params}
            if clean_tags:
                values["tags"] = {**row.tags, **clean_tags}
            if clean_artifacts:
                values["artifacts"] = {**row.artifacts, **clean_artifacts}
            if model_id is not None:
                values["model_id"] = model_id
            if final is not None:
                values["status"] = final.value
                values["end_time"] = (end_time or m.utcnow()).astimezone(UTC)
            if values:
                session.execute(sa.update(R).where(R.id == run_id).values(**values))

        self._run(write)
        if model_id is not None:
            self.add_lineage(("run", run_id), ("model", model_id), "output")

    def _end_only(self, run_id: str, status: RunStatus, end_time: datetime | None) -> bool:
        """End a running run with one UPDATE (the common ``end()`` with an empty buffer).

        Returns False when no running run matched; the general path then says why.
        """
        R = m.RunRow
        stmt = (
            sa.update(R)
            .where(R.id == run_id, R.status == RunStatus.RUNNING.value)
            .values(status=status.value, end_time=(end_time or m.utcnow()).astimezone(UTC))
        )
        return bool(self._run(lambda s: s.execute(stmt).rowcount))

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        M = m.MetricRow
        stmt = (
            sa.select(M.value, M.step, M.timestamp)
            .where(M.run_id == run_id, M.key == key)
            .order_by(M.step, M.id)
        )

        def history(session: Session) -> list[MetricPoint]:
            if session.get(m.RunRow, run_id) is None:
                raise NotFound(f"Run {run_id!r} does not exist.")
            return [
                MetricPoint(
                    key=key,
                    value=math.nan if value is None else float(value),
                    step=int(step),
                    timestamp=datetime.fromtimestamp(timestamp, UTC),
                )
                for value, step, timestamp in session.execute(stmt)
            ]

        return self._run(history)  # type: ignore[no-any-return]

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str | RunFilter = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        if not isinstance(max_results, int) or max_results < 1:
            raise InvalidParameter(f"max_results must be a positive integer, got {max_results!r}.")
        parsed = parse_run_filter(filter)
        order = parse_order_by(list(order_by or []))
        dialect = self._engine.dialect.name
        stmt = sa.select(*_RUN_COLUMNS)
        if experiment_ids is not None:
            stmt = stmt.where(m.RunRow.experiment_id.in_(list(experiment_ids)))
        if parsed.root is not None:
            stmt = stmt.where(where_clause(dialect, parsed.root))
        stmt = stmt.order_by(*order_clauses(dialect, order)).limit(max_results)

        def search(session: Session) -> list[Run]:
            names = self._experiment_names(session)
            return [
                _to_run(row._mapping, names.get(row.experiment_id, ""))
                for row in session.execute(stmt)
            ]

        return self._run(search)  # type: ignore[no-any-return]


__all__ = ["TrackingMixin"]
