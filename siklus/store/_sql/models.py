"""SQLAlchemy tables of the metadata store. Private: only ``siklus.store`` sees them.

Schema changes go through an Alembic migration in ``migrations/versions`` (never
``create_all``), so a workspace made by an older siklus upgrades in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC as a naive timestamp (SQLite has no time zones) and returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class DatasetVersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        sa.UniqueConstraint("name", "version", name="uq_dataset_versions_name_version"),
        sa.UniqueConstraint("name", "sha256", name="uq_dataset_versions_name_sha256"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    schema: Mapped[list[Any]]
    row_count: Mapped[int] = mapped_column(sa.BigInteger)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.Text)
    parent_id: Mapped[str | None] = mapped_column(sa.String(40))
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(100), index=True)
    entrypoint: Mapped[str] = mapped_column(sa.String(300))
    inputs: Mapped[dict[str, Any]]
    parameters: Mapped[dict[str, Any]]
    resources: Mapped[dict[str, Any]]
    tags: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    pid: Mapped[int | None]
    pid_started_at: Mapped[float | None] = mapped_column(sa.Float)
    host: Mapped[str | None] = mapped_column(sa.String(255))
    log_path: Mapped[str | None] = mapped_column(sa.Text)
    outputs: Mapped[dict[str, Any]]
    wall_seconds: Mapped[float | None] = mapped_column(sa.Float)
    cpu_seconds: Mapped[float | None] = mapped_column(sa.Float)
    peak_rss_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    stop_requested: Mapped[bool] = mapped_column(default=False)


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    manifest: Mapped[dict[str, Any]]
    training_job_id: Mapped[str | None] = mapped_column(sa.String(40))
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class EvaluationRow(Base):
    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    model_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    dataset_version_id: Mapped[str] = mapped_column(sa.String(40))
    split: Mapped[str] = mapped_column(sa.String(50))
    metrics: Mapped[dict[str, Any]]
    verdict: Mapped[dict[str, Any] | None]
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ModelPackageGroupRow(Base):
    __tablename__ = "model_package_groups"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text)
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ModelPackageRow(Base):
    __tablename__ = "model_packages"
    __table_args__ = (
        sa.UniqueConstraint("group_name", "version", name="uq_model_packages_group_version"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    group_name: Mapped[str] = mapped_column(
        sa.String(200), sa.ForeignKey("model_package_groups.name"), index=True
    )
    version: Mapped[int]
    model_id: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("models.id"))
    approval_status: Mapped[str] = mapped_column(sa.String(40))
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    status_by: Mapped[str | None] = mapped_column(sa.String(200))
    status_at: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]]
    description: Mapped[str] = mapped_column(sa.Text)
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class EndpointRow(Base):
    __tablename__ = "endpoints"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    model_package_id: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    port: Mapped[int | None]
    pid: Mapped[int | None]
    pid_started_at: Mapped[float | None] = mapped_column(sa.Float)
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    log_path: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LineageEdgeRow(Base):
    __tablename__ = "lineage_edges"
    __table_args__ = (
        sa.UniqueConstraint(
            "source_type",
            "source_id",
            "target_type",
            "target_id",
            "relation",
            name="uq_lineage_edges",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    source_type: Mapped[str] = mapped_column(sa.String(40))
    source_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    relation: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime]


class ExperimentRow(Base):
    __tablename__ = "experiments"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_experiments_name"),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class RunRow(Base):
    """One run. Its latest metrics, params and tags are JSON columns on the row itself.

    Search reads one row per run (no joins, no per-key side tables), which keeps a
    filtered, sorted search over tens of thousands of runs in milliseconds; the full
    series live in ``run_metrics``.
    """

    __tablename__ = "runs"
    __table_args__ = (sa.Index("ix_runs_experiment_id_start_time", "experiment_id", "start_time"),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20))
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    tags: Mapped[dict[str, Any]]
    inputs: Mapped[dict[str, Any]]
    artifacts: Mapped[dict[str, Any]]
    job_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    model_id: Mapped[str | None] = mapped_column(sa.String(40))
    start_time: Mapped[datetime] = mapped_column(index=True)
    end_time: Mapped[datetime | None]


class MetricRow(Base):
    """One point of a metric series; the one high-volume table of the store.

    ``timestamp`` is seconds since the epoch (a float is the cheapest thing to write
    and to index); NaN values are stored as NULL, which SQLite would do anyway.
    """

    __tablename__ = "run_metrics"
    __table_args__ = (sa.Index("ix_run_metrics_run_id_key_step", "run_id", "key", "step"),)

    # INTEGER on SQLite so the id is the rowid (cheapest insert); BIGINT elsewhere.
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("runs.id"))
    key: Mapped[str] = mapped_column(sa.String(250))
    value: Mapped[float | None] = mapped_column(sa.Float)
    step: Mapped[int] = mapped_column(sa.BigInteger)
    timestamp: Mapped[float] = mapped_column(sa.Float)


class ResourceRow(Base):
    """A ``(kind, name)`` JSON document with an optimistic-concurrency revision."""

    __tablename__ = "resources"

    kind: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ResourceEventRow(Base):
    """Append-only history entries of resources."""

    __tablename__ = "resource_events"
    __table_args__ = (sa.Index("ix_resource_events_kind_name_id", "kind", "name", "id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(400))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ClaimRow(Base):
    """A key taken once: the primary key makes the second insert fail on every backend."""

    __tablename__ = "claims"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class MetricDataRow(Base):
    """One point of a CloudWatch-style metric series (monitoring, endpoints, alarms)."""

    __tablename__ = "metric_data"
    __table_args__ = (
        sa.Index("ix_metric_data_series_time", "namespace", "metric", "dimensions", "timestamp"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    namespace: Mapped[str] = mapped_column(sa.String(200))
    metric: Mapped[str] = mapped_column(sa.String(250))
    dimensions: Mapped[str] = mapped_column(sa.String(1000))
    timestamp: Mapped[float] = mapped_column(sa.Float)
    value: Mapped[float] = mapped_column(sa.Float)
