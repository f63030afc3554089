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

    def read(self, ref: str) -> Any:
        """The rows of a dataset version as a pandas DataFrame."""
        return data.read_frame(self._ctx, ref)[1]


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

    @property
    def root(self) -> Path:
        return self.ctx.root

    @cached_property
    def jobs(self) -> LocalExecutor:
        return LocalExecutor(self.ctx)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"
