"""Shared data for the serving tests: breast cancer with a categorical column and gaps.

The added ``clinic`` column (text, with missing values) and the holes punched into a
numeric column make the served pipeline exercise what real payloads need: one-hot
encoding of strings and imputation of missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CATEGORICAL = "clinic"


@pytest.fixture(scope="session")
def bc_xy() -> tuple[pd.DataFrame, pd.Series]:
    """Features (30 numeric + ``clinic``) and the 0/1 target."""
    bunch = load_breast_cancer(as_frame=True)
    rng = np.random.default_rng(7)
    features = bunch.data.copy()
    clinic = rng.choice(np.array(["north", "south", "east"], dtype=object), size=len(features))
    clinic[rng.random(len(features)) < 0.1] = np.nan  # as read_csv gives it; None is a category
    features[CATEGORICAL] = pd.Series(clinic, index=features.index, dtype=object)
    features.loc[rng.random(len(features)) < 0.05, "mean radius"] = np.nan
    return features, bunch.target


@pytest.fixture(scope="session")
def bc_pipeline(bc_xy: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    """Imputation + one-hot for ``clinic``, imputation + scaling for numbers, then a
    logistic regression: the shape of what siklus' training produces."""
    features, target = bc_xy
    numeric = [c for c in features.columns if c != CATEGORICAL]
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                [CATEGORICAL],
            ),
        ]
    )
    pipeline = Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=2000))])
    return pipeline.fit(features, target)


# -- real-time endpoint helpers --------------------------------------------------------------
ISOLATE = (
    "SIKLUS_WORKSPACE",
    "SIKLUS_DATABASE_URL",
    "SIKLUS_ARTIFACT_ROOT",
    "SIKLUS_MAX_PAYLOAD_BYTES",
    "SIKLUS_ENDPOINT_HOST",
    "SIKLUS_ENDPOINT_START_TIMEOUT",
)


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready records, missing values as null (standard JSON has no NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def register(ctx, pipeline: Pipeline, features: pd.DataFrame, group: str = "bc", approve=True):
    """Store ``pipeline`` as a model and register it as the next version of ``group``."""
    from siklus.store import ApprovalStatus
    from siklus.training import infer_signature, save_estimator

    model = ctx.store.create_model(
        name=group,
        sha256=save_estimator(ctx, pipeline),
        manifest={
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
def bc_pipeline_b(bc_xy: tuple[pd.DataFrame, pd.Series], bc_pipeline: Pipeline) -> Pipeline:
    """A second, different model of the same shape (strong regularisation)."""
    from sklearn.base import clone

    features, target = bc_xy
    other = clone(bc_pipeline).set_params(model__C=0.001)
    return other.fit(features, target)


class Helpers:
    """The helpers above, for test modules (conftest is not importable by name)."""

    isolate = ISOLATE
    records = staticmethod(records)
    register = staticmethod(register)


@pytest.fixture(scope="session")
def helpers() -> type[Helpers]:
    return Helpers
