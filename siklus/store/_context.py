"""The handles every stage works with: the workspace folder and its two stores.

:class:`WorkspaceContext` lives here, low in the layering, so that stages (data,
training, registry, serving) and jobs can take one object without importing
``siklus.workspace``, which sits above them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from siklus import config
from siklus.store._base import BaseStore
from siklus.store.artifacts import ArtifactStore


def default_database_url(root: Path) -> str:
    return f"sqlite:///{root / '.siklus' / 'siklus.db'}"


@dataclass(frozen=True)
class WorkspaceContext:
    """Workspace folder + metadata store URL + artifact root + default tags.

    Stores are opened lazily and once per context. ``tags`` (the project's
    cost-allocation tags) are merged into the tags of every resource created through it.

    Attributes:
        root: The workspace folder; siklus writes only under ``root/.siklus``.
        database_url: SQLAlchemy URL of the metadata store.
        artifact_root: Folder or fsspec URL of the artifact store.
        tags: Tags applied to every resource this context creates.
        settings: The ``settings:`` of siklus.yaml (lowest-precedence config source).
    """

    root: Path
    database_url: str
    artifact_root: str
    tags: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> WorkspaceContext:
        """Resolve the workspace from arguments, ``SIKLUS_*`` settings and defaults."""
        settings = dict(settings or {})
        with config.config_context(**({"workspace": str(root)} if root is not None else {})):
            folder = config.find_workspace()
        db = config.get("database_url", settings) or default_database_url(folder)
        artifacts = config.get("artifact_root", settings) or str(folder / ".siklus" / "artifacts")
        return cls(
            root=folder,
            database_url=db,
            artifact_root=artifacts,
            tags=dict(tags or {}),
            settings=settings,
        )

    @property
    def state_dir(self) -> Path:
        """``<root>/.siklus``: logs, job folders, endpoint state."""
        path = self.root / ".siklus"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def store(self) -> BaseStore:
        from siklus.store import get_store

        return get_store(self.database_url)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(self.artifact_root, cache_dir=self.state_dir / "artifact-cache")

    def setting(self, name: str) -> Any:
        return config.get(name, self.settings)

    def with_tags(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The context's tags with ``extra`` on top (the caller's tags win)."""
        return {**self.tags, **(extra or {})}

    def child(self, **changes: Any) -> WorkspaceContext:
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """Environment variables that make a child process see this same workspace.

        Besides the locations, every setting whose effective value (after overrides,
        environment and ``siklus.yaml``) differs from its default is passed on, so a job or
        endpoint process applies the same settings as the process that started it.
        """
        env = {
            "SIKLUS_WORKSPACE": str(self.root),
            "SIKLUS_DATABASE_URL": self.database_url,
            "SIKLUS_ARTIFACT_ROOT": self.artifact_root,
        }
        for setting in config.SETTINGS.values():
            if setting.env in env:
                continue
            value = self.setting(setting.name)
            if value is not None and value != setting.default:
                env[setting.env] = str(value).lower() if isinstance(value, bool) else str(value)
        return env
