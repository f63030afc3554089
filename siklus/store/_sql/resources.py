"""Resources, events, claims and metric data for :class:`~siklus.store._sql.store.SqlStore`.

A mixin, like :mod:`siklus.store._sql.tracking`. Revisions are checked inside the
writing transaction (SQLite's ``BEGIN IMMEDIATE`` serialises writers; PostgreSQL reads the
row ``FOR UPDATE``), so two writers holding the same revision cannot both win.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siklus.exceptions import AlreadyExists, InvalidParameter, InvalidState, NotFound
from siklus.store._sql import models as m
from siklus.store.records import MetricDatum, Resource, ResourceEvent

_INSERT_POINT = sa.insert(cast(sa.Table, m.MetricDataRow.__table__))


def _check(what: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(f"The resource {what} must be a non-empty string, got {value!r}.")
    if len(value) > limit:
        raise InvalidParameter(f"The resource {what} {value[:40]!r}… is longer than {limit}.")
    return value


def _json_body(kind: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidParameter(f"The body of {kind} {name!r} must be a mapping, got {body!r}.")
    try:
        return cast(dict[str, Any], json.loads(json.dumps(dict(body), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(
            f"The body of {kind} {name!r} is not JSON-serialisable: {exc}. Store numbers, "
            "strings, booleans, None, lists and mappings only (convert datetimes to ISO text)."
        ) from exc


def _dimensions_key(dimensions: Mapping[str, str] | None) -> str:
    clean = {str(k): str(v) for k, v in (dimensions or {}).items()}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def _to_resource(row: m.ResourceRow) -> Resource:
    return Resource(
        kind=row.kind,
        name=row.name,
        revision=row.revision,
        body=dict(row.body),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _to_event(row: m.ResourceEventRow) -> ResourceEvent:
    return ResourceEvent(
        seq=row.id, kind=row.kind, name=row.name, body=dict(row.body), created_at=row.created_at
    )


class ResourceMixin:
    """The :class:`~siklus.store._resources_base.ResourceStore` methods on SQLAlchemy."""

    _run: Callable[[Callable[[Session], Any]], Any]

    # -- resources ---------------------------------------------------------------------
    def put_resource(
        self,
        kind: str,
        name: str,
        body: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> Resource:
        _check("kind", kind, 100)
        _check("name", name, 400)
        doc = _json_body(kind, name, body)
        if expected_revision is not None and (
            not isinstance(expected_revision, int) or expected_revision < 0
        ):
            raise InvalidParameter(
                f"expected_revision must be None, 0 (create only) or a revision, got "
                f"{expected_revision!r}."
            )
        R = m.ResourceRow

        def put(session: Session) -> Resource:
            stmt = sa.select(R).where(R.kind == kind, R.name == name)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            row = session.scalars(stmt).first()
            now = m.utcnow()
            if row is None:
                if expected_revision not in (None, 0):
                    raise InvalidState(
                        f"{kind} {name!r} does not exist (expected revision "
                        f"{expected_revision}); it was deleted meanwhile."
                    )
                row = R(kind=kind, name=name, revision=1, body=doc, created_at=now, updated_at=now)
                session.add(row)
            else:
                if expected_revision == 0:
                    raise AlreadyExists(f"{kind} {name!r} already exists.")
                if expected_revision is not None and row.revision != expected_revision:
                    raise InvalidState(
                        f"{kind} {name!r} is at revision {row.revision}, not "
                        f"{expected_revision}: someone else changed it. Re-read and retry."
                    )
                row.revision += 1
                row.body = doc
                row.updated_at = now
            session.flush()
            return _to_resource(row)

        try:
            return cast(Resource, self._run(put))
        except IntegrityError as exc:  # created concurrently by another writer
            if expected_revision is None:
                return cast(Resource, self._run(put))
            raise AlreadyExists(f"{kind} {name!r} already exists.") from exc

    def get_resource(self, kind: str, name: str) -> Resource:
        R = m.ResourceRow
        row = self._run(lambda s: s.get(R, (kind, name)))
        if row is None:
            known = [r.name for r in self.list_resources(kind)][:20]
            hint = f" Known: {', '.join(known)}." if known else f" There is no {kind} yet."
            raise NotFound(f"{kind} {name!r} does not exist.{hint}")
        return _to_resource(row)

    def list_resources(self, kind: str, *, prefix: str | None = None) -> list[Resource]:
        R = m.ResourceRow
        stmt = sa.select(R).where(R.kind == kind).order_by(R.name)
        if prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(R.name.like(escaped + "%", escape="\\"))
        return cast(list[Resource], self._run(lambda s: [_to_resource(r) for r in s.scalars(stmt)]))

    def delete_resource(self, kind: str, name: str) -> None:
        R = m.ResourceRow

        def delete(session: Session) -> int:
            result = session.execute(sa.delete(R).where(R.kind == kind, R.name == name))
            return int(result.rowcount)  # type: ignore[attr-defined]

        if self._run(delete) == 0:
            raise NotFound(f"{kind} {name!r} does not exist.")

    # -- events ------------------------------------------------------------------------
    def append_event(self, kind: str, name: str, body: Mapping[str, Any]) -> ResourceEvent:
        _check("kind", kind, 100)
        _check("name", name, 400)
        doc = _json_body(kind, name, body)

        def append(session: Session) -> ResourceEvent:
            row = m.ResourceEventRow(kind=kind, name=name, body=doc, created_at=m.utcnow())
            session.add(row)
            session.flush()
            return _to_event(row)

        return cast(ResourceEvent, self._run(append))

    def list_events(
        self,
        kind: str,
        name: str | None = None,
        *,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[ResourceEvent]:
        E = m.ResourceEventRow
        stmt = sa.select(E).where(E.kind == kind, E.id > after_seq).order_by(E.id)
        if name is not None:
            stmt = stmt.where(E.name == name)
        if limit is not None:
            stmt = stmt.limit(limit)
        return cast(
            list[ResourceEvent], self._run(lambda s: [_to_event(r) for r in s.scalars(stmt)])
        )

    # -- claims ------------------------------------------------------------------------
    def claim(self, key: str, owner: str) -> bool:
        _check("claim key", key, 400)

        def take(session: Session) -> None:
            session.add(m.ClaimRow(key=key, owner=str(owner)[:200], created_at=m.utcnow()))
            session.flush()

        try:
            self._run(take)
        except IntegrityError:
            return False
        return True

    # -- metric data -------------------------------------------------------------------
    def put_metric_data(
        self,
        namespace: str,
        metric: str,
        points: Sequence[tuple[float, float]],
        *,
        dimensions: Mapping[str, str] | None = None,
    ) -> int:
        _check("metric namespace", namespace, 200)
        _check("metric name", metric, 250)
        dims = _dimensions_key(dimensions)
        rows = []
        for point in points:
            try:
                timestamp, value = float(point[0]), float(point[1])
            except (TypeError, ValueError, IndexError) as exc:
                raise InvalidParameter(
                    f"Metric {namespace}/{metric}: each point must be (timestamp, value) "
                    f"numbers, got {point!r}."
                ) from exc
            if not math.isfinite(timestamp) or math.isnan(value):
                raise InvalidParameter(
                    f"Metric {namespace}/{metric}: point {point!r} has a non-finite "
                    "timestamp or a NaN value."
                )
            rows.append(
                {
                    "namespace": namespace,
                    "metric": metric,
                    "dimensions": dims,
                    "timestamp": timestamp,
                    "value": value,
                }
            )
        if rows:
            self._run(lambda s: s.execute(_INSERT_POINT, rows))
        return len(rows)

    def get_metric_data(
        self,
        namespace: str,
        metric: str,
        *,
        dimensions: Mapping[str, str] | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[MetricDatum]:
        D = m.MetricDataRow
        dims = _dimensions_key(dimensions)
        stmt = (
            sa.select(D.timestamp, D.value)
            .where(D.namespace == namespace, D.metric == metric, D.dimensions == dims)
            .order_by(D.timestamp, D.id)
        )
        if start is not None:
            stmt = stmt.where(D.timestamp >= start)
        if end is not None:
            stmt = stmt.where(D.timestamp < end)
        parsed = json.loads(dims)
        return cast(
            list[MetricDatum],
            self._run(
                lambda s: [
                    MetricDatum(namespace, metric, dict(parsed), float(t), float(v))
                    for t, v in s.execute(stmt)
                ]
            ),
        )

    def list_metric_series(
        self, namespace: str | None = None
    ) -> list[tuple[str, str, dict[str, str]]]:
        D = m.MetricDataRow
        stmt = sa.select(D.namespace, D.metric, D.dimensions).distinct()
        if namespace is not None:
            stmt = stmt.where(D.namespace == namespace)
        found = self._run(lambda s: list(s.execute(stmt)))
        return [(ns, metric, json.loads(dims)) for ns, metric, dims in sorted(found)]
