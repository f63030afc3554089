"""The SQLAlchemy implementation of :class:`siklus.store.BaseStore`.

SQLite (the embedded default) runs in WAL mode with a long busy timeout so several
processes (jobs, endpoints, the CLI) share one database file without "database is
locked"; PostgreSQL is the same code through psycopg.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from siklus.exceptions import AlreadyExists, InvalidState, NotFound, StoreError
from siklus.store._base import BaseStore
from siklus.store._sql import models as m
from siklus.store._sql.fork import forget_connections_after_fork
from siklus.store._sql.migrate import upgrade_to_head
from siklus.store._sql.resources import ResourceMixin
from siklus.store._sql.tracking import TrackingMixin
from siklus.store.records import (
    JOB_TRANSITIONS,
    ApprovalStatus,
    DatasetVersion,
    Endpoint,
    EndpointStatus,
    Evaluation,
    Job,
    JobStatus,
    LineageEdge,
    Model,
    ModelPackage,
    ModelPackageGroup,
)

T = TypeVar("T")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # busy_timeout first, so that everything after it waits for a lock instead of failing.
    cursor.execute("PRAGMA busy_timeout=60000")
    _enable_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _enable_wal(cursor: Any, attempts: int = 200) -> None:
    """Switch a SQLite database to WAL once; later connections only read the mode.

    Switching needs an exclusive lock, and when several processes open a new database at
    the same moment SQLite can answer "database is locked" without consulting the busy
    handler. The mode is persistent, so the switch is retried briefly until one opener
    has made it.
    """
    for attempt in range(attempts):
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _begin_immediate(conn: sa.Connection) -> None:
    # Take SQLite's write lock at BEGIN, not at the first write: a deferred transaction
    # that reads then writes can fail with SQLITE_BUSY without waiting on busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _serialize_on(session: Session, key: str) -> None:
    """Make transactions that allocate the next version under ``key`` take turns.

    Versions are numbered max + 1. On PostgreSQL, concurrent writers would read the same
    max, collide on the unique constraint and run out of retries; a transaction-scoped
    advisory lock (released at commit) queues them instead. SQLite needs nothing here:
    ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(key.encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})


