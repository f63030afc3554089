"""Every ``SIKLUS_*`` setting, declared once: name, type, default and what it is for.

Precedence, highest first: a value passed explicitly (a CLI flag or a keyword argument),
:func:`config_context` overrides (used by tests), the ``SIKLUS_*`` environment variable,
the ``settings:`` section of ``siklus.yaml``, then the default declared here.

Example:
    >>> from siklus import config
    >>> with config.config_context(max_payload_bytes=1024):
    ...     config.get("max_payload_bytes")
    1024
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from siklus.exceptions import InvalidParameter


@dataclass(frozen=True)
class Setting:
    """One declared setting.

    Attributes:
        name: The key used in code and in ``siklus.yaml``'s ``settings:`` section.
        parse: Turns the environment variable's text into the typed value.
        default: The value when nothing else sets it (``None`` means "derived", see doc).
        doc: What it controls, shown by ``siklus config``.
    """

    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str

    @property
    def env(self) -> str:
        return "SIKLUS_" + self.name.upper()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {text!r}")


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "workspace",
            str,
            None,
            "Workspace directory; default: the nearest folder upward holding siklus.yaml "
            "or .siklus/, else the current directory.",
        ),
        Setting(
            "database_url",
            str,
            None,
            "SQLAlchemy URL of the metadata store; default: SQLite (WAL) at "
            "<workspace>/.siklus/siklus.db. PostgreSQL: postgresql+psycopg://user:pw@host/db.",
        ),
        Setting(
            "artifact_root",
            str,
            None,
            "Root of the content-addressed artifact store: a folder or an fsspec URL such "
            "as s3://bucket/prefix; default: <workspace>/.siklus/artifacts.",
        ),
        Setting(
            "max_payload_bytes",
            int,
            10 * 1024 * 1024,
            "Largest request body a real-time endpoint accepts (bigger gets HTTP 413).",
        ),
        Setting(
            "endpoint_host",
            str,
            "127.0.0.1",
            "Interface endpoints bind to. Only loopback by default: exposing a model is "
            "a deliberate choice.",
        ),
        Setting(
            "endpoint_start_timeout",
            float,
            60.0,
            "Seconds to wait for a new endpoint process to answer /ping.",
        ),
        Setting(
            "job_stop_grace_seconds",
            float,
            10.0,
            "After asking a job to stop (SIGTERM), seconds before it is killed (SIGKILL).",
        ),
        Setting(
            "executor_cpus",
            int,
            None,
            "CPU cores the local job executor hands out; default: all cores of the machine.",
        ),
        Setting(
            "executor_memory_mb",
            int,
            None,
            "Memory (MiB) the local job executor hands out; default: the machine's RAM.",
        ),
        Setting(
            "executor_gpus",
            int,
            None,
            "GPUs the local job executor hands out; default: those nvidia-smi lists.",
        ),
        Setting(
            "progress",
            _bool,
            True,
            "Show Rich progress bars on long work in the CLI.",
        ),
    ]
}

_overrides: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "siklus_config_overrides", default=MappingProxyType({})
)


def _check_name(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        known = ", ".join(sorted(SETTINGS))
        raise InvalidParameter(f"Unknown setting {name!r}; known settings: {known}.") from None


def get(name: str, project_settings: Mapping[str, Any] | None = None) -> Any:
    """Return the effective value of setting ``name``.

    Args:
        name: A key of :data:`SETTINGS`.
        project_settings: The ``settings:`` mapping of ``siklus.yaml``, if one is loaded.

    Raises:
        InvalidParameter: The name is unknown, or the environment variable does not parse.
    """
    setting = _check_name(name)
    overrides = _overrides.get()
    if name in overrides:
        return overrides[name]
    raw = os.environ.get(setting.env)
    if raw is not None and raw != "":
        try:
            return setting.parse(raw)
        except ValueError as exc:
            raise InvalidParameter(
                f"Environment variable {setting.env}={raw!r} is not valid: {exc}."
            ) from None
    if project_settings and name in project_settings:
        return project_settings[name]
    return setting.default


@contextlib.contextmanager
def config_context(**values: Any) -> Iterator[None]:
    """Override settings inside a ``with`` block (thread- and task-local)."""
    for key in values:
        _check_name(key)
    token = _overrides.set({**_overrides.get(), **values})
    try:
        yield
    finally:
        _overrides.reset(token)


def find_workspace(start: Path | None = None) -> Path:
    """Return the workspace folder: the setting if given, else search upward from ``start``.

    A folder is a workspace when it holds ``siklus.yaml`` or a ``.siklus/`` folder.
    """
    explicit = get("workspace")
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "siklus.yaml").is_file() or (folder / ".siklus").is_dir():
            return folder
    return here


__all__ = ["SETTINGS", "Setting", "config_context", "find_workspace", "get"]
