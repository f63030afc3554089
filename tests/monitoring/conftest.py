"""Shared monitoring fixtures: breast cancer with a real-derived category, split, a model.

``size_band`` (small / medium / large tertiles of ``mean area``) gives the real data a
categorical feature whose frequencies a test can shift without touching any other column.
The model is fitted in-process and registered as package ``bc:1`` (the registry's own
records), so tests need no training job.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from siklus.data import ingest, read_frame, split_dataset
from siklus.store import ApprovalStatus, WorkspaceContext
from siklus.training import infer_signature, save_estimator

from ._helpers import BAND, LABEL, Workspace, bc_with_band


@pytest.fixture(scope="module")
def bc_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace with ``bc`` split 80/10/10 (seeded) and model package ``bc:1``."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
            patch.delenv(name, raising=False)
        folder = tmp_path_factory.mktemp("monitoring")
        ctx = WorkspaceContext.open(folder / "ws")
        path = Path(folder) / "bc.parquet"
        bc_with_band().to_parquet(path, index=False)
        ingest(ctx, path, "bc")
        split_dataset(ctx, "bc", stratify=LABEL, seed=7)
        train = read_frame(ctx, "bc.train")[1]
        features = train.drop(columns=[LABEL])
        numeric = [c for c in features.columns if c != BAND]
        columns = ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), [BAND]),
            ]
        )
        model = Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=3000))])
        model.fit(features, train[LABEL])
        record = ctx.store.create_model(
            name="bc",
            sha256=save_estimator(ctx, model),
            manifest={
                "input_signature": infer_signature(features),
                "classes": model.classes_.tolist(),
                "task": "binary_classification",
                "target": LABEL,
            },
            training_job_id=None,
            tags={},
        )
        ctx.store.ensure_model_package_group("bc")
        package = ctx.store.create_model_package(
            "bc", model_id=record.id, metrics={}, description="", tags={}
        )
        ctx.store.set_approval(package.id, ApprovalStatus.APPROVED, reason="test", by="pytest")
        yield Workspace(
            ctx,
            train,
            read_frame(ctx, "bc.validation")[1],
            read_frame(ctx, "bc.test")[1],
            model,
        )
