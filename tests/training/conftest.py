"""Fixtures for training tests: the breast-cancer data ingested and split 80/10/10."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from siklus.data import ingest, split_dataset
from siklus.store import DatasetVersion, WorkspaceContext


@pytest.fixture
def bc_parts(
    ctx: WorkspaceContext, breast_cancer_frame: pd.DataFrame, tmp_path: Path
) -> dict[str, DatasetVersion]:
    path = tmp_path / "bc.parquet"
    breast_cancer_frame.to_parquet(path, index=False)
    ingest(ctx, path, "bc")
    return split_dataset(ctx, "bc", stratify="diagnosis")


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(condition, timeout=30)``: poll until true, fail the test after timeout."""

    def wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"condition not met within {timeout} s")
            time.sleep(0.02)

    return wait


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkspaceContext:
    """A fresh workspace, whatever SIKLUS_* settings the environment holds."""
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return WorkspaceContext.open(tmp_path / "ws")
