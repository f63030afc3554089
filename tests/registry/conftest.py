"""A workspace with a real trained and evaluated model (one training job per module)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siklus.data import ingest, split_dataset
from siklus.store import Model, WorkspaceContext
from siklus.training import evaluate_model, train


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, breast_cancer_frame: pd.DataFrame
) -> tuple[WorkspaceContext, Model]:
    """Breast cancer ingested, split, a logistic regression trained and evaluated on test."""
    root = tmp_path_factory.mktemp("registry")
    csv = Path(root) / "bc.csv"
    breast_cancer_frame.to_csv(csv, index=False)
    ctx = WorkspaceContext.open(Path(root) / "ws")
    ingest(ctx, csv, "bc")
    split_dataset(ctx, "bc", stratify="diagnosis")
    _, model = train(
        ctx,
        estimator="sklearn.linear_model.LogisticRegression",
        target="diagnosis",
        train="bc.train",
        validation="bc.validation",
        hyperparameters={"max_iter": 2000},
        positive_label="malignant",
    )
    evaluate_model(ctx, model.id, "bc.test")
    return ctx, model
