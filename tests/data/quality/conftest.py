"""Fixtures of the profiling and rule tests: a mixed-type frame written as Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


@pytest.fixture
def to_parquet(tmp_path: Path) -> Callable[[pd.DataFrame], Path]:
    """Write a frame as a Parquet file in the test's folder and return its path."""
    counter = iter(range(1_000_000))
    return lambda frame: write_parquet(frame, tmp_path / f"frame-{next(counter)}.parquet")


@pytest.fixture(scope="session")
def mixed_frame() -> pd.DataFrame:
    """500 rows: floats with NaN, nullable ints, text, booleans, times, edge columns."""
    rng = np.random.default_rng(7)
    n = 500
    f = rng.normal(50.0, 12.0, n)
    f[rng.random(n) < 0.1] = np.nan
    g = 2.0 * f + rng.normal(0.0, 1.0, n)
    g[rng.random(n) < 0.05] = np.nan
    ints = pd.array(rng.integers(0, 7, n), dtype="Int64")
    ints[rng.random(n) < 0.05] = pd.NA
    letters = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.42, 0.27, 0.16, 0.1, 0.05])
    text = pd.Series(letters, dtype=object)
    text[rng.random(n) < 0.25] = None
    shade = pd.Series(np.where(letters == "a", "red", rng.choice(["red", "blue"], n)))
    times = pd.Series(
        pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s")
    )
    times[rng.random(n) < 0.05] = pd.NaT
    return pd.DataFrame(
        {
            "f": f,
            "g": g,
            "i": ints,
            "s": text,
            "shade": shade,
            "flag": rng.random(n) < 0.3,
            "t": times,
            "const": 7,
            "empty": pd.Series([None] * n, dtype="float64"),
            "id": np.arange(n),
            "code": [f"C{k:04d}" for k in rng.permutation(n)],
        }
    )


@pytest.fixture(scope="session")
def mixed_parquet(tmp_path_factory: pytest.TempPathFactory, mixed_frame: pd.DataFrame) -> Path:
    return write_parquet(mixed_frame, tmp_path_factory.mktemp("quality") / "mixed.parquet")
