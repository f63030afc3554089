"""An approved breast-cancer model package in a fresh workspace, for endpoint-type tests.

Shared by the async and serverless test folders (each wraps it in a module fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from siklus.store import ApprovalStatus, WorkspaceContext
from siklus.training import infer_signature, save_estimator

ISOLATE = (
    "SIKLUS_WORKSPACE",
    "SIKLUS_DATABASE_URL",
    "SIKLUS_ARTIFACT_ROOT",
    "SIKLUS_MAX_PAYLOAD_BYTES",
    "SIKLUS_ENDPOINT_HOST",
    "SIKLUS_ENDPOINT_START_TIMEOUT",
)


@dataclass(frozen=True)
class Model:
    ctx: WorkspaceContext
    pipeline: Pipeline
    features: pd.DataFrame
    group: str


def approved_model(tmp_path_factory: pytest.TempPathFactory, label: str) -> Iterator[Model]:
    """A logistic regression on the 30 breast-cancer features, registered and Approved."""
    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pipeline.fit(features, bunch.target)
    with pytest.MonkeyPatch.context() as patch:
        for name in ISOLATE:
            patch.delenv(name, raising=False)
        ctx = WorkspaceContext.open(tmp_path_factory.mktemp(label) / "ws")
        stored = ctx.store.create_model(
            name="bc",
            sha256=save_estimator(ctx, pipeline),
            manifest={
                "input_signature": infer_signature(features),
                "classes": [0, 1],
                "task": "binary_classification",
                "target": "target",
            },
            training_job_id=None,
            tags={},
        )
        ctx.store.ensure_model_package_group("bc")
        package = ctx.store.create_model_package(
            "bc", model_id=stored.id, metrics={}, description="", tags={}
        )
        ctx.store.set_approval(package.id, ApprovalStatus.APPROVED, reason="test", by="pytest")
        yield Model(ctx, pipeline, features, "bc")
