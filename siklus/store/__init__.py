"""Metadata store (datasets, jobs, models, endpoints, lineage, experiment runs) and artifacts.

One function turns a URL into a backend: :func:`get_store`. Only this package knows
SQLAlchemy; everything else sees :class:`BaseStore` and frozen records.
"""

from __future__ import annotations

from siklus.exceptions import InvalidParameter
from siklus.store._base import BaseStore
from siklus.store._context import WorkspaceContext
from siklus.store._filter import OrderBy, RunFilter, parse_order_by, parse_run_filter
from siklus.store._resources_base import ResourceStore
from siklus.store._run_values import (
    check_key,
    metric_step,
    metric_value,
    param_value,
    tag_value,
)
from siklus.store._tracking_base import MetricTuple, TrackingStore
from siklus.store.artifacts import ArtifactStore, sha256_file
from siklus.store.records import (
    FINAL_JOB_STATUSES,
    JOB_TRANSITIONS,
    ApprovalStatus,
    DatasetVersion,
    Endpoint,
    EndpointStatus,
    Evaluation,
    Experiment,
    Job,
    JobStatus,
    LineageEdge,
    MetricDatum,
    MetricPoint,
    Model,
    ModelPackage,
    ModelPackageGroup,
    Resource,
    ResourceEvent,
    Run,
    RunStatus,
)

_SUPPORTED = ("sqlite", "postgresql", "mysql", "mariadb")


def get_store(url: str | BaseStore) -> BaseStore:
    """Return the store behind ``url`` (a SQLAlchemy URL), or ``url`` if it is a store.

    The database is migrated to the newest schema on first use.

    Example:
        >>> store = get_store("sqlite:///:memory:")  # doctest: +SKIP

    Raises:
        InvalidParameter: The URL's scheme is not a supported database.
        StoreError: The database cannot be reached or migrated.
    """
    if isinstance(url, BaseStore):
        return url
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in _SUPPORTED:
        raise InvalidParameter(
            f"Database URL {url!r} is not supported: expected one of "
            f"{', '.join(s + '://' for s in _SUPPORTED)} (a SQLAlchemy URL), e.g. "
            "sqlite:////abs/path/siklus.db or postgresql+psycopg://user:pw@localhost/siklus."
        )
    from siklus.store._sql.store import SqlStore

    return SqlStore(url)


__all__ = [
    "FINAL_JOB_STATUSES",
    "JOB_TRANSITIONS",
    "ApprovalStatus",
    "ArtifactStore",
    "BaseStore",
    "DatasetVersion",
    "Endpoint",
    "EndpointStatus",
    "Evaluation",
    "Experiment",
    "Job",
    "JobStatus",
    "LineageEdge",
    "MetricDatum",
    "MetricPoint",
    "MetricTuple",
    "Model",
    "ModelPackage",
    "ModelPackageGroup",
    "OrderBy",
    "Resource",
    "ResourceEvent",
    "ResourceStore",
    "Run",
    "RunFilter",
    "RunStatus",
    "TrackingStore",
    "WorkspaceContext",
    "check_key",
    "get_store",
    "metric_step",
    "metric_value",
    "param_value",
    "parse_order_by",
    "parse_run_filter",
    "sha256_file",
    "tag_value",
]
