"""Imported by train_sgd.py: proves the whole source folder travels with the script."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def channel(name: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of input channel ``name`` (its Parquet file)."""
    frame = pd.read_parquet(os.environ[f"SIKLUS_CHANNEL_{name.upper()}"])
    return frame.drop(columns=[target]).to_numpy(dtype=float), frame[target].to_numpy()
