"""The preprocessing that travels inside every saved model.

Imputation, one-hot encoding and scaling are fitted with the model and saved in the same
pipeline, so an endpoint applies exactly what training applied and callers send raw rows.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC_TYPES = ("integer", "number")
CATEGORICAL_TYPES = ("string", "boolean")


def build_pipeline(
    signature: list[dict[str, Any]], estimator: Any, *, scale_numeric: bool = True
) -> Pipeline:
    """Pipeline: impute + (scale) numeric, impute + one-hot the rest, then ``estimator``.

    Args:
        signature: Input columns with logical types (see ``infer_signature``).
        estimator: An unfitted scikit-learn estimator.
        scale_numeric: Standardise numeric columns (helps linear models and SVMs; trees
            are unaffected).
    """
    numeric = [c["name"] for c in signature if c["type"] in NUMERIC_TYPES]
    # Date/time columns are left out: turn them into features (e.g. date parts) first.
    categorical = [c["name"] for c in signature if c["type"] in CATEGORICAL_TYPES]
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        (
                            "one_hot",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            )
        )
    preprocess = ColumnTransformer(transformers, remainder="drop")
    return Pipeline([("preprocess", preprocess), ("model", estimator)])
