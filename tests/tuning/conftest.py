"""Fixtures for tuning tests: a throwaway workspace with real bundled datasets, split.

Every trial is a real training job (a subprocess), so the datasets are small and the
tuning jobs short; no job process outlives its test.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from siklus.data import ingest, split_dataset
from siklus.jobs import process_alive
from siklus.store import DatasetVersion, WorkspaceContext


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceContext]:
    """A fresh workspace; any job process still running at the end is killed."""
    for name in (
        "SIKLUS_WORKSPACE",
        "SIKLUS_DATABASE_URL",
        "SIKLUS_ARTIFACT_ROOT",
        "SIKLUS_RUN_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    ws = WorkspaceContext.open(tmp_path / "ws")
    yield ws
    for job in ws.store.list_jobs(limit=1000):
        if job.status.is_final or not job.pid or job.pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError):
            if process_alive(job.pid, job.pid_started_at) and os.getpgid(job.pid) == job.pid:
                os.killpg(job.pid, signal.SIGKILL)
    ws.store.close()


def _split(
    ctx: WorkspaceContext, tmp_path: Path, frame: pd.DataFrame, name: str, stratify: str | None
) -> dict[str, DatasetVersion]:
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    ingest(ctx, path, name)
    return split_dataset(ctx, name, stratify=stratify, seed=0)


@pytest.fixture
def breast_cancer(
    ctx: WorkspaceContext, tmp_path: Path, breast_cancer_frame: pd.DataFrame
) -> dict[str, DatasetVersion]:
    """scikit-learn's breast cancer data (569 rows, target ``diagnosis``), split 80/10/10."""
    return _split(ctx, tmp_path, breast_cancer_frame, "bc", stratify="diagnosis")


@pytest.fixture
def diabetes(ctx: WorkspaceContext, tmp_path: Path) -> dict[str, DatasetVersion]:
    """scikit-learn's diabetes regression data (442 rows, target ``target``), split."""
    return _split(ctx, tmp_path, load_diabetes(as_frame=True).frame, "diabetes", stratify=None)
