"""Fixtures for scheduler tests: a workspace with a dataset to monitor, whose job
processes can import the stand-in execution job in ``_sched_fixtures.py``."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from siklus.data import ingest
from siklus.jobs import process_alive
from siklus.store import WorkspaceContext

HERE = Path(__file__).resolve().parent


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceContext]:
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    ws = WorkspaceContext.open(tmp_path / "ws")
    csv = tmp_path / "scores.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}).to_csv(csv, index=False)
    ingest(ws, csv, "scores")
    yield ws
    for job in ws.store.list_jobs(limit=1000):
        if job.status.is_final or not job.pid or job.pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError):
            if process_alive(job.pid, job.pid_started_at) and os.getpgid(job.pid) == job.pid:
                os.killpg(job.pid, signal.SIGKILL)
    ws.store.close()
