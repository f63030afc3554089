"""Fixtures for job tests: a throwaway workspace and an executor whose children can import
the test entrypoints in ``_job_fixtures.py``."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from siklus.jobs import LocalExecutor, process_alive
from siklus.store import WorkspaceContext

HERE = Path(__file__).resolve().parent


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceContext]:
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SIKLUS_JOB_STOP_GRACE_SECONDS", raising=False)
    paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    ws = WorkspaceContext.open(
        tmp_path, tags={"team": "ml"}, settings={"job_stop_grace_seconds": 1.0}
    )
    yield ws
    # Never leave a job process behind, whatever the test did.
    # Only real job processes lead their own group; some tests record fake pids.
    for job in ws.store.list_jobs(limit=1000):
        pid = job.pid
        if job.status.is_final or not pid or pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError):
            if process_alive(pid, job.pid_started_at) and os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
    ws.store.close()


@pytest.fixture
def executor(workspace: WorkspaceContext) -> LocalExecutor:
    return LocalExecutor(workspace)


def _wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(condition, timeout=15)``: poll until true, fail the test after timeout.

    A fixture rather than an import: test folders are not packages.
    """
    return _wait_until
