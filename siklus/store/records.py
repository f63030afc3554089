"""Frozen snapshots the store hands to callers.

Callers never see SQLAlchemy rows: a record is a plain, immutable value, safe to pass
between threads and to serialise (``to_dict``). Changing a resource means asking the
store, which returns a new record.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class JobStatus(enum.StrEnum):
    """Where a job is in its life. ``Completed``, ``Failed`` and ``Stopped`` are final."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED})

#: The allowed moves of the job state machine; the store refuses any other.
JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.IN_PROGRESS, JobStatus.STOPPED, JobStatus.FAILED}),
    JobStatus.IN_PROGRESS: frozenset(
        {JobStatus.STOPPING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED}
    ),
    JobStatus.STOPPING: frozenset({JobStatus.STOPPED, JobStatus.COMPLETED, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.STOPPED: frozenset(),
}


class ApprovalStatus(enum.StrEnum):
    """Approval state of a model package version (SageMaker Model Registry's names)."""

    PENDING = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class EndpointStatus(enum.StrEnum):
    CREATING = "Creating"
    IN_SERVICE = "InService"
    FAILED = "Failed"
    DELETED = "Deleted"


class RunStatus(enum.StrEnum):
    """Where an experiment run is in its life. Every status but ``Running`` is final."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    KILLED = "Killed"

    @property
    def is_final(self) -> bool:
        return self is not RunStatus.RUNNING


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (datetimes as ISO 8601 strings, enums as their values)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, enum.Enum):
                value = value.value
            out[f.name] = value
        return out


@dataclass(frozen=True)
class DatasetVersion(_Record):
    """One immutable version of a named dataset, stored as a Parquet artifact.

    ``sha256`` is the hash of the Parquet file; identical content always maps to the
    same version of a dataset.
    """

    id: str
    name: str
    version: int
    sha256: str
    schema: list[dict[str, Any]]
    row_count: int
    size_bytes: int
    source: str
    parent_id: str | None
    tags: dict[str, str]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class Job(_Record):
    """A unit of long-running work and what happened to it."""

    id: str
    name: str
    kind: str
    entrypoint: str
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    resources: dict[str, Any]
    tags: dict[str, str]
    status: JobStatus
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    pid: int | None
    pid_started_at: float | None
    host: str | None
    log_path: str | None
    outputs: dict[str, Any]
    wall_seconds: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    stop_requested: bool


@dataclass(frozen=True)
class Model(_Record):
    """A trained model: a content-addressed artifact plus its manifest."""

    id: str
    name: str
    sha256: str
    manifest: dict[str, Any]
    training_job_id: str | None
    tags: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class Evaluation(_Record):
    id: str
    model_id: str
    dataset_version_id: str
    split: str
    metrics: dict[str, Any]
    verdict: dict[str, Any] | None
    tags: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class ModelPackageGroup(_Record):
    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class ModelPackage(_Record):
    """A registered, versioned model in a group, with its approval state and why."""

    id: str
    group: str
    version: int
    model_id: str
    approval_status: ApprovalStatus
    status_reason: str | None
    status_by: str | None
    status_at: datetime | None
    metrics: dict[str, Any]
    description: str
    tags: dict[str, str]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.group}:{self.version}"


@dataclass(frozen=True)
class Endpoint(_Record):
    name: str
    model_package_id: str
    status: EndpointStatus
    host: str | None
    port: int | None
    pid: int | None
    pid_started_at: float | None
    failure_reason: str | None
    log_path: str | None
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @property
    def url(self) -> str | None:
        if self.host is None or self.port is None:
            return None
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class LineageEdge(_Record):
    """``source`` was used to produce ``target`` (e.g. dataset version → training job)."""

    source_type: str
    source_id: str
    target_type: str
    target_id: str
    relation: str
    created_at: datetime = field(compare=False)


@dataclass(frozen=True)
class Experiment(_Record):
    """A named group of runs that answer one question (e.g. "churn-model")."""

    id: str
    name: str
    tags: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class Run(_Record):
    """One execution of training code and everything it logged.

    Attributes:
        params: The settings of the run; numbers stay numbers, so filters compare them
            numerically.
        metrics: The most recently logged value of each metric (the series are in
            :meth:`~siklus.store.BaseStore.get_metric_history`); NaN and ±inf survive.
        inputs: Channel name → dataset version id (e.g. ``{"train": "ds-…"}``).
        artifacts: File name → sha256 in the workspace's artifact store.
    """

    id: str
    experiment_id: str
    experiment: str
    name: str
    status: RunStatus
    params: dict[str, str | float | int]
    metrics: dict[str, float]
    tags: dict[str, str]
    job_id: str | None
    model_id: str | None
    inputs: dict[str, str]
    artifacts: dict[str, str]
    start_time: datetime
    end_time: datetime | None


@dataclass(frozen=True)
class MetricPoint(_Record):
    """One logged value of a metric series: ``value`` at ``step``, logged at ``timestamp``."""

    key: str
    value: float
    step: int
    timestamp: datetime


__all__ = [
    "FINAL_JOB_STATUSES",
    "JOB_TRANSITIONS",
    "ApprovalStatus",
    "DatasetVersion",
    "Endpoint",
    "EndpointStatus",
    "Evaluation",
    "Experiment",
    "Job",
    "JobStatus",
    "LineageEdge",
    "MetricPoint",
    "Model",
    "ModelPackage",
    "ModelPackageGroup",
    "Run",
    "RunStatus",
]


@dataclass(frozen=True)
class Resource(_Record):
    """A named, revisioned JSON document of one ``kind`` (a catalog table, an endpoint
    config, a monitoring schedule, an alarm, a pipeline definition…).

    ``revision`` starts at 1 and grows by one on every write, so a writer can update
    only what it read (optimistic concurrency: ``put_resource(..., expected_revision=)``).
    """

    kind: str
    name: str
    revision: int
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ResourceEvent(_Record):
    """One entry of a resource's append-only history (a table version, an alarm state
    change, a pipeline step transition). ``seq`` orders all events of the store."""

    seq: int
    kind: str
    name: str
    body: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class MetricDatum(_Record):
    """One point of a CloudWatch-style metric series: ``namespace``/``metric`` plus
    exact-match ``dimensions``; ``timestamp`` is seconds since the epoch."""

    namespace: str
    metric: str
    dimensions: dict[str, str]
    timestamp: float
    value: float
