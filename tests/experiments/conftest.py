"""Fixtures for experiment tracking: a throwaway workspace (SQLite, or PostgreSQL when
``SIKLUS_TEST_POSTGRES_URL`` is set) and a way to run Python code in a child process
that sees it, as a training script would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from siklus.experiments import active_run
from siklus.store import WorkspaceContext
from siklus.testing import postgres_schema, postgres_test_url

_ENV = ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT", "SIKLUS_RUN_ID")

RunPython = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    leftover = active_run()
    assert leftover is None, f"a test left {leftover} active"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[WorkspaceContext]:
    """An empty SQLite workspace."""
    ctx = WorkspaceContext.open(tmp_path / "ws")
    yield ctx
    ctx.store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkspaceContext]:
    """An empty workspace whose metadata store is each backend in turn."""
    if request.param == "sqlite":
        ctx = WorkspaceContext.open(tmp_path / "ws")
        yield ctx
        ctx.store.close()
        return
    with postgres_schema(postgres_test_url()) as url:
        ctx = WorkspaceContext.open(tmp_path / "ws", settings={"database_url": url})
        yield ctx
        ctx.store.close()


def run_python(
    ctx: WorkspaceContext, code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose ``SIKLUS_*`` environment names ``ctx``."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**os.environ, **ctx.to_env(), **(env or {})},
        cwd=ctx.state_dir.parent,  # state_dir creates the folder
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_python(
    ctx: WorkspaceContext, code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Like :func:`run_python` without waiting (for processes that run at once)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**os.environ, **ctx.to_env(), **(env or {})},
        cwd=ctx.state_dir.parent,  # state_dir creates the folder
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def python() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python(ctx, code, *argv, env=None)``: run code in a child process (a fixture:
    test folders are not packages, so helpers are shared this way)."""
    return run_python


@pytest.fixture
def spawn_python() -> Callable[..., subprocess.Popen[str]]:
    return start_python
