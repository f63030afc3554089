"""Shared setup for batch-transform tests: a workspace with an approved model package
and an input dataset with an ``id`` column.

The input is the breast-cancer data replicated (with a little noise so rows differ) to a
few thousand rows; ids are text (``p000042``) so a join on them is a real join.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.data import store_table
from siklus.store import ApprovalStatus, ModelPackage, WorkspaceContext
from siklus.training import infer_signature, save_estimator

_ISOLATE = ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT")


@dataclass(frozen=True)
class Setup:
    ctx: WorkspaceContext
    pipeline: Pipeline
    features: pd.DataFrame
    package: ModelPackage


def replicated(rows: int, seed: int = 3) -> pd.DataFrame:
    """``rows`` breast-cancer-like rows: an ``id`` column then the 30 features."""
    data = load_breast_cancer(as_frame=True).data
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=rows)
    frame = data.iloc[picks].reset_index(drop=True)
    frame = frame * rng.normal(1.0, 0.02, size=frame.shape)
    frame.insert(0, "id", [f"p{i:06d}" for i in range(rows)])
    return frame


def register(
    ctx: WorkspaceContext,
    pipeline: Pipeline,
    features: pd.DataFrame,
    group: str,
    *,
    approve: bool = True,
) -> ModelPackage:
    """Store ``pipeline`` as a model and register it as a package version."""
    model = ctx.store.create_model(
        name=group,
        sha256=save_estimator(ctx, pipeline),
        manifest={
            "format": "skops",
            "input_signature": infer_signature(features),
            "classes": pipeline.classes_.tolist(),
            "task": "binary_classification",
            "target": "target",
        },
        training_job_id=None,
        tags={},
    )
    ctx.store.ensure_model_package_group(group)
    package = ctx.store.create_model_package(
        group, model_id=model.id, metrics={}, description="", tags={}
    )
    if approve:
        package = ctx.store.set_approval(
            package.id, ApprovalStatus.APPROVED, reason="test", by="pytest"
        )
    return package


@pytest.fixture(scope="session")
def bc_training() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    return bunch.data, bunch.target.map({0: "malignant", 1: "benign"})


@pytest.fixture(scope="session")
def lr_pipeline(bc_training: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = bc_training
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)


@pytest.fixture(scope="session")
def rf_pipeline(bc_training: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = bc_training
    forest = RandomForestClassifier(n_estimators=30, random_state=0)
    return make_pipeline(StandardScaler(), forest).fit(x, y)


@pytest.fixture
def batch_env(tmp_path, monkeypatch, lr_pipeline: Pipeline, bc_training) -> Iterator[Setup]:
    for name in _ISOLATE:
        monkeypatch.delenv(name, raising=False)
    ctx = WorkspaceContext.open(tmp_path / "ws")
    features = bc_training[0]
    package = register(ctx, lr_pipeline, features, "bc")
    yield Setup(ctx, lr_pipeline, features, package)


def store_frame(ctx: WorkspaceContext, frame: pd.DataFrame, name: str) -> str:
    version, _ = store_table(
        ctx, pa.Table.from_pandas(frame, preserve_index=False), name, source="test"
    )
    return version.ref
