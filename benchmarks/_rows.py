"""Rows for the benchmarks: real breast-cancer rows, resampled and jittered to any size.

Imported by the benchmark scripts beside it (``python benchmarks/NAME.py`` puts this
folder first on ``sys.path``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer


def breast_cancer_rows(rows: int, seed: int = 0, *, with_id: bool = False) -> pd.DataFrame:
    """``rows`` real rows drawn with replacement, each feature scaled by N(1, 0.02) noise
    (fixed seed); with ``with_id``, an integer ``id`` column first."""
    data = load_breast_cancer(as_frame=True).data
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=rows)
    values = data.to_numpy()[picks] * rng.normal(1.0, 0.02, size=(rows, data.shape[1]))
    frame = pd.DataFrame(values, columns=data.columns)
    if with_id:
        frame.insert(0, "id", np.arange(rows, dtype=np.int64))
    return frame
