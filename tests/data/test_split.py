from __future__ import annotations

import numpy as np
import pytest

from siklus.data import ingest, read_frame, split_dataset
from siklus.exceptions import InvalidParameter


@pytest.fixture
def bc(ctx, breast_cancer_csv):
    return ingest(ctx, breast_cancer_csv, "bc")[0]


def test_default_split_is_80_10_10_disjoint_and_complete(ctx, bc):
    parts = split_dataset(ctx, "bc")
    sizes = {k: v.row_count for k, v in parts.items()}
    assert sum(sizes.values()) == 569
    assert sizes["train"] == pytest.approx(0.8 * 569, abs=1)
    assert sizes["validation"] == pytest.approx(0.1 * 569, abs=1)
    frames = {k: read_frame(ctx, v)[1] for k, v in parts.items()}
    keys = {k: set(map(tuple, f.round(6).to_numpy().tolist())) for k, f in frames.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert all(v.parent_id == bc.id for v in parts.values())
    assert {v.name for v in parts.values()} == {"bc.train", "bc.validation", "bc.test"}


def test_split_is_seeded(ctx, bc):
    first = split_dataset(ctx, "bc", seed=7)
    again = split_dataset(ctx, "bc", seed=7)
    assert {k: v.sha256 for k, v in first.items()} == {k: v.sha256 for k, v in again.items()}
    other = split_dataset(ctx, "bc", seed=8)
    assert other["test"].sha256 != first["test"].sha256


def test_stratified_split_keeps_class_shares(ctx, bc):
    parts = split_dataset(ctx, "bc", stratify="diagnosis")
    overall = read_frame(ctx, "bc")[1]["diagnosis"].eq("malignant").mean()
    for version in parts.values():
        share = read_frame(ctx, version)[1]["diagnosis"].eq("malignant").mean()
        assert abs(share - overall) < 0.02


def test_bad_split_requests(ctx, bc):
    with pytest.raises(InvalidParameter, match="add up"):
        split_dataset(ctx, "bc", fractions=(0.8, 0.1, 0.2))
    with pytest.raises(InvalidParameter, match="between 0 and 1"):
        split_dataset(ctx, "bc", fractions=(1.0, 0.0, 0.0))
    with pytest.raises(InvalidParameter, match="no such column"):
        split_dataset(ctx, "bc", stratify="nope")


def test_split_lineage_recorded(ctx, bc):
    parts = split_dataset(ctx, "bc")
    downstream = {e.target_id for e in ctx.store.list_lineage(bc.id, "downstream")}
    assert downstream == {v.id for v in parts.values()}
    assert np.isclose(sum(v.row_count for v in parts.values()), bc.row_count)
