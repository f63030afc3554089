"""The metadata-store contract every backend implements.

Contract (checked by ``siklus.testing.StoreContract`` against each backend):

- Every method is safe to call from several threads and several processes at once; each
  call is one transaction, so a reader never sees half of a write.
- Methods return frozen records from :mod:`siklus.store.records`, never live rows.
- A name or id that does not exist raises :class:`~siklus.exceptions.NotFound`; a taken
  name raises :class:`~siklus.exceptions.AlreadyExists`; an illegal move of a state
  machine raises :class:`~siklus.exceptions.InvalidState`. Backend errors (a lost
  connection, a failed migration) are wrapped in :class:`~siklus.exceptions.StoreError`.
- Callers own the content of ``tags``, ``inputs``, ``parameters``, ``outputs``,
  ``manifest`` and ``metrics``: JSON-serialisable values the store keeps as given.
"""

from __future__ import annotations

import abc
from typing import Any, Literal

from siklus.store._resources_base import ResourceStore
from siklus.store._tracking_base import TrackingStore
from siklus.store.records import (
    ApprovalStatus,
    DatasetVersion,
    Endpoint,
    Evaluation,
    Job,
    JobStatus,
    LineageEdge,
    Model,
    ModelPackage,
    ModelPackageGroup,
)


class BaseStore(TrackingStore, ResourceStore):
    """Where siklus keeps what it knows about datasets, jobs, models and endpoints.

    Experiments, runs and metric series are the other half of the contract, in
    :class:`~siklus.store._tracking_base.TrackingStore`.
    """

    url: str

    # -- datasets --------------------------------------------------------------------
    @abc.abstractmethod
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
        """Record a new version of dataset ``name``, or find the one with the same content.

        Returns:
            ``(version, created)``: ``created`` is False when a version of ``name`` with
            this ``sha256`` already existed; that version is returned unchanged.
        """

    @abc.abstractmethod
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Return version ``version`` of ``name`` (the newest when None).

        Raises:
            NotFound: No such dataset or version.
        """

    @abc.abstractmethod
    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        """Raises: NotFound."""

    @abc.abstractmethod
    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersion]:
        """All versions (of one dataset when ``name`` is given), oldest first."""

    # -- jobs ------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Create a job in state ``Pending``."""

    @abc.abstractmethod
    def get_job(self, job_id: str) -> Job:
        """Raises: NotFound."""

    @abc.abstractmethod
    def list_jobs(
        self, *, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> list[Job]:
        """Newest first."""

    @abc.abstractmethod
    def transition_job(
        self,
        job_id: str,
        to: JobStatus,
        *,
        expected: JobStatus | None = None,
        failure_reason: str | None = None,
        **fields: Any,
    ) -> Job:
        """Move a job to state ``to`` atomically (compare-and-set), setting ``fields`` too.

        ``started_at`` is stamped on entering InProgress and ``ended_at`` on entering a
        final state.

        Args:
            expected: Only move when the job is in this state right now.

        Raises:
            InvalidState: The move is not in ``JOB_TRANSITIONS`` (e.g. from a final
                state), or the job is not in ``expected``.
        """

    @abc.abstractmethod
    def update_job(self, job_id: str, **fields: Any) -> Job:
        """Set non-status fields (pid, log_path, outputs, usage, stop_requested)."""

    # -- models and evaluations -------------------------------------------------------
    @abc.abstractmethod
    def create_model(
        self,
        *,
        name: str,
        sha256: str,
        manifest: dict[str, Any],
        training_job_id: str | None,
        tags: dict[str, str],
    ) -> Model: ...

    @abc.abstractmethod
    def get_model(self, model_id: str) -> Model:
        """Raises: NotFound."""

    @abc.abstractmethod
    def list_models(self, name: str | None = None) -> list[Model]:
        """Newest first."""

    @abc.abstractmethod
    def create_evaluation(
        self,
        *,
        model_id: str,
        dataset_version_id: str,
        split: str,
        metrics: dict[str, Any],
        verdict: dict[str, Any] | None,
        tags: dict[str, str],
    ) -> Evaluation: ...

    @abc.abstractmethod
    def list_evaluations(self, model_id: str | None = None) -> list[Evaluation]:
        """Newest first."""

    # -- model registry ------------------------------------------------------------------
    @abc.abstractmethod
    def ensure_model_package_group(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelPackageGroup:
        """Return group ``name``, creating it when missing."""

    @abc.abstractmethod
    def list_model_package_groups(self) -> list[ModelPackageGroup]: ...

    @abc.abstractmethod
    def create_model_package(
        self,
        group: str,
        *,
        model_id: str,
        metrics: dict[str, Any],
        description: str,
        tags: dict[str, str],
    ) -> ModelPackage:
        """Add the next version to ``group`` in state PendingManualApproval.

        Raises:
            NotFound: The group or the model does not exist.
        """

    @abc.abstractmethod
    def get_model_package(self, group: str, version: int | None = None) -> ModelPackage:
        """The given version of ``group`` (the newest when None). Raises: NotFound."""

    @abc.abstractmethod
    def get_model_package_by_id(self, package_id: str) -> ModelPackage:
        """Raises: NotFound."""

    @abc.abstractmethod
    def list_model_packages(self, group: str | None = None) -> list[ModelPackage]:
        """Oldest first."""

    @abc.abstractmethod
    def set_approval(
        self, package_id: str, status: ApprovalStatus, *, reason: str | None, by: str | None
    ) -> ModelPackage:
        """Record an approval decision with who and why; stamps ``status_at``."""

    # -- endpoints ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_endpoint(
        self, name: str, *, model_package_id: str, tags: dict[str, str], log_path: str | None
    ) -> Endpoint:
        """Create endpoint ``name`` in state Creating (replacing a Deleted one).

        Raises:
            AlreadyExists: An endpoint of that name exists and is not Deleted.
        """

    @abc.abstractmethod
    def get_endpoint(self, name: str) -> Endpoint:
        """Raises: NotFound."""

    @abc.abstractmethod
    def list_endpoints(self, *, include_deleted: bool = False) -> list[Endpoint]: ...

    @abc.abstractmethod
    def update_endpoint(self, name: str, **fields: Any) -> Endpoint:
        """Set fields (status, host, port, pid, failure_reason); stamps ``updated_at``."""

    # -- lineage -----------------------------------------------------------------------
    @abc.abstractmethod
    def add_lineage(self, source: tuple[str, str], target: tuple[str, str], relation: str) -> None:
        """Record that ``source`` (type, id) fed ``target`` (type, id); idempotent."""

    @abc.abstractmethod
    def list_lineage(
        self, entity_id: str, direction: Literal["upstream", "downstream"]
    ) -> list[LineageEdge]:
        """Direct edges into (upstream) or out of (downstream) ``entity_id``."""

    def close(self) -> None:  # optional hook: backends without resources skip it
        """Release connections."""
