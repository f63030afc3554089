"""log_model review: what a notebook model brings along must not break it downstream.

Each case here once stored a model that failed later (when storing its manifest, at the
first request, in ``siklus evaluate``) or refused a reasonable example.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from siklus.exceptions import InvalidInput, InvalidParameter
from siklus.registry import get_onnx_export, register_model
from siklus.store import WorkspaceContext
from siklus.training import load_model, log_model


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50, 10, n),
        "member": rng.random(n) > 0.5,
        "city": pd.Series(rng.choice(["a", "b", "c", None], n), dtype=object),
        "seen": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
    })  # fmt: skip
    frame["churned"] = np.where(frame["income"] + frame["age"] / 5 > 58, "yes", "no")
    return frame


def _pipeline(rows: pd.DataFrame) -> object:
    """Text with missing values one-hot encoded, a boolean, integers; the time ignored."""
    columns = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="NA"),
                              OneHotEncoder(handle_unknown="ignore")), ["city", "member"]),
        ("num", "passthrough", ["age", "income"]),
    ])  # fmt: skip
    return make_pipeline(columns, LogisticRegression(max_iter=2000)).fit(
        rows.drop(columns="churned"), rows["churned"]
    )


def test_an_example_with_times_is_stored_as_plain_json(
    ctx: WorkspaceContext, rows: pd.DataFrame
) -> None:
    """A Timestamp in the input example made storing the manifest fail (not JSON)."""
    pipeline = _pipeline(rows)
    model = log_model(ctx, pipeline, rows, name="churn", target="churned", positive_label="yes")
    example = model.manifest["input_example"]
    assert example[0]["seen"] == "2024-01-01T00:00:00+00:00"
    assert json.loads(json.dumps(example)) == example
    assert [type(example[0][c]) for c in ("age", "income", "member")] == [int, float, bool]
    stored = ctx.store.get_model(model.id).manifest["input_example"]
    assert [r["city"] for r in stored] == rows["city"].head(3).where(
        rows["city"].notna(), None
    ).tolist()
    # The stored example is a valid request: it predicts what the notebook pipeline does.
    loaded = load_model(ctx, model)
    np.testing.assert_array_equal(
        loaded.predict(pd.DataFrame(stored))["predictions"],
        pipeline.predict(rows.drop(columns="churned").head(3)),
    )
    package = register_model(ctx, model.id, "churn")  # the export reports the time column
    assert "date/time" in (get_onnx_export(ctx, package).get("reason") or "")


def test_example_columns_are_taken_by_name_in_the_fitted_order(
    ctx: WorkspaceContext, rows: pd.DataFrame
) -> None:
    """A wider example (an id, the target, other columns) or another column order."""
    lr = LogisticRegression().fit(rows[["age", "income"]], rows["churned"])
    wider = rows.assign(customer_id=range(len(rows)))[["customer_id", "income", "churned", "age"]]
    model = log_model(ctx, lr, wider, name="lr")
    assert [c["name"] for c in model.manifest["input_signature"]] == ["age", "income"]
    assert list(model.manifest["input_example"][0]) == ["age", "income"]
    np.testing.assert_array_equal(
        load_model(ctx, model).predict(rows[["age", "income"]].head(10))["predictions"],
        lr.predict(rows[["age", "income"]].head(10)),
    )
    with pytest.raises(InvalidInput, match=r"lack column\(s\) \['age'\]"):
        log_model(ctx, lr, rows[["income", "city"]], name="lr2")
    with pytest.raises(InvalidParameter, match="cannot be the column it predicts"):
        log_model(ctx, lr, rows, name="lr3", target="age")
    assert [m.name for m in ctx.store.list_models()] == ["lr"]


def test_a_model_that_cannot_predict_rows_as_siklus_sends_them_is_refused(
    ctx: WorkspaceContext, rows: pd.DataFrame
) -> None:
    """LightGBM on a pandas 'category' column predicts the notebook frame but not the
    object-typed text every request, evaluation and batch chunk arrives as."""
    from lightgbm import LGBMClassifier

    x = rows[["age", "income"]].assign(city=rows["city"].astype("category"))
    model = LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1)
    model.fit(x, rows["churned"])
    with pytest.raises(InvalidInput, match=r"not as siklus sends them.*OneHotEncoder"):
        log_model(ctx, model, x, name="lgbm")
    assert ctx.store.list_models() == []
    # Plain numeric columns (integers arrive as float64) are fine.
    numeric = LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1)
    numeric.fit(rows[["age", "income"]], rows["churned"])
    logged = log_model(ctx, numeric, rows, name="lgbm", target="churned", positive_label="yes")
    np.testing.assert_array_equal(
        load_model(ctx, logged).predict(rows[["age", "income"]])["predictions"],
        numeric.predict(rows[["age", "income"]]),
    )


@pytest.mark.parametrize(
    ("labels", "given", "stored"),
    [
        ([0, 1], "1", 1),
        ([0, 1], np.int64(1), 1),
        ([0.0, 1.0], "1", 1.0),
        ([False, True], "true", True),
        ([False, True], True, True),
        (["0", "1"], 1, "1"),
        (["no", "yes"], "YES", "yes"),
    ],
)
def test_the_positive_label_is_stored_as_the_class_it_names(
    ctx: WorkspaceContext, rows: pd.DataFrame, labels: list, given: object, stored: object
) -> None:
    y = np.where(rows["income"] > 50, labels[1], labels[0])
    lr = LogisticRegression().fit(rows[["age", "income"]], y)
    model = log_model(ctx, lr, rows[["age", "income"]], name="m", positive_label=given)
    label = model.manifest["positive_label"]
    assert label == stored and type(label) is type(stored)
    assert model.manifest["classes"] == labels


def test_a_positive_label_that_is_no_class_is_refused(
    ctx: WorkspaceContext, rows: pd.DataFrame
) -> None:
    lr = LogisticRegression().fit(rows[["age", "income"]], rows["churned"])
    with pytest.raises(InvalidParameter, match=r"'maybe' is not one of the model's classes"):
        log_model(ctx, lr, rows[["age", "income"]], name="m", positive_label="maybe")
    ridge = LinearRegression().fit(rows[["age"]], rows["income"])
    with pytest.raises(InvalidParameter, match="regression model without classes"):
        log_model(ctx, ridge, rows[["age"]], name="r", positive_label=1)
    assert ctx.store.list_models() == []
