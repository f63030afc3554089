"""Small real models stored in a workspace, for tests that need one without a training job."""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from siklus.store import Model, WorkspaceContext
from siklus.training import build_pipeline, infer_signature, save_estimator


def stored_logistic_regression(ctx: WorkspaceContext, n_features: int = 8) -> Model:
    """A siklus pipeline (impute, scale) + logistic regression on the first ``n_features``
    breast-cancer columns, saved as skops with its manifest, like a training job does."""
    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.iloc[:, :n_features]
    signature = infer_signature(features)
    pipeline = build_pipeline(signature, LogisticRegression(max_iter=2000))
    pipeline.fit(features, bunch.target)
    return ctx.store.create_model(
        name="logreg",
        sha256=save_estimator(ctx, pipeline),
        manifest={
            "format": "skops",
            "task": "binary_classification",
            "classes": [0, 1],
            "input_signature": signature,
            "input_example": features.head(3).to_dict(orient="records"),
        },
        training_job_id=None,
        tags={},
    )
