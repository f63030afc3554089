"""Profile statistics equal pandas' (and numpy's, scipy's) on the same data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association

from siklus.data.quality import QUANTILES, Profile, compute_profile, cramers_v
from siklus.exceptions import InvalidParameter

REL = 1e-9


@pytest.fixture(scope="module")
def profile(mixed_parquet: Path) -> Profile:
    return compute_profile(mixed_parquet, dataset="mixed:1", top_k=5, bins=20)


@pytest.mark.parametrize("name", ["f", "g", "i", "id"])
def test_numeric_statistics_equal_pandas(profile: Profile, mixed_frame: pd.DataFrame, name: str):
    column, series = profile.column(name), mixed_frame[name].astype("float64")
    assert column.kind == "numeric"
    assert column.count == series.notna().sum()
    assert column.missing == series.isna().sum()
    assert column.missing_pct == pytest.approx(series.isna().mean() * 100, rel=REL)
    assert column.distinct == series.nunique()
    assert column.mean == pytest.approx(series.mean(), rel=REL)
    assert column.std == pytest.approx(series.std(ddof=1), rel=REL)
    assert column.min == pytest.approx(series.min(), rel=REL)
    assert column.max == pytest.approx(series.max(), rel=REL)
    expected = series.quantile([q for _, q in QUANTILES], interpolation="linear")
    for (label, q), value in zip(QUANTILES, expected, strict=True):
        assert column.quantiles[label] == pytest.approx(value, rel=REL), (label, q)


@pytest.mark.parametrize("name", ["s", "shade", "flag", "i", "code"])
def test_top_values_and_distinct_equal_pandas(
    profile: Profile, mixed_frame: pd.DataFrame, name: str
):
    column, series = profile.column(name), mixed_frame[name]
    counts = series.value_counts(dropna=True)
    assert column.distinct == series.nunique()
    assert column.missing_pct == pytest.approx(series.isna().mean() * 100, rel=REL)
    reported = [(item["value"], item["count"]) for item in column.top_values]
    assert len(reported) == min(5, len(counts))
    for value, count in reported:
        assert counts[value] == count
    # Same counts as pandas' top 5 (ties may list different values of equal count).
    assert [c for _, c in reported] == counts.sort_values(ascending=False).head(5).tolist()


def test_ties_are_broken_by_value(to_parquet):
    frame = pd.DataFrame({"x": ["b", "a", "c", "a", "b", "c", "d"]})
    profile = compute_profile(to_parquet(frame), top_k=3)
    assert profile.column("x").top_values == [
        {"value": "a", "count": 2},
        {"value": "b", "count": 2},
        {"value": "c", "count": 2},
    ]
    assert profile.column("x").histogram.labels == ["a", "b", "c", "(other)"]
    assert profile.column("x").histogram.counts == [2, 2, 2, 1]


def test_histograms_equal_numpy(profile: Profile, mixed_frame: pd.DataFrame):
    f = mixed_frame["f"].dropna().to_numpy()
    counts, edges = np.histogram(f, bins=20, range=(f.min(), f.max()))
    assert profile.column("f").histogram.kind == "bins"
    assert profile.column("f").histogram.counts == counts.tolist()
    assert profile.column("f").histogram.edges == pytest.approx(edges.tolist(), rel=REL)
    # Small integer ranges get one bin per value.
    ints = profile.column("i").histogram
    assert ints.edges == pytest.approx([k - 0.5 for k in range(8)])
    assert ints.counts == [int((mixed_frame["i"] == k).sum()) for k in range(7)]


def test_time_column(profile: Profile, mixed_frame: pd.DataFrame):
    column, series = profile.column("t"), mixed_frame["t"]
    assert column.kind == "temporal"
    assert column.missing == series.isna().sum()
    assert pd.Timestamp(column.min) == series.min()
    assert pd.Timestamp(column.max) == series.max()
    assert column.histogram.kind == "bins" and sum(column.histogram.counts) == series.notna().sum()


def test_text_lengths_and_booleans(profile: Profile, mixed_frame: pd.DataFrame):
    lengths = mixed_frame["code"].str.len()
    assert profile.column("code").length == {"min": 5.0, "mean": float(lengths.mean()), "max": 5.0}
    flag = profile.column("flag")
    assert flag.kind == "boolean" and flag.histogram.kind == "top"
    assert sum(flag.histogram.counts) == len(mixed_frame)


def test_pearson_equals_pandas_pairwise(profile: Profile, mixed_frame: pd.DataFrame):
    numeric = ["f", "g", "i", "id"]
    expected = mixed_frame[numeric].astype("float64").corr()
    assert profile.pearson is not None and profile.pearson.columns == numeric
    for a in numeric:
        for b in numeric:
            assert profile.pearson.value(a, b) == pytest.approx(expected.loc[a, b], rel=1e-9)


def test_cramers_v_equals_scipy(profile: Profile, mixed_frame: pd.DataFrame):
    both = mixed_frame[["s", "shade"]].dropna()
    table = pd.crosstab(both["s"], both["shade"]).to_numpy()
    expected = association(table, method="cramer", correction=False)
    assert profile.cramers_v is not None
    assert profile.cramers_v.value("s", "shade") == pytest.approx(expected, rel=1e-9)
    assert cramers_v(np.array([[10, 0], [0, 10]])) == pytest.approx(1.0)
    assert cramers_v(np.array([[5, 5]])) is None


def test_overview_and_warnings(profile: Profile, mixed_frame: pd.DataFrame):
    assert profile.rows == len(mixed_frame)
    assert profile.missing_cells == int(mixed_frame.isna().sum().sum())
    assert profile.duplicate_rows == 0
    kinds = {(w.kind, tuple(w.columns)) for w in profile.warnings}
    assert ("constant", ("const",)) in kinds
    assert ("all_missing", ("empty",)) in kinds
    assert ("high_missing", ("s",)) in kinds  # 25% missing
    assert ("unique", ("id",)) in kinds and ("unique", ("code",)) in kinds
    assert ("high_correlation", ("f", "g")) in kinds
    assert not any(w.kind == "high_missing" and w.columns == ["f"] for w in profile.warnings)


def test_duplicates_and_high_cardinality(to_parquet):
    frame = pd.DataFrame({"city": [f"city-{k}" for k in range(100)], "n": [1, 2] * 50})
    frame = pd.concat([frame, frame.head(20)], ignore_index=True)  # 100 of 120 distinct
    profile = compute_profile(to_parquet(frame))
    assert profile.duplicate_rows == int(frame.duplicated().sum())
    kinds = {w.kind for w in profile.warnings}
    assert {"duplicate_rows", "high_cardinality"} <= kinds


def test_json_round_trip(profile: Profile):
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert Profile.from_dict(json.loads(text)) == profile


def test_empty_dataset(to_parquet):
    frame = pd.DataFrame({"x": pd.Series([], dtype="float64"), "y": pd.Series([], dtype=object)})
    profile = compute_profile(to_parquet(frame))
    assert profile.rows == 0 and profile.missing_cells == 0
    assert profile.column("x").mean is None and profile.column("x").histogram is None
    assert profile.warnings == []


def test_bad_options(mixed_parquet: Path):
    with pytest.raises(InvalidParameter, match="top_k=0"):
        compute_profile(mixed_parquet, top_k=0)
    with pytest.raises(InvalidParameter, match="bins"):
        compute_profile(mixed_parquet, bins=10_000)


def test_infinite_values_give_undefined_statistics_not_invalid_json(to_parquet):
    frame = pd.DataFrame({"x": [1.0, 2.0, np.inf, np.nan], "y": [1.0, 2.0, 3.0, 4.0]})
    profile = compute_profile(to_parquet(frame))
    x = profile.column("x")
    assert x.missing == 1 and x.max == "inf" and x.mean is None and x.histogram is None
    json.dumps(profile.to_dict(), allow_nan=False)
