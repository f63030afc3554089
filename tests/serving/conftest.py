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
