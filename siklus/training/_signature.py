"""A model's input signature: the columns it was trained on and their logical types.

The signature is saved in the model manifest and checked on every prediction request, so
a wrong payload gets a precise 4xx message ("column 'age' row 3: 'abc' is not a number")
instead of an obscure error from deep inside scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from siklus.exceptions import InvalidInput

LOGICAL_TYPES = ("integer", "number", "boolean", "string", "datetime")


def logical_type(series: pd.Series) -> str:
    """Map a pandas dtype to one of :data:`LOGICAL_TYPES`."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def infer_signature(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per column: ``{"name", "type", "nullable"}``."""
    return [
        {
            "name": str(col),
            "type": logical_type(frame[col]),
            "nullable": bool(frame[col].isna().any()),
        }
        for col in frame.columns
    ]


def _bad_rows(mask: np.ndarray, values: pd.Series, limit: int = 3) -> str:
    rows = np.flatnonzero(mask)[:limit]
    shown = ", ".join(f"row {int(i)}: {values.iloc[i]!r}" for i in rows)
    more = f" (and {int(mask.sum()) - len(rows)} more)" if mask.sum() > len(rows) else ""
    return shown + more


def _coerce_column(name: str, kind: str, values: pd.Series) -> pd.Series:
    if kind in ("integer", "number") and (
        pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype)
    ):
        return values.astype("float64")  # fast path: already numeric
    present = values.notna().to_numpy()
    if kind in ("integer", "number"):
        if pd.api.types.is_bool_dtype(values.dtype):
            raise InvalidInput(f"Column {name!r} must be a number, got booleans.")
        converted = pd.to_numeric(values, errors="coerce")
        bad = present & converted.isna().to_numpy()
        # A bool inside an object column would silently become 0/1: refuse it too.
        if values.dtype == object:
            bad |= values.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
        if bad.any():
            raise InvalidInput(f"Column {name!r} must be a number; got {_bad_rows(bad, values)}.")
        return converted.astype("float64")
    if kind == "boolean":
        mapping = {True: True, False: False, "true": True, "false": False}  # 1/0 hash as True/False
        converted = values.map(
            lambda v: (
                mapping.get(v.lower() if isinstance(v, str) else v)
                if v is not None and not (isinstance(v, float) and np.isnan(v))
                else None
            )
        )
        bad = present & converted.isna().to_numpy()
        if bad.any():
            raise InvalidInput(f"Column {name!r} must be a boolean; got {_bad_rows(bad, values)}.")
        # Missing as NaN, not None: scikit-learn's imputers see NaN as missing in object
        # columns but treat None as one more category.
        return converted.astype("object").where(present, np.nan)
    if kind == "datetime":
        converted = pd.to_datetime(values, errors="coerce", utc=True)
        bad = present & converted.isna().to_numpy()
        if bad.any():
            raise InvalidInput(
                f"Column {name!r} must be a date/time; got {_bad_rows(bad, values)}."
            )
        return converted
    # string: numbers are accepted and turned into text (CSV payloads have no types)
    bad = present & values.map(lambda v: isinstance(v, (dict, list))).to_numpy(dtype=bool)
    if bad.any():
        raise InvalidInput(f"Column {name!r} must be text; got {_bad_rows(bad, values)}.")
    # Object dtype with NaN for missing: what SimpleImputer/OneHotEncoder expect, whatever
    # string dtype pandas chose when reading the data.
    return pd.Series(
        [
            np.nan if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in values
        ],
        index=values.index,
        dtype=object,
        name=name,
    )


def conform(
    frame: pd.DataFrame,
    signature: Sequence[dict[str, Any]],
    *,
    allow_extra: bool = False,
    allow_missing_values: bool = True,
) -> pd.DataFrame:
    """Check ``frame`` against ``signature`` and return it in signature order and types.

    Args:
        frame: Input rows.
        signature: From :func:`infer_signature` (the model manifest's ``input_signature``).
        allow_extra: Ignore columns the model does not use instead of refusing them.
        allow_missing_values: Accept empty cells (the model pipeline imputes them).

    Raises:
        InvalidInput: Missing or unexpected columns, or a value of the wrong type, with
            the column, the offending rows and what was expected.
    """
    expected = [c["name"] for c in signature]
    columns = [str(c) for c in frame.columns]
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        raise InvalidInput(
            f"Missing column(s) {missing}; the model expects {len(expected)} columns: {expected}."
        )
    if extra and not allow_extra:
        raise InvalidInput(
            f"Unexpected column(s) {extra}; the model expects exactly {expected}. "
            "Remove them from the payload."
        )
    frame = frame.copy()
    frame.columns = columns
    out = {}
    for column in signature:
        name = column["name"]
        values = frame[name]
        if not allow_missing_values:
            missing_mask = values.isna().to_numpy()
            if missing_mask.any():
                raise InvalidInput(
                    f"Column {name!r} has missing values at rows "
                    f"{np.flatnonzero(missing_mask)[:5].tolist()}; this model needs them all."
                )
        out[name] = _coerce_column(name, column["type"], values)
    return pd.DataFrame(out, index=frame.index)
