"""Turn a DataFrame's columns into the numeric matrix scikit-learn's scorers need.

Mutual information and random forests take numbers without gaps, so each feature is
encoded once, the same way for every step: numbers stay numbers (gaps and infinities
filled with the median), booleans become 0/1, times become epoch seconds, and text or
categories become integer codes marked *discrete* (so mutual information counts them
instead of treating the codes as distances). The encoding is only for scoring; the
selected dataset keeps the original columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from siklus.exceptions import InvalidParameter

TASKS = ("classification", "regression")

#: An integer target with at most this many distinct values is taken as class labels.
MAX_INTEGER_CLASSES = 20


def infer_task(y: pd.Series) -> str:
    """``classification`` for labels (text, booleans, few integers), else ``regression``."""
    if ptypes.is_bool_dtype(y) or not ptypes.is_numeric_dtype(y):
        return "classification"
    if ptypes.is_integer_dtype(y) and y.nunique() <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def check_task(task: str | None, y: pd.Series) -> str:
    if task is None:
        return infer_task(y)
    if task not in TASKS:
        raise InvalidParameter(f"task={task!r} is not valid; use one of {TASKS} (or None: infer).")
    if task == "regression" and not ptypes.is_numeric_dtype(y):
        raise InvalidParameter(
            f"task='regression' needs a numeric target, but {y.name!r} is {y.dtype}; "
            "use task='classification'."
        )
    return task


def encode_target(y: pd.Series, task: str) -> np.ndarray:
    if task == "classification":
        codes, _ = pd.factorize(y, sort=True)
        return codes
    return y.astype(float).to_numpy()


def is_discrete(series: pd.Series) -> bool:
    """Whether a feature is scored as categories rather than a continuous number."""
    return ptypes.is_bool_dtype(series) or not (
        ptypes.is_numeric_dtype(series) or ptypes.is_datetime64_any_dtype(series)
    )


def is_number(series: pd.Series) -> bool:
    """A numeric, non-boolean column: the features Pearson's r is defined for."""
    return ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series)


def encode_features(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[bool]]:
    """Every column as float64 without missing values, and which columns are discrete.

    Returns:
        ``(matrix, discrete)``: the encoded frame (same columns, same order) and a flag
        per column for ``mutual_info_*(discrete_features=...)``.
    """
    encoded: dict[str, np.ndarray] = {}
    discrete = []
    for name in frame.columns:
        column = frame[name]
        if ptypes.is_bool_dtype(column):
            values = column.astype("float64").fillna(-1.0).to_numpy()
        elif ptypes.is_datetime64_any_dtype(column):
            seconds = (column - pd.Timestamp(0, tz=column.dt.tz)) / pd.Timedelta(seconds=1)
            values = seconds.fillna(seconds.median()).fillna(0.0).to_numpy(dtype="float64")
        elif ptypes.is_numeric_dtype(column):
            # ±inf would stop scikit-learn; score it like a missing value.
            numbers = column.astype("float64").replace([np.inf, -np.inf], np.nan)
            values = numbers.fillna(numbers.median()).fillna(0.0).to_numpy(dtype="float64")
        else:
            codes, _ = pd.factorize(column.astype("object"), sort=True)
            values = codes.astype("float64")  # missing → -1, a category of its own
        encoded[name] = values
        discrete.append(is_discrete(column))
    return pd.DataFrame(encoded, index=frame.index), discrete


def top_value_share(column: pd.Series) -> float:
    """Share of rows holding the column's most frequent value (missing counts as a value)."""
    if len(column) == 0:
        return 1.0
    return float(column.value_counts(dropna=False, normalize=True).iloc[0])


__all__ = [
    "MAX_INTEGER_CLASSES",
    "TASKS",
    "check_task",
    "encode_features",
    "encode_target",
    "infer_task",
    "is_discrete",
    "is_number",
    "top_value_share",
]
