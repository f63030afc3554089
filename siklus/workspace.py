"""``Workspace``: the one entry point of the Python API.

It reads ``siklus.yaml`` (when present), opens the metadata and artifact stores and
exposes each lifecycle stage as an attribute, each a thin binding of the stage's
functions to this workspace. The CLI calls exactly these methods.

Example:
    >>> ws = Workspace("my-project")                               # doctest: +SKIP
    >>> version, _ = ws.data.ingest("customers.csv", name="customers")  # doctest: +SKIP
    >>> parts = ws.data.split("customers", stratify="churned")      # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from siklus import data, registry
from siklus.config import find_workspace
from siklus.jobs import LocalExecutor
from siklus.project import ProjectSpec, load_project
from siklus.store import DatasetVersion, Evaluation, Job, Model, WorkspaceContext

PROJECT_FILE = "siklus.yaml"


class _Stage:
    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    @property
    def _ctx(self) -> WorkspaceContext:
        return self._ws.ctx


class DataStage(_Stage):
    """Ingest, version, split and read datasets."""

    def ingest(
        self, path: str | os.PathLike[str], *, name: str, format: str | None = None
    ) -> tuple[DatasetVersion, bool]:
        return data.ingest(self._ctx, path, name, format=format)

    def split(self, ref: str, **options: Any) -> dict[str, DatasetVersion]:
        return data.split_dataset(self._ctx, ref, **options)

    def get(self, ref: str) -> DatasetVersion:
        return data.resolve(self._ctx, ref)

    def list(self, name: str | None = None) -> list[DatasetVersion]:
        return self._ctx.store.list_dataset_versions(name)

    def load_files(self, location: str, dataset: str, **options: Any) -> Any:
        """Load CSV/Parquet/JSON Lines files (a path, glob or fsspec URL) into a dataset."""
        return data.load_files(self._ctx, location, dataset, **options)

    def load_sql(self, url: str, dataset: str, **options: Any) -> Any:
        """Load a SQL table or query (``table=`` / ``query=``) into a dataset."""
        return data.load_sql(self._ctx, url, dataset, **options)

    def read(self, ref: str) -> Any:
        """The rows of a dataset version as a pandas DataFrame."""
        return data.read_frame(self._ctx, ref)[1]


class CatalogStage(_Stage):
    """Data catalog: crawl folders or databases into versioned table metadata."""

    @property
    def _catalog(self) -> Any:
        from siklus.data import catalog

        return catalog

    def crawl(self, location: str, database: str, **options: Any) -> Any:
        return self._catalog.crawl(self._ctx, location, database, **options)

    def tables(self, database: str | None = None) -> list[Any]:
        return self._catalog.list_tables(self._ctx, database)

    def table(self, ref: str) -> Any:
        """``ref`` is ``DATABASE.TABLE``."""
        c = self._catalog
        return c.get_table(self._ctx, *c.parse_table_ref(ref))

    def versions(self, ref: str) -> list[Any]:
        c = self._catalog
        return c.table_versions(self._ctx, *c.parse_table_ref(ref))


class TrainingStage(_Stage):
    """Training jobs and evaluation of the models they produce."""

    def train(self, **request: Any) -> tuple[Job, Model]:
        """See :func:`siklus.training.training_spec` for the arguments.

        ``target`` and ``positive_label`` default to the project's ``problem``.
        """
        from siklus import training

        problem = self._ws.project.problem if self._ws.project else None
        if problem is not None:
            request.setdefault("target", problem.target)
            request.setdefault("positive_label", problem.positive_label)
        return training.train(self._ctx, **request)

    def evaluate(self, model_id: str, dataset: str, *, split: str = "test") -> Evaluation:
        """Evaluate and judge against the project's success criteria for ``split``."""
        from siklus import training

        criteria = self._ws.project.success_criteria if self._ws.project else []
        return training.evaluate_model(self._ctx, model_id, dataset, split=split, criteria=criteria)

    def models(self) -> list[Model]:
        return self._ctx.store.list_models()

    def log_model(self, estimator: Any, example: Any, *, name: str, **options: Any) -> Model:
        """Store a model fitted outside siklus; see :func:`siklus.training.log_model`.

        ``target`` and, for a classifier, ``positive_label`` default to the project's
        ``problem``.
        """
        from sklearn.base import is_classifier

        from siklus import training

        problem = self._ws.project.problem if self._ws.project else None
        if problem is not None:
            options.setdefault("target", problem.target)
            if is_classifier(estimator):
                options.setdefault("positive_label", problem.positive_label)
        return training.log_model(self._ctx, estimator, example, name=name, **options)


class ModelsStage(_Stage):
    """Model registry."""

    def register(self, model_id: str, *, group: str, description: str = "") -> Any:
        return registry.register_model(self._ctx, model_id, group, description=description)

    def approve(self, ref: str, *, reason: str, by: str | None = None) -> Any:
        return registry.approve(self._ctx, ref, reason=reason, by=by)

    def reject(self, ref: str, *, reason: str, by: str | None = None) -> Any:
        return registry.reject(self._ctx, ref, reason=reason, by=by)

    def get(self, ref: str) -> Any:
        return registry.get_package(self._ctx, ref)

    def list(self, group: str | None = None) -> list[Any]:
        return self._ctx.store.list_model_packages(group)

    def card(self, ref: str) -> dict[str, Any]:
        return registry.get_model_card(self._ctx, ref)

    def update_card(self, ref: str, fields: dict[str, Any], **options: Any) -> dict[str, Any]:
        return registry.update_model_card(self._ctx, ref, fields, **options)

    def history(self, ref: str) -> list[Any]:
        return registry.package_history(self._ctx, ref)

    def export_onnx(self, ref: str) -> Any:
        return registry.export_onnx(self._ctx, ref)


