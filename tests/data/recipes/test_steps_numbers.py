"""Missing values, arithmetic, scaling and binning against pandas / numpy.

Statistic definitions the steps use, and the pandas calls they must match:
``avg`` = ``mean()``; ``quantile_cont`` = ``quantile()`` / ``median()`` (linear);
``stddev_samp`` = ``std()`` (ddof=1), ``stddev_pop`` = ``std(ddof=0)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siklus.data.recipes import Step

# -- fill_missing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"column": "num", "strategy": "constant", "value": 0},
            lambda df: df.assign(num=df["num"].fillna(0)),
        ),
        (
            {"column": "cat", "strategy": "constant", "value": "none"},
            lambda df: df.assign(cat=df["cat"].fillna("none")),
        ),
        (
            {"column": "num", "strategy": "mean"},
            lambda df: df.assign(num=df["num"].fillna(df["num"].mean())),
        ),
        (
            {"columns": ["num"], "strategy": "median"},
            lambda df: df.assign(num=df["num"].fillna(df["num"].median())),
        ),
        (
            {"column": "cat", "strategy": "mode"},
            lambda df: df.assign(cat=df["cat"].fillna(df["cat"].mode()[0])),
        ),
        (
            {"column": "num", "strategy": "forward_fill"},
            lambda df: df.assign(num=df["num"].ffill()),
        ),
        (
            {"column": "num", "strategy": "backward_fill"},
            lambda df: df.assign(num=df["num"].bfill()),
        ),
        (
            {"column": "num", "strategy": "forward_fill", "order_by": ["order"]},
            lambda df: df.assign(num=df.sort_values("order")["num"].ffill().reindex(df.index)),
        ),
        (
            {"column": "num", "strategy": "forward_fill", "partition_by": ["grp"]},
            lambda df: df.assign(num=df.groupby("grp")["num"].ffill()),
        ),
        (
            {"column": "num", "strategy": "median", "suffix": "_filled"},
            lambda df: df.assign(num_filled=df["num"].fillna(df["num"].median())),
        ),
    ],
)
def test_fill_missing(run, same, frame, params, expected):
    same(run(frame, Step("fill_missing", **params)), expected(frame), exact=False)


def test_fill_mode_breaks_ties_by_smallest_value(run, same):
    df = pd.DataFrame({"c": ["b", "a", "b", "a", None, "c"]})
    same(run(df, Step("fill_missing", column="c", strategy="mode")), df.fillna({"c": "a"}))
    assert df["c"].mode()[0] == "a"


# -- arithmetic -------------------------------------------------------------------------------


def _round_half_away(x: pd.Series, decimals: int) -> pd.Series:
    scale = 10.0**decimals
    return np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Step("abs", column="neg"), lambda df: df.assign(neg=df["neg"].abs())),
        (
            Step("round", column="neg", decimals=2),
            lambda df: df.assign(neg=_round_half_away(df["neg"], 2)),
        ),
        (
            Step("round", column="int", decimals=-1),
            lambda df: df.assign(int=_round_half_away(df["int"], -1)),
        ),
        (
            Step("clip", columns=["neg", "num"], lower=-1, upper=50),
            lambda df: df.assign(neg=df["neg"].clip(-1, 50), num=df["num"].clip(-1, 50)),
        ),
        (Step("clip", column="int", upper=10), lambda df: df.assign(int=df["int"].clip(upper=10))),
        (Step("log_transform", column="pos"), lambda df: df.assign(pos=np.log1p(df["pos"]))),
        (
            Step("log_transform", column="pos", method="ln"),
            lambda df: df.assign(pos=np.log(df["pos"])),
        ),
        (
            Step("log_transform", column="pos", method="log10"),
            lambda df: df.assign(pos=np.log10(df["pos"])),
        ),
        (
            Step("log_transform", column="pos", method="log2"),
            lambda df: df.assign(pos=np.log2(df["pos"])),
        ),
        (
            Step("log_transform", column="neg", on_invalid="null"),
            lambda df: df.assign(neg=np.log1p(df["neg"].where(df["neg"] > -1))),
        ),
    ],
)
def test_arithmetic(run, same, frame, step, expected):
    same(run(frame, step), expected(frame), exact=False)


def test_log1p_keeps_precision_near_zero(run):
    df = pd.DataFrame({"x": [1e-12, -3e-9, 5e-5, 0.0]})
    out = run(df, Step("log_transform", column="x"))
    np.testing.assert_allclose(out["x"], np.log1p(df["x"]), rtol=1e-14, atol=0)


# -- scaling and outliers ---------------------------------------------------------------------


def _standard(x: pd.Series, ddof: int) -> pd.Series:
    return (x - x.mean()) / x.std(ddof=ddof)


def _iqr_clip(x: pd.Series, factor: float) -> pd.Series:
    q1, q3 = x.quantile(0.25), x.quantile(0.75)
    return x.clip(q1 - factor * (q3 - q1), q3 + factor * (q3 - q1))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Step("scale_standard", column="num"), lambda df: df.assign(num=_standard(df["num"], 1))),
        (
            Step("scale_standard", columns=["num", "int"], ddof=0),
            lambda df: df.assign(num=_standard(df["num"], 0), int=_standard(df["int"], 0)),
        ),
        (
            Step("scale_standard", column="num", with_std=False),
            lambda df: df.assign(num=df["num"] - df["num"].mean()),
        ),
        (
            Step("scale_minmax", column="num"),
            lambda df: df.assign(
                num=(df["num"] - df["num"].min()) / (df["num"].max() - df["num"].min())
            ),
        ),
        (
            Step("scale_minmax", column="int", min=-1, max=1),
            lambda df: df.assign(
                int=(df["int"] - df["int"].min()) / (df["int"].max() - df["int"].min()) * 2 - 1
            ),
        ),
        (
            Step("scale_robust", column="num"),
            lambda df: df.assign(
                num=(df["num"] - df["num"].median())
                / (df["num"].quantile(0.75) - df["num"].quantile(0.25))
            ),
        ),
        (
            Step("scale_robust", column="pos", quantile_range=(10, 90)),
            lambda df: df.assign(
                pos=(df["pos"] - df["pos"].median())
                / (df["pos"].quantile(0.9) - df["pos"].quantile(0.1))
            ),
        ),
        (
            Step("scale_maxabs", column="neg"),
            lambda df: df.assign(neg=df["neg"] / df["neg"].abs().max()),
        ),
        (
            Step("clip_outliers_iqr", column="pos"),
            lambda df: df.assign(pos=_iqr_clip(df["pos"], 1.5)),
        ),
        (
            Step("clip_outliers_iqr", column="num", factor=0.5),
            lambda df: df.assign(num=_iqr_clip(df["num"], 0.5)),
        ),
        (
            Step("clip_outliers_zscore", column="pos", threshold=1.0),
            lambda df: df.assign(
                pos=df["pos"].clip(
                    df["pos"].mean() - df["pos"].std(), df["pos"].mean() + df["pos"].std()
                )
            ),
        ),
    ],
)
def test_scaling(run, same, frame, step, expected):
    same(run(frame, step), expected(frame), exact=False)


def test_standard_scaling_matches_scikit_learn_with_ddof_0(run, frame):
    from sklearn.preprocessing import StandardScaler

    values = frame[["int"]].astype(float)
    out = run(frame, Step("scale_standard", column="int", ddof=0))
    np.testing.assert_allclose(out["int"], StandardScaler().fit_transform(values)[:, 0], rtol=1e-12)


def test_constant_column_scales_to_zero(run):
    df = pd.DataFrame({"x": [3.0, 3.0, 3.0]})
    assert run(df, Step("scale_standard", column="x"))["x"].tolist() == [0.0, 0.0, 0.0]


# -- binning --------------------------------------------------------------------------------


def _as_int(values: pd.Series) -> pd.Series:
    return pd.Series(values).astype("Int64")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            Step("bin_equal_width", column="num", bins=4),
            lambda df: df.assign(num=_as_int(pd.cut(df["num"], 4, labels=False))),
        ),
        (
            Step("bin_equal_width", column="int", bins=7, suffix="_bin"),
            lambda df: df.assign(int_bin=_as_int(pd.cut(df["int"], 7, labels=False))),
        ),
        (
            Step("bin_quantile", column="num", bins=4),
            lambda df: df.assign(num=_as_int(pd.qcut(df["num"], 4, labels=False))),
        ),
        (
            Step("bin_quantile", column="pos", bins=10),
            lambda df: df.assign(pos=_as_int(pd.qcut(df["pos"], 10, labels=False))),
        ),
        (
            Step("bin_custom", column="num", edges=[20, 40, 60, 70]),
            lambda df: df.assign(
                num=_as_int(pd.cut(df["num"], [20, 40, 60, 70], labels=False, include_lowest=True))
            ),
        ),
        (
            Step("bin_custom", column="int", edges=[0, 10, 50, 99], labels=["low", "mid", "high"]),
            lambda df: df.assign(
                int=pd.cut(
                    df["int"], [0, 10, 50, 99], labels=["low", "mid", "high"], include_lowest=True
                ).astype(object)
            ),
        ),
    ],
)
def test_binning(run, same, frame, step, expected):
    same(run(frame, step), expected(frame))
