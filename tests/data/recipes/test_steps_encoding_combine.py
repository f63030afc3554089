"""Encodings, joins and group-by against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siklus.data.recipes import Recipe, RecipeError, Step, transform_table

# -- encodings --------------------------------------------------------------------------------


def test_one_hot_matches_get_dummies(run, same, frame):
    dummies = pd.get_dummies(frame["cat"], prefix="cat", dtype=int)
    same(
        run(frame, Step("one_hot", column="cat")),
        pd.concat([frame.drop(columns="cat"), dummies], axis=1),
    )


def test_one_hot_of_integers_with_prefix_and_original_kept(run, same, frame):
    dummies = pd.get_dummies(frame["key"], prefix="k", prefix_sep=".", dtype=int)
    out = run(frame, Step("one_hot", column="key", prefix="k", separator=".", keep_original=True))
    same(out, pd.concat([frame, dummies], axis=1))


def test_one_hot_keeps_the_most_frequent_categories(run, same, frame):
    top = frame["grp"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
    kept = sorted(top.index[:2])
    dummies = pd.get_dummies(frame["grp"], prefix="grp", dtype=int)[[f"grp_{c}" for c in kept]]
    out = run(frame, Step("one_hot", column="grp", max_categories=2))
    same(out, pd.concat([frame.drop(columns="grp"), dummies], axis=1))


def test_one_hot_with_fixed_categories_learns_nothing(frame):
    recipe = Recipe("r", steps=[Step("one_hot", column="cat", categories=["a", "zz"])])
    assert recipe.learning_steps() == []
    out, applied = transform_table(recipe, pa_table(frame))
    assert applied is recipe
    assert out.column("cat_zz").to_pylist() == [0] * len(frame)


def pa_table(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


def test_ordinal_encode_uses_sorted_categories(run, same, frame):
    categories = sorted(frame["cat"].dropna().unique())
    codes = pd.Categorical(frame["cat"], categories=categories).codes
    expected = pd.Series(codes, dtype="Int64").where(codes >= 0)
    same(run(frame, Step("ordinal_encode", column="cat")), frame.assign(cat=expected))


def test_ordinal_encode_with_given_order_and_unknown(run, same, frame):
    order = ["z", "y"]
    out = run(frame, Step("ordinal_encode", column="grp", categories=order, unknown_value=99))
    same(out, frame.assign(grp=frame["grp"].map({"z": 0, "y": 1}).fillna(99).astype(int)))


@pytest.mark.parametrize("normalize", [False, True])
def test_frequency_encode(run, same, frame, normalize):
    counts = frame["grp"].value_counts(normalize=normalize)
    out = run(frame, Step("frequency_encode", column="grp", normalize=normalize))
    same(out, frame.assign(grp=frame["grp"].map(counts)), exact=False)


# -- join ---------------------------------------------------------------------------------------


@pytest.fixture
def lookup(tmp_path):
    table = pd.DataFrame(
        {
            "key": [0, 1, 2, 2, 3],
            "label": ["zero", "one", "two", "deux", "three"],
            "num": np.arange(5) / 10,
        }
    )
    path = tmp_path / "lookup.parquet"
    table.to_parquet(path, index=False)
    csv = tmp_path / "lookup.csv"
    table.to_csv(csv, index=False)
    return table, path, csv


@pytest.mark.parametrize("how", ["left", "inner"])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_join_matches_merge(run, same, frame, lookup, how, fmt):
    table, parquet, csv = lookup
    path = parquet if fmt == "parquet" else csv
    out = run(frame, Step("join", path=str(path), on=["key"], how=how))
    expected = frame.merge(table, on="key", how=how, suffixes=("", "_right"))
    same(out, expected, exact=False)


def test_join_selected_columns_and_different_key_names(run, same, frame, lookup):
    table, parquet, _ = lookup
    right = table.rename(columns={"key": "id"})
    right.to_parquet(parquet, index=False)
    out = run(
        frame, Step("join", path=str(parquet), on=["key"], right_on=["id"], columns=["label"])
    )
    expected = frame.merge(right[["id", "label"]], left_on="key", right_on="id", how="left").drop(
        columns="id"
    )
    same(out, expected)


def test_join_unknown_right_key_names_the_step(frame, lookup):
    _, parquet, _ = lookup
    recipe = Recipe("r", steps=[Step("drop_missing"), Step("join", path=str(parquet), on=["grp"])])
    with pytest.raises(
        RecipeError, match=r"step 2 \(join\): key column 'grp' is not in the joined data"
    ):
        transform_table(recipe, pa_table(frame))


def test_join_missing_file_names_the_step(frame, tmp_path):
    recipe = Recipe("r", steps=[Step("join", path=str(tmp_path / "nope.csv"), on=["key"])])
    with pytest.raises(
        RecipeError, match=r"step 1 \(join\): Input file .*nope\.csv' does not exist"
    ):
        transform_table(recipe, pa_table(frame))


# -- group_by -------------------------------------------------------------------------------


def test_group_by_matches_pandas_agg(run, same, frame):
    step = Step(
        "group_by",
        by=["grp"],
        aggregations={
            "rows": "count(*)",
            "n_num": "count(num)",
            "mean_num": "mean(num)",
            "sum_int": "sum(int)",
            "median_num": "median(num)",
            "std_num": "std(num)",
            "var_pos": {"function": "var", "column": "pos"},
            "min_day": "min(day)",
            "max_int": "max(int)",
            "cats": "count_distinct(cat)",
            "first_cat": "first(cat)",
            "last_cat": "last(cat)",
        },
    )
    grouped = frame.groupby("grp", sort=True, dropna=False)
    expected = pd.DataFrame(
        {
            "grp": sorted(frame["grp"].unique()),
            "rows": grouped.size().to_numpy(),
            "n_num": grouped["num"].count().to_numpy(),
            "mean_num": grouped["num"].mean().to_numpy(),
            "sum_int": grouped["int"].sum().to_numpy(),
            "median_num": grouped["num"].median().to_numpy(),
            "std_num": grouped["num"].std().to_numpy(),
            "var_pos": grouped["pos"].var().to_numpy(),
            "min_day": grouped["day"].min().to_numpy(),
            "max_int": grouped["int"].max().to_numpy(),
            "cats": grouped["cat"].nunique().to_numpy(),
            "first_cat": grouped["cat"].first().to_numpy(),
            "last_cat": grouped["cat"].last().to_numpy(),
        }
    )
    same(run(frame, step), expected, exact=False)


def test_group_by_several_keys_with_missing_keys_sorted_last(run, same, frame):
    out = run(frame, Step("group_by", by=["cat", "key"], aggregations={"total": "sum(pos)"}))
    expected = (
        frame.groupby(["cat", "key"], sort=True, dropna=False)["pos"]
        .sum()
        .rename("total")
        .reset_index()
    )
    same(out, expected, exact=False)