class EndpointsStage(_Stage):
    """Real-time endpoints (``siklus.serving`` loads on first use: it pulls in the HTTP stack)."""

    @property
    def _serving(self) -> Any:
        from siklus import serving

        return serving

    def create(self, name: str, package: str, **options: Any) -> Any:
        group, version = registry.parse_package_ref(package)
        return self._serving.create_endpoint(self._ctx, name, group, version, **options)

    def invoke(self, name: str, body: bytes, content_type: str = "application/json") -> Any:
        return self._serving.invoke_endpoint(self._ctx, name, body, content_type)

    def get(self, name: str) -> Any:
        return self._serving.describe_endpoint(self._ctx, name)

    def list(self) -> list[Any]:
        return self._serving.list_endpoints(self._ctx)

    def delete(self, name: str) -> Any:
        return self._serving.delete_endpoint(self._ctx, name)

    def update(self, name: str, config: dict[str, Any], **options: Any) -> Any:
        """Blue/green switch to a new config (variants, shadow, capture, autoscaling)."""
        return self._serving.update_endpoint(self._ctx, name, config, **options)

    def metrics(self, name: str, **options: Any) -> Any:
        return self._serving.endpoint_metrics(self._ctx, name, **options)


class MonitoringStage(_Stage):
    """Baselines, monitoring runs and schedules, alarms and retraining (loaded on first use)."""

    @property
    def _monitoring(self) -> Any:
        from siklus import monitoring

        return monitoring

    def baseline(self, dataset: str, name: str, **options: Any) -> Any:
        return self._monitoring.build_baseline(self._ctx, dataset, name, **options)

    def run(self, *, baseline: str, **options: Any) -> Any:
        return self._monitoring.run_monitoring(self._ctx, baseline=baseline, **options)

    def upload_ground_truth(self, endpoint: str, labels: Any, **options: Any) -> Any:
        return self._monitoring.upload_ground_truth(self._ctx, endpoint, labels, **options)

    def schedule(self, name: str, *, baseline: str, **options: Any) -> Any:
        return self._monitoring.create_schedule(self._ctx, name, baseline=baseline, **options)

    def alarm(self, name: str, **definition: Any) -> Any:
        return self._monitoring.put_alarm(self._ctx, name, **definition)

    def evaluate_alarms(self) -> Any:
        return self._monitoring.evaluate_alarms(self._ctx)

    def retrain(self, group: str, **options: Any) -> Any:
        from siklus.monitoring.retrain import retrain

        return retrain(self._ctx, group, **options)


class PipelinesStage(_Stage):
    """Pipelines, their executions and triggers, and ``reproduce``."""

    @property
    def _pipelines(self) -> Any:
        from siklus import pipelines

        return pipelines

    def save(self, definition: Any) -> Any:
        return self._pipelines.save_pipeline(self._ctx, definition)

    def start(self, pipeline: Any, **options: Any) -> Any:
        return self._pipelines.start_execution(self._ctx, pipeline, **options)

    def resume(self, execution_id: str, **options: Any) -> Any:
        return self._pipelines.resume_execution(self._ctx, execution_id, **options)

    def stop(self, execution_id: str) -> Any:
        return self._pipelines.stop_execution(self._ctx, execution_id)

    def describe(self, execution_id: str) -> Any:
        return self._pipelines.describe_execution(self._ctx, execution_id)

    def executions(self, pipeline: str | None = None) -> list[Any]:
        return self._pipelines.list_executions(self._ctx, pipeline)

    def run_due_triggers(self) -> list[dict[str, Any]]:
        return self._pipelines.run_due_triggers(self._ctx)

    def reproduce(self, ref: str, **options: Any) -> Any:
        return self._pipelines.reproduce(self._ctx, ref, **options)


class Workspace:
    """A siklus workspace: a folder with ``siklus.yaml`` and a ``.siklus/`` state folder.

    Args:
        root: The folder; default: ``SIKLUS_WORKSPACE`` or the nearest folder upward
            holding ``siklus.yaml`` or ``.siklus/``, else the current directory.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        folder = Path(root).resolve() if root is not None else find_workspace()
        project_file = folder / PROJECT_FILE
        self.project: ProjectSpec | None = (
            load_project(project_file) if project_file.is_file() else None
        )
        self.ctx = WorkspaceContext.open(
            folder,
            tags=self.project.tags if self.project else None,
            settings=self.project.settings if self.project else None,
        )
        self.data = DataStage(self)
        self.training = TrainingStage(self)
        self.models = ModelsStage(self)
        self.endpoints = EndpointsStage(self)
        self.catalog = CatalogStage(self)
        self.monitoring = MonitoringStage(self)
        self.pipelines = PipelinesStage(self)

    @property
    def root(self) -> Path:
        return self.ctx.root

    @cached_property
    def jobs(self) -> LocalExecutor:
        return LocalExecutor(self.ctx)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"
