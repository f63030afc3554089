"""Metadata store (datasets, jobs, models, endpoints, lineage) and artifact store.

One function turns a URL into a backend: :func:`get_store`. Only this package knows
SQLAlchemy; everything else sees :class:`BaseStore` and frozen records.
"""

from __future__ import annotations

from siklus.exceptions import InvalidParameter
from siklus.store._base import BaseStore
from siklus.store._context import WorkspaceContext
from siklus.store.artifacts import ArtifactStore, sha256_file
from siklus.store.records import (
    FINAL_JOB_STATUSES,
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
    "Job",
    "JobStatus",
    "LineageEdge",
    "Model",
    "ModelPackage",
    "ModelPackageGroup",
    "WorkspaceContext",
    "get_store",
    "sha256_file",
]
