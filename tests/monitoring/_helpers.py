"""Data for the monitoring tests: breast cancer with a size band; small seeded tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import Pipeline

from siklus.data import store_table
from siklus.store import WorkspaceContext


def frame(n: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.lognormal(10, 0.5, n),
            "score": rng.normal(shift, 1.0, n),
            "city": rng.choice(["jakarta", "bandung", "surabaya"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def store(ctx: WorkspaceContext, data: pd.DataFrame, name: str) -> str:
    version, _ = store_table(
        ctx, pa.Table.from_pandas(data, preserve_index=False), name, source="t"
    )
    return version.ref


LABEL = "diagnosis"
BAND = "size_band"


def bc_with_band() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    frame[BAND] = pd.qcut(frame["mean area"], 3, labels=["small", "medium", "large"]).astype(str)
    frame[LABEL] = bunch.target.map(dict(enumerate(bunch.target_names)))
    return frame


@dataclass
class Workspace:
    ctx: WorkspaceContext
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    model: Pipeline