def make_engine(url: str) -> sa.Engine:
    """Create an engine with siklus' connection settings for the URL's dialect."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = sa_url.database in (None, "", ":memory:")
        # A file database keeps its connections: opening one costs the pragmas, and
        # closing the last one checkpoints the WAL, about 1 ms per transaction in all.
        # Idle pooled connections hold no transaction, so they block no writer.
        engine = sa.create_engine(
            sa_url,
            connect_args={"timeout": 60, "isolation_level": None, "check_same_thread": False},
            **(
                {"poolclass": sa.NullPool}
                if in_memory
                else {"poolclass": sa.pool.QueuePool, "pool_size": 5, "max_overflow": -1}
            ),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return forget_connections_after_fork(engine)
    return forget_connections_after_fork(sa.create_engine(sa_url, pool_pre_ping=True))


def _to_dataset(row: m.DatasetVersionRow) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        name=row.name,
        version=row.version,
        sha256=row.sha256,
        schema=list(row.schema),
        row_count=row.row_count,
        size_bytes=row.size_bytes,
        source=row.source,
        parent_id=row.parent_id,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def _to_job(row: m.JobRow) -> Job:
    return Job(
        id=row.id,
        name=row.name,
        kind=row.kind,
        entrypoint=row.entrypoint,
        inputs=dict(row.inputs),
        parameters=dict(row.parameters),
        resources=dict(row.resources),
        tags=dict(row.tags),
        status=JobStatus(row.status),
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        pid=row.pid,
        pid_started_at=row.pid_started_at,
        host=row.host,
        log_path=row.log_path,
        outputs=dict(row.outputs),
        wall_seconds=row.wall_seconds,
        cpu_seconds=row.cpu_seconds,
        peak_rss_bytes=row.peak_rss_bytes,
        stop_requested=bool(row.stop_requested),
    )


def _to_model(row: m.ModelRow) -> Model:
    return Model(
        id=row.id,
        name=row.name,
        sha256=row.sha256,
        manifest=dict(row.manifest),
        training_job_id=row.training_job_id,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def _to_evaluation(row: m.EvaluationRow) -> Evaluation:
    return Evaluation(
        id=row.id,
        model_id=row.model_id,
        dataset_version_id=row.dataset_version_id,
        split=row.split,
        metrics=dict(row.metrics),
        verdict=dict(row.verdict) if row.verdict is not None else None,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def _to_group(row: m.ModelPackageGroupRow) -> ModelPackageGroup:
    return ModelPackageGroup(
        name=row.name,
        description=row.description,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def _to_package(row: m.ModelPackageRow) -> ModelPackage:
    return ModelPackage(
        id=row.id,
        group=row.group_name,
        version=row.version,
        model_id=row.model_id,
        approval_status=ApprovalStatus(row.approval_status),
        status_reason=row.status_reason,
        status_by=row.status_by,
        status_at=row.status_at,
        metrics=dict(row.metrics),
        description=row.description,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def _to_endpoint(row: m.EndpointRow) -> Endpoint:
    return Endpoint(
        name=row.name,
        model_package_id=row.model_package_id,
        status=EndpointStatus(row.status),
        host=row.host,
        port=row.port,
        pid=row.pid,
        pid_started_at=row.pid_started_at,
        failure_reason=row.failure_reason,
        log_path=row.log_path,
        tags=dict(row.tags),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _to_edge(row: m.LineageEdgeRow) -> LineageEdge:
    return LineageEdge(
        source_type=row.source_type,
        source_id=row.source_id,
        target_type=row.target_type,
        target_id=row.target_id,
        relation=row.relation,
        created_at=row.created_at,
    )


class SqlStore(TrackingMixin, ResourceMixin, BaseStore):
    """Metadata store on any SQLAlchemy database; see :class:`BaseStore` for the contract.

    Experiments, runs and metric series are implemented in
    :class:`~siklus.store._sql.tracking.TrackingMixin`.

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:////path/siklus.db`` or
            ``postgresql+psycopg://user:password@localhost/siklus``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine = make_engine(url)
            upgrade_to_head(self._engine)
        except ModuleNotFoundError as exc:
            extra = {"postgresql": "siklus[postgres]"}.get(sa.make_url(url).get_backend_name())
            hint = f"pip install '{extra}'" if extra else f"pip install {exc.name}"
            raise StoreError(
                f"The database driver {exc.name!r} for {sa.make_url(url).drivername} is not "
                f"installed. Install it with: {hint}."
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(
                f"Cannot open the metadata store at {sa.make_url(url).render_as_string()}: "
                f"{exc.__class__.__name__}: {exc}. Check SIKLUS_DATABASE_URL and that the "
                "database server is running."
            ) from exc
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise StoreError(f"Metadata store error: {exc.orig}") from exc

    def _run(self, fn: Callable[[Session], T]) -> T:
        with self._session() as session:
            return fn(session)

    @staticmethod
    def _one(session: Session, stmt: sa.Select[Any], what: str) -> Any:
        row = session.scalars(stmt.limit(1)).first()
        if row is None:
            raise NotFound(f"{what} does not exist.")
        return row

    # -- datasets --------------------------------------------------------------------
    def add_dataset_version(
        self,
        name: str,
        *,
        sha256: str,
        schema: list[dict[str, Any]],
        row_count: int,
        size_bytes: int,
        source: str,
        parent_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        D = m.DatasetVersionRow

        def add(session: Session) -> tuple[DatasetVersion, bool]:
            _serialize_on(session, f"dataset_versions:{name}")
            same = session.scalars(sa.select(D).where(D.name == name, D.sha256 == sha256)).first()
            if same is not None:
                return _to_dataset(same), False
            latest = session.scalar(sa.select(sa.func.max(D.version)).where(D.name == name))
            row = D(
                id=new_id("ds"),
                name=name,
                version=(latest or 0) + 1,
                sha256=sha256,
                schema=schema,
                row_count=row_count,
                size_bytes=size_bytes,
                source=source,
                parent_id=parent_id,
                tags=dict(tags or {}),
                created_at=m.utcnow(),
            )
            session.add(row)
            session.flush()
            return _to_dataset(row), True

        for _attempt in range(5):
            try:
                return self._run(add)
            except IntegrityError:
                continue  # a concurrent writer took the version number: read again
        raise StoreError(f"Could not add a version of dataset {name!r}: too much contention.")

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        D = m.DatasetVersionRow
        stmt = sa.select(D).where(D.name == name)
        if version is None:
            stmt = stmt.order_by(D.version.desc())
            what = f"Dataset {name!r}"
        else:
            stmt = stmt.where(D.version == version)
            what = f"Version {version} of dataset {name!r}"
        try:
            return self._run(lambda s: _to_dataset(self._one(s, stmt, what)))
        except NotFound:
            known = sorted({d.name for d in self.list_dataset_versions()})
            hint = f" Known datasets: {', '.join(known)}." if known else " No dataset yet."
            raise NotFound(
                f"{what} does not exist.{hint} Create one with `siklus data ingest`."
            ) from None

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        D = m.DatasetVersionRow
        stmt = sa.select(D).where(D.id == version_id)
        return self._run(
            lambda s: _to_dataset(self._one(s, stmt, f"Dataset version {version_id!r}"))
        )

    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        D = m.DatasetVersionRow
        stmt = sa.select(D).order_by(D.name, D.version)
        if name is not None:
            stmt = stmt.where(D.name == name)
        return self._run(lambda s: [_to_dataset(r) for r in s.scalars(stmt)])

    # -- jobs ------------------------------------------------------------------------
    def create_job(
        self,
        *,
        name: str,
        kind: str,
        entrypoint: str,
        inputs: dict[str, Any],
        parameters: dict[str, Any],
        resources: dict[str, Any],
        tags: dict[str, str],
    ) -> Job:
        def add(session: Session) -> Job:
            row = m.JobRow(
                id=new_id("job"),
                name=name,
                kind=kind,
                entrypoint=entrypoint,
                inputs=inputs,
                parameters=parameters,
                resources=resources,
                tags=tags,
                status=JobStatus.PENDING.value,
                created_at=m.utcnow(),
                outputs={},
                stop_requested=False,
            )
            session.add(row)
            session.flush()
            return _to_job(row)

        return self._run(add)

    def get_job(self, job_id: str) -> Job:
        stmt = sa.select(m.JobRow).where(m.JobRow.id == job_id)
        return self._run(lambda s: _to_job(self._one(s, stmt, f"Job {job_id!r}")))

    def list_jobs(
        self, *, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[Job]:
        J = m.JobRow
        stmt = sa.select(J).order_by(J.created_at.desc()).limit(limit)
        if kind is not None:
            stmt = stmt.where(J.kind == kind)
        if status is not None:
            stmt = stmt.where(J.status == JobStatus(status).value)
        return self._run(lambda s: [_to_job(r) for r in s.scalars(stmt)])

    def transition_job(
        self,
        job_id: str,
        to: JobStatus,
        *,
        expected: JobStatus | None = None,
        failure_reason: str | None = None,
        **fields: Any,
    ) -> Job:
        to = JobStatus(to)

        def move(session: Session) -> Job:
            row = self._one(
                session,
                sa.select(m.JobRow).where(m.JobRow.id == job_id).with_for_update(),
                f"Job {job_id!r}",
            )
            current = JobStatus(row.status)
            if expected is not None and current != expected:
                raise InvalidState(
                    f"Job {job_id} is {current.value}, not {JobStatus(expected).value}."
                )
            if to not in JOB_TRANSITIONS[current]:
                raise InvalidState(
                    f"Job {job_id} cannot go from {current.value} to {to.value}"
                    + (" (it has ended)." if current.is_final else ".")
                )
            row.status = to.value
            now = m.utcnow()
            if to == JobStatus.IN_PROGRESS and row.started_at is None:
                row.started_at = now
            if to.is_final:
                row.ended_at = now
            if failure_reason is not None:
                row.failure_reason = failure_reason
            for key, value in fields.items():
                setattr(row, key, value)
            session.flush()
            return _to_job(row)

        return self._run(move)

    _JOB_MUTABLE = frozenset(
        {
            "pid",
            "pid_started_at",
            "host",
            "log_path",
            "outputs",
            "wall_seconds",
            "cpu_seconds",
            "peak_rss_bytes",
            "stop_requested",
        }
    )

    def update_job(self, job_id: str, **fields: Any) -> Job:
        unknown = set(fields) - self._JOB_MUTABLE
        if unknown:
            raise ValueError(f"update_job cannot set {sorted(unknown)}; use transition_job")

        def update(session: Session) -> Job:
            stmt = sa.select(m.JobRow).where(m.JobRow.id == job_id)
            row = self._one(session, stmt, f"Job {job_id!r}")
            for key, value in fields.items():
                setattr(row, key, value)
            session.flush()
            return _to_job(row)

        return self._run(update)

    # -- models and evaluations -------------------------------------------------------
    def create_model(
        self,
        *,
        name: str,
        sha256: str,
        manifest: dict[str, Any],
        training_job_id: str | None,
        tags: dict[str, str],
    ) -> Model:
        def add(session: Session) -> Model:
            row = m.ModelRow(
                id=new_id("model"),
                name=name,
                sha256=sha256,
                manifest=manifest,
                training_job_id=training_job_id,
                tags=tags,
                created_at=m.utcnow(),
            )
            session.add(row)
            session.flush()
            return _to_model(row)

        return self._run(add)

    def get_model(self, model_id: str) -> Model:
        stmt = sa.select(m.ModelRow).where(m.ModelRow.id == model_id)
        return self._run(lambda s: _to_model(self._one(s, stmt, f"Model {model_id!r}")))

    def list_models(self, name: str | None = None) -> list[Model]:
        stmt = sa.select(m.ModelRow).order_by(m.ModelRow.created_at.desc())
        if name is not None:
            stmt = stmt.where(m.ModelRow.name == name)
        return self._run(lambda s: [_to_model(r) for r in s.scalars(stmt)])

    def create_evaluation(
        self,
        *,
        model_id: str,
        dataset_version_id: str,
        split: str,
        metrics: dict[str, Any],
        verdict: dict[str, Any] | None,
        tags: dict[str, str],
    ) -> Evaluation:
        def add(session: Session) -> Evaluation:
            row = m.EvaluationRow(
                id=new_id("eval"),
                model_id=model_id,
                dataset_version_id=dataset_version_id,
                split=split,
                metrics=metrics,
                verdict=verdict,
                tags=tags,
                created_at=m.utcnow(),
            )
            session.add(row)
            session.flush()
            return _to_evaluation(row)

        return self._run(add)

    def list_evaluations(self, model_id: str | None = None) -> list[Evaluation]:
        E = m.EvaluationRow
        stmt = sa.select(E).order_by(E.created_at.desc())
        if model_id is not None:
            stmt = stmt.where(E.model_id == model_id)
        return self._run(lambda s: [_to_evaluation(r) for r in s.scalars(stmt)])

    # -- model registry ------------------------------------------------------------------
    def ensure_model_package_group(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelPackageGroup:
        G = m.ModelPackageGroupRow

        def ensure(session: Session) -> ModelPackageGroup:
            row = session.get(G, name)
            if row is None:
                row = G(
                    name=name, description=description, tags=dict(tags or {}), created_at=m.utcnow()
                )
                session.add(row)
                session.flush()
            return _to_group(row)

        try:
            return self._run(ensure)
        except IntegrityError:  # created concurrently: it exists now
            return self._run(ensure)

    def list_model_package_groups(self) -> list[ModelPackageGroup]:
        G = m.ModelPackageGroupRow
        return self._run(lambda s: [_to_group(r) for r in s.scalars(sa.select(G).order_by(G.name))])

    def create_model_package(
        self,
        group: str,
        *,
        model_id: str,
        metrics: dict[str, Any],
        description: str,
        tags: dict[str, str],
    ) -> ModelPackage:
        P = m.ModelPackageRow

        def add(session: Session) -> ModelPackage:
            _serialize_on(session, f"model_packages:{group}")
            if session.get(m.ModelPackageGroupRow, group) is None:
                raise NotFound(f"Model package group {group!r} does not exist.")
            if session.get(m.ModelRow, model_id) is None:
                raise NotFound(f"Model {model_id!r} does not exist.")
            latest = session.scalar(sa.select(sa.func.max(P.version)).where(P.group_name == group))
            row = P(
                id=new_id("pkg"),
                group_name=group,
                version=(latest or 0) + 1,
                model_id=model_id,
                approval_status=ApprovalStatus.PENDING.value,
                metrics=metrics,
                description=description,
                tags=tags,
                created_at=m.utcnow(),
            )
            session.add(row)
            session.flush()
            return _to_package(row)

        for _attempt in range(5):
            try:
                return self._run(add)
            except IntegrityError:
                continue
        raise StoreError(f"Could not add a version to group {group!r}: too much contention.")

    def get_model_package(self, group: str, version: int | None = None) -> ModelPackage:
        P = m.ModelPackageRow
        stmt = sa.select(P).where(P.group_name == group)
        if version is None:
            stmt = stmt.order_by(P.version.desc())
            what = f"Model package group {group!r} (or it has no versions)"
        else:
            stmt = stmt.where(P.version == version)
            what = f"Version {version} of model package group {group!r}"
        return self._run(lambda s: _to_package(self._one(s, stmt, what)))

    def get_model_package_by_id(self, package_id: str) -> ModelPackage:
        stmt = sa.select(m.ModelPackageRow).where(m.ModelPackageRow.id == package_id)
        return self._run(lambda s: _to_package(self._one(s, stmt, f"Model package {package_id!r}")))

    def list_model_packages(self, group: str | None = None) -> list[ModelPackage]:
        P = m.ModelPackageRow
        stmt = sa.select(P).order_by(P.group_name, P.version)
        if group is not None:
            stmt = stmt.where(P.group_name == group)
        return self._run(lambda s: [_to_package(r) for r in s.scalars(stmt)])

    def set_approval(
        self, package_id: str, status: ApprovalStatus, *, reason: str | None, by: str | None
    ) -> ModelPackage:
        status = ApprovalStatus(status)

        def update(session: Session) -> ModelPackage:
            stmt = sa.select(m.ModelPackageRow).where(m.ModelPackageRow.id == package_id)
            row = self._one(session, stmt, f"Model package {package_id!r}")
            row.approval_status = status.value
            row.status_reason = reason
            row.status_by = by
            row.status_at = m.utcnow()
            session.flush()
            return _to_package(row)

        return self._run(update)

    # -- endpoints ---------------------------------------------------------------------
    def create_endpoint(
        self, name: str, *, model_package_id: str, tags: dict[str, str], log_path: str | None
    ) -> Endpoint:
        def add(session: Session) -> Endpoint:
            row = session.get(m.EndpointRow, name)
            now = m.utcnow()
            if row is not None and row.status != EndpointStatus.DELETED.value:
                raise AlreadyExists(
                    f"Endpoint {name!r} already exists ({row.status}). Delete it first with "
                    f"`siklus endpoints delete {name}` or choose another name."
                )
            if row is None:
                row = m.EndpointRow(name=name, created_at=now)
                session.add(row)
            row.model_package_id = model_package_id
            row.status = EndpointStatus.CREATING.value
            row.host = row.port = row.pid = row.pid_started_at = row.failure_reason = None
            row.log_path = log_path
            row.tags = tags
            row.created_at = now
            row.updated_at = now
            session.flush()
            return _to_endpoint(row)

        try:
            return self._run(add)
        except IntegrityError:
            raise AlreadyExists(f"Endpoint {name!r} was just created by someone else.") from None

    def get_endpoint(self, name: str) -> Endpoint:
        stmt = sa.select(m.EndpointRow).where(m.EndpointRow.name == name)
        return self._run(lambda s: _to_endpoint(self._one(s, stmt, f"Endpoint {name!r}")))

    def list_endpoints(self, *, include_deleted: bool = False) -> list[Endpoint]:
        E = m.EndpointRow
        stmt = sa.select(E).order_by(E.name)
        if not include_deleted:
            stmt = stmt.where(E.status != EndpointStatus.DELETED.value)
        return self._run(lambda s: [_to_endpoint(r) for r in s.scalars(stmt)])

    _ENDPOINT_MUTABLE = frozenset(
        {
            "status",
            "host",
            "port",
            "pid",
            "pid_started_at",
            "failure_reason",
            "log_path",
            "model_package_id",
        }
    )

    def update_endpoint(self, name: str, **fields: Any) -> Endpoint:
        unknown = set(fields) - self._ENDPOINT_MUTABLE
        if unknown:
            raise ValueError(f"update_endpoint cannot set {sorted(unknown)}")

        def update(session: Session) -> Endpoint:
            stmt = sa.select(m.EndpointRow).where(m.EndpointRow.name == name)
            row = self._one(session, stmt, f"Endpoint {name!r}")
            for key, value in fields.items():
                if isinstance(value, EndpointStatus):
                    value = value.value
                setattr(row, key, value)
            row.updated_at = m.utcnow()
            session.flush()
            return _to_endpoint(row)

        return self._run(update)

    # -- lineage -----------------------------------------------------------------------
    def add_lineage(self, source: tuple[str, str], target: tuple[str, str], relation: str) -> None:
        L = m.LineageEdgeRow

        def add(session: Session) -> None:
            exists = session.scalars(
                sa.select(L.id).where(
                    L.source_type == source[0],
                    L.source_id == source[1],
                    L.target_type == target[0],
                    L.target_id == target[1],
                    L.relation == relation,
                )
            ).first()
            if exists is None:
                session.add(
                    L(
                        source_type=source[0],
                        source_id=source[1],
                        target_type=target[0],
                        target_id=target[1],
                        relation=relation,
                        created_at=m.utcnow(),
                    )
                )

        # The same edge added concurrently is fine: idempotent by contract.
        with contextlib.suppress(IntegrityError):
            self._run(add)

    def list_lineage(
        self, entity_id: str, direction: Literal["upstream", "downstream"]
    ) -> list[LineageEdge]:
        L = m.LineageEdgeRow
        column = L.target_id if direction == "upstream" else L.source_id
        stmt = sa.select(L).where(column == entity_id).order_by(L.id)
        return self._run(lambda s: [_to_edge(r) for r in s.scalars(stmt)])
