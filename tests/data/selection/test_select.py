"""Feature selection on breast-cancer data with injected constant, noise and id-like columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_diabetes
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

from siklus.data import read_frame, store_table
from siklus.data.selection import SelectionReport, select_features
from siklus.exceptions import InvalidParameter


@pytest.fixture(scope="module")
def cancer(breast_cancer_frame) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = breast_cancer_frame.copy()
    frame["constant"] = 3.0
    frame["noise"] = rng.normal(size=len(frame))
    frame["site"] = np.where(np.arange(len(frame)) < 8, "B", "A")  # 98.6% "A"
    return frame


def store(ctx, frame: pd.DataFrame, name: str):
    return store_table(ctx, pa.Table.from_pandas(frame, preserve_index=False), name, source="t")[0]


@pytest.fixture
def report(ctx, cancer) -> SelectionReport:
    store(ctx, cancer, "bc")
    return select_features(ctx, "bc", target="diagnosis", output_name="bc.features")


def test_constant_correlated_and_noise_are_dropped_with_reasons(report):
    assert report.task == "classification" and report.method == "mutual_info"
    assert report.why("constant").reason == "constant"
    near = report.why("site")
    assert near.reason == "near_constant" and near.value == pytest.approx(561 / 569)
    # Radius and perimeter are ~0.998 correlated: they do not both stay, and whatever
    # went names a partner that stayed.
    assert not {"mean radius", "mean perimeter"} <= set(report.kept)
    dropped = report.why("mean radius") or report.why("mean perimeter")
    assert (
        dropped.reason == "correlated" and dropped.value >= 0.9 and dropped.partner in report.kept
    )
    for d in report.dropped:
        if d.reason == "correlated":
            assert d.partner in report.kept
    noise = report.why("noise")
    assert noise.reason == "low_importance" and noise.value < noise.threshold == 0.01
    assert report.rows == 569 and len(report.kept) + len(report.dropped) == 33
    assert set(report.kept).isdisjoint(d.column for d in report.dropped)


def test_no_two_kept_features_are_redundant(report, cancer):
    corr = cancer[report.kept].corr().abs().to_numpy().copy()
    np.fill_diagonal(corr, 0.0)
    assert corr.max() < 0.9


def test_mutual_information_equals_scikit_learn(report, cancer):
    features = cancer.drop(columns=["diagnosis", "site"])
    y = cancer["diagnosis"]
    expected = mutual_info_classif(features, y, random_state=42)
    for name, value in zip(features.columns, expected, strict=True):
        assert report.mutual_information[name] == pytest.approx(value, abs=1e-12), name
    # The text column is scored as discrete codes.
    codes = pd.factorize(cancer["site"], sort=True)[0].reshape(-1, 1)
    site = mutual_info_classif(codes, y, discrete_features=True, random_state=42)[0]
    assert report.mutual_information["site"] == pytest.approx(site, abs=1e-6)


def test_selection_is_stored_as_a_new_version(ctx, report, cancer):
    assert report.output == "bc.features:1"
    version, frame = read_frame(ctx, "bc.features")
    assert list(frame.columns) == [*report.kept, "diagnosis"]
    assert version.parent_id == ctx.store.get_dataset_version("bc").id
    edges = ctx.store.list_lineage(version.parent_id, direction="downstream")
    assert [(e.target_id, e.relation) for e in edges] == [(version.id, "select-features")]
    assert SelectionReport.from_dict(report.to_dict()) == report


def test_random_forest_with_top_k(ctx, cancer):
    store(ctx, cancer, "bc")
    report = select_features(ctx, "bc", target="diagnosis", method="random_forest", top_k=5)
    assert len(report.kept) == 5
    ranked = sorted(report.importances, key=lambda c: -report.importances[c])
    assert set(report.kept) == set(ranked[:5])
    assert "constant" not in report.importances  # dropped before the forest
    assert abs(sum(report.importances.values()) - 1.0) < 1e-9
    assert report.dropped_for("low_importance")


def test_regression_and_excluded_columns(ctx):
    data = load_diabetes(as_frame=True).frame
    data["row_id"] = np.arange(len(data))
    store(ctx, data, "diabetes")
    report = select_features(
        ctx, "diabetes", target="target", exclude=["row_id"], min_importance=0.02
    )
    assert report.task == "regression" and "row_id" not in report.mutual_information
    features = data.drop(columns=["target", "row_id"])
    expected = mutual_info_regression(features, data["target"], random_state=42)
    assert [report.mutual_information[c] for c in features.columns] == pytest.approx(expected)
    assert all(report.mutual_information[c] >= 0.02 for c in report.kept)


def test_rows_without_target_are_ignored_and_bad_options_rejected(ctx, cancer):
    frame = cancer.copy()
    frame.loc[:9, "diagnosis"] = None
    store(ctx, frame, "bc")
    assert select_features(ctx, "bc", target="diagnosis", top_k=3).rows == 559
    with pytest.raises(InvalidParameter, match=r"no column\(s\) \['diag'\]"):
        select_features(ctx, "bc", target="diag")
    with pytest.raises(InvalidParameter, match=r"correlation=1\.5"):
        select_features(ctx, "bc", target="diagnosis", correlation=1.5)
    with pytest.raises(InvalidParameter, match="method='lasso'"):
        select_features(ctx, "bc", target="diagnosis", method="lasso")
    with pytest.raises(InvalidParameter, match="numeric target"):
        select_features(ctx, "bc", target="diagnosis", task="regression")


def test_mixed_feature_types_are_encoded(ctx):
    rng = np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "signal": y + rng.normal(scale=0.3, size=n),
            "flag": y.astype(bool),
            "colour": np.where(y == 1, "red", rng.choice(["red", "blue", None], n)),
            "when": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 1000, n), unit="h"),
            "spiky": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)),
            "label": np.where(y == 1, "yes", "no"),
        }
    )
    store(ctx, frame, "mixed")
    report = select_features(ctx, "mixed", target="label", correlation=0.99)
    assert {"signal", "flag", "colour"} <= set(report.kept)
    assert report.mutual_information["flag"] > 0.5  # a perfect predictor, scored discrete
    assert set(report.mutual_information) == {"signal", "flag", "colour", "when", "spiky"}
