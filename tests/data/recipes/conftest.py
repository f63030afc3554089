"""Fixtures for recipe tests: a mixed-type frame and helpers to run steps and compare.

Steps run in-process on Arrow (``transform_table``), which compiles exactly the SQL a job
runs; the job path itself is covered in ``test_run.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from siklus.data.recipes import Recipe, Step, transform_table

N = 60


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """60 seeded rows: floats with NaN, ints, categories with None, text, dates, times."""
    rng = np.random.default_rng(7)
    num = rng.normal(50, 15, N)
    num[rng.choice(N, 8, replace=False)] = np.nan
    cats = np.array(["a", "b", "c", "d", None], dtype=object)
    words = ["  Hello World ", "foo-bar", "BAZ qux", "\tTabbed\n", "mixed Case", "x"]
    start = datetime(2024, 1, 1, 6, 0)
    contacts = [
        "mail ann@example.com now",
        "call +31 20 123 4567 today",
        "ip 192.168.10.1 seen",
        "card 4111 1111 1111 1111 used",
        "nothing here",
    ]
    return pd.DataFrame(
        {
            "num": num,
            "int": rng.integers(0, 100, N).astype("int64"),
            "pos": rng.lognormal(2, 1, N),
            "neg": rng.normal(0, 3, N),
            "cat": cats[rng.integers(0, 5, N)],
            "txt": [words[i % len(words)] for i in range(N)],
            "pair": [f"{chr(97 + i % 5)},{i % 7},{i}" for i in range(N)],
            "contact": [contacts[i % len(contacts)] for i in range(N)],
            "day": [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 400, N)],
            "ts": [start + timedelta(minutes=int(m)) for m in rng.integers(0, 600000, N)],
            "ts_text": [
                (start + timedelta(hours=int(h))).strftime("%Y-%m-%d %H:%M")
                for h in rng.integers(0, 9000, N)
            ],
            "key": rng.integers(0, 6, N).astype("int64"),
            "grp": np.array(["x", "y", "z"], dtype=object)[rng.integers(0, 3, N)],
            "order": rng.permutation(N).astype("int64"),
        }
    )


def to_table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns with None for every missing value, so pandas and DuckDB output compare."""
    out = df.reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, *, exact: bool = True) -> None:
    """Frames equal in columns, order and values (floats approximately unless ``exact``)."""
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    for column in expected.columns:
        a, e = actual[column].reset_index(drop=True), expected[column].reset_index(drop=True)
        numeric = pd.api.types.is_numeric_dtype(e) and not pd.api.types.is_bool_dtype(e)
        if numeric and pd.api.types.is_numeric_dtype(a) and not exact:
            np.testing.assert_allclose(
                a.to_numpy(dtype=float), e.to_numpy(dtype=float), rtol=1e-9, atol=1e-12,
                equal_nan=True, err_msg=f"column {column!r}",
            )  # fmt: skip
        else:
            pd.testing.assert_series_equal(
                plain(a.to_frame())[column], plain(e.to_frame())[column],
                check_dtype=False, check_names=False, obj=f"column {column!r}",
            )  # fmt: skip


Run = Callable[..., pd.DataFrame]


@pytest.fixture
def run() -> Run:
    """``run(df, Step(...), ...)`` → the recipe's output as a DataFrame."""

    def _run(df: pd.DataFrame, *steps: Step, **options: Any) -> pd.DataFrame:
        out, _ = transform_table(Recipe("test", steps=steps), to_table(df), **options)
        return out.to_pandas()

    return _run


@pytest.fixture
def same() -> Callable[..., None]:
    """``same(actual, expected, exact=True)``: see :func:`assert_same`."""
    return assert_same
