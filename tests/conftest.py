"""Shared fixtures: a fresh workspace per test and the breast-cancer data as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from siklus.store import WorkspaceContext


@pytest.fixture
def ctx(tmp_path: Path) -> WorkspaceContext:
    """An empty workspace with the embedded defaults (SQLite + local artifacts)."""
    return WorkspaceContext.open(tmp_path / "ws")


@pytest.fixture(scope="session")
def breast_cancer_frame() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names)))
    return frame


@pytest.fixture
def breast_cancer_csv(tmp_path: Path, breast_cancer_frame: pd.DataFrame) -> Path:
    path = tmp_path / "breast_cancer.csv"
    breast_cancer_frame.to_csv(path, index=False)
    return path
