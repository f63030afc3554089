"""Fit learns, apply uses only what was learned (the scikit-learn estimator contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from siklus.data import ingest
from siklus.data.recipes import (
    FittedRecipe,
    Recipe,
    RecipeError,
    Step,
    fit_recipe,
    load_recipe,
    transform_table,
)

A = pd.DataFrame(
    {
        "age": [20.0, None, 30.0, 40.0, None, 100.0],
        "city": ["ams", "rtm", "ams", None, "utr", "ams"],
        "income": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)
B = pd.DataFrame(
    {
        "age": [None, 1.0, 2.0, 3.0],
        "city": ["ams", "new", None, "rtm"],
        "income": [100.0, 200.0, 300.0, 400.0],
    }
)
RECIPE = Recipe(
    "learned",
    steps=[
        Step("fill_missing", column="age", strategy="median"),
        Step("one_hot", column="city"),
        Step("scale_standard", column="income"),
        Step("bin_quantile", column="age", bins=3, suffix="_bin"),
    ],
)


def table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def test_applying_a_fitted_recipe_reuses_the_learned_values():
    _, fitted = transform_table(RECIPE, table(A))
    assert isinstance(fitted, FittedRecipe)
    median_a = A["age"].median()
    assert fitted.learned(1) == {"values": {"age": median_a}}
    assert median_a != B["age"].median()

    out = transform_table(fitted, table(B), fit=False)[0].to_pandas()
    # Imputed with A's median, not B's.
    assert out["age"].tolist() == [median_a, 1.0, 2.0, 3.0]
    # A's categories only: the unseen "new" is all zeros, there is no city_new column.
    assert [c for c in out.columns if c.startswith("city_")] == ["city_ams", "city_rtm", "city_utr"]
    assert out.loc[1, ["city_ams", "city_rtm", "city_utr"]].tolist() == [0, 0, 0]
    # Scaled with A's mean and standard deviation.
    expected = (B["income"] - A["income"].mean()) / A["income"].std()
    np.testing.assert_allclose(out["income"], expected)
    # Binned at A's tertiles (33.3, 36.7): the filled 35 is in the middle bin, and the
    # values below A's range clip into the first bin instead of getting new edges.
    assert out["age_bin"].tolist() == [1, 0, 0, 0]


def test_fitting_on_new_data_learns_new_values():
    _, on_b = transform_table(RECIPE, table(B))
    assert on_b.learned(1) == {"values": {"age": B["age"].median()}}
    _, on_a = transform_table(RECIPE, table(A))
    assert on_a.version != on_b.version


def test_a_fitted_recipe_ignores_fit_true():
    _, fitted = transform_table(RECIPE, table(A))
    refit_requested, applied = transform_table(fitted, table(B), fit=True)
    assert applied == fitted
    assert refit_requested.column("age").to_pylist()[0] == A["age"].median()


def test_unfitted_recipe_refuses_to_apply_without_fitting():
    with pytest.raises(RecipeError, match=r"step 1 \(fill_missing\), step 2 \(one_hot\)") as info:
        transform_table(RECIPE, table(B), fit=False)
    assert "not fitted" in str(info.value)
    stateless = Recipe("s", steps=[Step("abs", column="income")])
    out, applied = transform_table(stateless, table(B), fit=False)
    assert applied is stateless and out.column("income").to_pylist() == [100.0, 200.0, 300.0, 400.0]


def test_fit_recipe_stores_the_learned_values_in_the_recipe_version(ctx, tmp_path):
    path = tmp_path / "a.csv"
    A.to_csv(path, index=False)
    version, _ = ingest(ctx, path, "people")
    fitted = fit_recipe(ctx, RECIPE, "people")
    assert fitted.fitted_on["dataset_version_id"] == version.id
    assert fitted.learned(3)["columns"]["income"]["mean"] == pytest.approx(A["income"].mean())
    stored = load_recipe(ctx, fitted.version)
    assert stored == fitted and stored.learned(1) == fitted.learned(1)
    assert load_recipe(ctx, fitted.version[:10]) == fitted
    assert load_recipe(ctx, RECIPE.version) == RECIPE
    edges = {
        (e.source_type, e.relation) for e in ctx.store.list_lineage(fitted.version, "upstream")
    }
    assert edges == {("dataset", "fit"), ("recipe", "fitted")}
    # Fitting reads the data through DuckDB only and leaves no scratch files.
    assert not any((ctx.state_dir / "tmp").iterdir())


def test_fit_recipe_on_a_csv_file(ctx, tmp_path):
    path = tmp_path / "b.csv"
    B.to_csv(path, index=False)
    fitted = fit_recipe(ctx, RECIPE, path)
    assert fitted.fitted_on == {"file": str(path.resolve())}
    assert fitted.learned(1) == {"values": {"age": 2.0}}


def test_learning_from_an_all_missing_column_names_the_step_and_column():
    empty = pd.DataFrame({"age": [None, None], "city": ["a", "b"], "income": [1.0, 2.0]}).astype(
        {"age": float}
    )
    with pytest.raises(
        RecipeError, match=r"step 1 \(fill_missing\): column 'age' has no non-missing"
    ) as info:
        transform_table(RECIPE, table(empty))
    assert info.value.column == "age"
