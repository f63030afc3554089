from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siklus.exceptions import InvalidInput
from siklus.training import conform, infer_signature


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 40, 50],
            "income": [1.5, np.nan, 3.0],
            "city": ["a", None, "c"],
            "member": [True, False, True],
        }
    )


def test_infer_signature(frame):
    sig = infer_signature(frame)
    assert [(c["name"], c["type"], c["nullable"]) for c in sig] == [
        ("age", "integer", False),
        ("income", "number", True),
        ("city", "string", True),
        ("member", "boolean", False),
    ]


def test_conform_reorders_and_coerces(frame):
    sig = infer_signature(frame)
    payload = pd.DataFrame(
        {
            "member": ["true", "false", True],
            "city": [1, "b", None],
            "income": ["2.5", 3, None],
            "age": ["31", 41, 51],
        }
    )
    out = conform(payload, sig)
    assert list(out.columns) == ["age", "income", "city", "member"]
    assert out["age"].tolist() == [31.0, 41.0, 51.0]
    assert out["city"].tolist()[:2] == ["1", "b"] and pd.isna(out["city"].iloc[2])
    assert out["member"].tolist() == [True, False, True]


def test_missing_booleans_are_nan_so_imputers_fill_them():
    from sklearn.impute import SimpleImputer

    sig = [{"name": "member", "type": "boolean", "nullable": True}]
    out = conform(pd.DataFrame({"member": [None, "false", np.nan]}), sig)
    assert out["member"].iloc[1] is False
    assert pd.isna(out["member"].iloc[0]) and out["member"].iloc[0] is not None
    filled = SimpleImputer(strategy="most_frequent").fit(
        conform(pd.DataFrame({"member": [True, True, False, None]}), sig)
    )
    assert filled.transform(out).ravel().tolist() == [True, False, True]


def test_conform_errors_name_column_and_row(frame):
    sig = infer_signature(frame)
    good = frame.copy()
    with pytest.raises(InvalidInput, match=r"Missing column\(s\) \['city'\]"):
        conform(good.drop(columns=["city"]), sig)
    with pytest.raises(InvalidInput, match=r"Unexpected column\(s\) \['extra'\]"):
        conform(good.assign(extra=1), sig)
    assert list(conform(good.assign(extra=1), sig, allow_extra=True).columns) == list(frame.columns)
    bad = good.astype({"age": object})
    bad.loc[2, "age"] = "abc"
    with pytest.raises(InvalidInput, match=r"Column 'age' must be a number; got row 2: 'abc'"):
        conform(bad, sig)
    bad = good.astype({"member": object})
    bad.loc[1, "member"] = "maybe"
    with pytest.raises(InvalidInput, match="'member' must be a boolean"):
        conform(bad, sig)
    bad = good.astype({"age": object})
    bad.loc[0, "age"] = True
    with pytest.raises(InvalidInput, match="'age' must be a number"):
        conform(bad, sig)
