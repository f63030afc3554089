"""Recipe jobs end to end: output dataset versions, lineage, fitted reuse, and failures.

Every failure must name the step and the column or row, and leave no dataset version and
no temporary file behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from siklus.data import ingest, read_frame
from siklus.data.recipes import (
    FittedRecipe,
    Recipe,
    RecipeDataError,
    RecipeError,
    Step,
    load_recipe,
    run_recipe,
    transform_table,
)
from siklus.exceptions import NotFound
from siklus.store import WorkspaceContext

PEOPLE = pd.DataFrame(
    {
        "id": range(8),
        "age": [20.0, None, 30.0, 40.0, None, 100.0, 50.0, 60.0],
        "city": ["ams", "rtm", "ams", "utr", "utr", "ams", "rtm", "ams"],
        "income": ["10", "20", "30", "40", "50", "60", "70", "80"],
    }
)
RECIPE = Recipe(
    "people-clean",
    steps=[
        Step("fill_missing", column="age", strategy="median"),
        Step("cast", column="income", to="DOUBLE"),
        Step("one_hot", column="city"),
        Step("scale_standard", columns=["age", "income"]),
        Step("filter", expression="id <> 3"),
    ],
)


@pytest.fixture
def people(ctx: WorkspaceContext, tmp_path: Path):
    path = tmp_path / "people.csv"
    PEOPLE.to_csv(path, index=False)
    version, _ = ingest(ctx, path, "people")
    return version


def leftovers(ctx: WorkspaceContext) -> list[str]:
    """Files a run may leave: anything but job logs, error records and stored artifacts."""
    found = []
    for path in ctx.state_dir.rglob("*"):
        if not path.is_file() or path.name in ("log.txt", "error.json"):
            continue
        relative = path.relative_to(ctx.state_dir).as_posix()
        if (
            relative.startswith(("artifacts/sha256/", "siklus.db", "slots/"))
            and ".tmp" not in path.name
        ):
            continue
        found.append(relative)
    return found


def test_run_recipe_produces_a_dataset_version_with_lineage(ctx, people):
    job, version = run_recipe(ctx, RECIPE, "people", output_name="people.clean")
    assert job.kind == "recipe" and job.status.value == "Completed"
    assert version.name == "people.clean" and version.row_count == 7
    assert version.parent_id == people.id
    assert [c["name"] for c in version.schema] == [
        "id", "age", "income", "city_ams", "city_rtm", "city_utr",
    ]  # fmt: skip
    # The job's output is what the same recipe gives in-process on the same rows.
    _, frame = read_frame(ctx, version)
    expected, fitted = transform_table(RECIPE, pa.Table.from_pandas(read_frame(ctx, people)[1]))
    pd.testing.assert_frame_equal(frame, expected.to_pandas(), check_dtype=False)
    # The recipe version used is stored, with what it learned.
    stored = load_recipe(ctx, job.outputs["recipe_version"])
    assert isinstance(stored, FittedRecipe) and stored.states == fitted.states
    assert stored.fitted_on["dataset_version_id"] == people.id
    upstream = {
        (e.source_type, e.source_id, e.relation)
        for e in ctx.store.list_lineage(version.id, "upstream")
    }
    assert upstream == {
        ("dataset", people.id, "recipe"),
        ("recipe", stored.version, "transformed"),
        ("job", job.id, "output"),
    }
    into_recipe = {
        (e.source_type, e.relation) for e in ctx.store.list_lineage(stored.version, "upstream")
    }
    assert into_recipe == {("dataset", "fit"), ("recipe", "fitted")}
    assert leftovers(ctx) == []
    # Same input, same recipe: same bytes, so the existing version is returned.
    again_job, again = run_recipe(ctx, RECIPE, "people:1", output_name="people.clean")
    assert again.id == version.id and again_job.outputs["created"] is False


def test_fitted_recipe_applied_by_version_reuses_learned_values(ctx, people, tmp_path):
    job, _ = run_recipe(ctx, RECIPE, "people", output_name="people.clean")
    fitted_version = job.outputs["recipe_version"]
    new = tmp_path / "new.csv"
    pd.DataFrame(
        {"id": [10, 11], "age": [None, 1.0], "city": ["ams", "xyz"], "income": ["5", "6"]}
    ).to_csv(new, index=False)
    job2, version = run_recipe(ctx, fitted_version, new, output_name="people.new", fit=False)
    assert job2.outputs["recipe_version"] == fitted_version
    _, out = read_frame(ctx, version)
    learned = load_recipe(ctx, fitted_version)
    median = learned.learned(1)["values"]["age"]
    assert median == PEOPLE["age"].median()
    mean, std = (learned.learned(4)["columns"]["age"][k] for k in ("mean", "std"))
    assert out["age"].tolist() == pytest.approx([(median - mean) / std, (1.0 - mean) / std])
    assert out[["city_ams", "city_rtm", "city_utr"]].values.tolist() == [[1, 0, 0], [0, 0, 0]]
    edges = {(e.source_type, e.relation) for e in ctx.store.list_lineage(version.id, "upstream")}
    assert edges == {("recipe", "transformed"), ("job", "output")}


def test_join_by_dataset_reference_is_pinned_and_in_lineage(ctx, people, tmp_path):
    cities = tmp_path / "cities.csv"
    pd.DataFrame({"city": ["ams", "rtm"], "province": ["NH", "ZH"]}).to_csv(cities, index=False)
    lookup, _ = ingest(ctx, cities, "cities")
    recipe = Recipe("joined", steps=[Step("join", dataset="cities", on=["city"], how="inner")])
    job, version = run_recipe(ctx, recipe, people, output_name="people.joined")
    assert version.row_count == 6
    pinned = load_recipe(ctx, job.outputs["recipe_version"]).learned(1)
    assert pinned == {
        "dataset": "cities:1",
        "dataset_version_id": lookup.id,
        "sha256": lookup.sha256,
    }
    joined = {(e.source_id, e.relation) for e in ctx.store.list_lineage(version.id, "upstream")}
    assert (lookup.id, "joined") in joined and (people.id, "recipe") in joined


def _assert_failed_cleanly(ctx: WorkspaceContext, output: str) -> None:
    assert ctx.store.list_dataset_versions(output) == []
    assert leftovers(ctx) == []


def test_malformed_csv_row_names_the_line(ctx, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,age\n1,20\n2,30\n3,40,99\n4,50\n")
    with pytest.raises(RecipeDataError) as info:
        run_recipe(ctx, RECIPE, bad, output_name="out")
    message = str(info.value)
    assert "Reading input 'bad.csv' (before step 1): line 4 is malformed" in message
    assert "it has 3 fields where the header has 2" in message and "'3,40,99'" in message
    assert (info.value.step, info.value.row) == (0, 3)
    _assert_failed_cleanly(ctx, "out")


def test_unknown_column_names_the_step_and_the_column(ctx, people):
    recipe = Recipe(
        "typo", steps=[Step("fill_missing", column="age"), Step("scale_standard", column="agee")]
    )
    with pytest.raises(RecipeError) as info:
        run_recipe(ctx, recipe, "people", output_name="out")
    message = str(info.value)
    assert message.startswith(
        "step 2 (scale_standard): column 'agee' is not in the data. Did you mean 'age'?"
    )
    assert (info.value.step, info.value.step_name, info.value.column) == (
        2,
        "scale_standard",
        "agee",
    )
    assert "recipe job job-" in message
    _assert_failed_cleanly(ctx, "out")
    # The job recorded the error for its caller (same class, step, column) and failed.
    [job] = ctx.store.list_jobs(kind="recipe")
    assert job.status.value == "Failed" and "step 2 (scale_standard)" in (job.failure_reason or "")
    record = json.loads((ctx.state_dir / "jobs" / job.id / "error.json").read_text())
    located = {k: record[k] for k in ("type", "step", "step_name", "column", "row")}
    assert located == {
        "type": "RecipeError",
        "step": 2,
        "step_name": "scale_standard",
        "column": "agee",
        "row": None,
    }


def test_failing_cast_names_the_step_column_and_a_sample_row(ctx, tmp_path):
    data = tmp_path / "amounts.csv"
    pd.DataFrame({"id": range(5), "amount": ["1", "2", "three", "4", "5"]}).to_csv(
        data, index=False
    )
    recipe = Recipe(
        "casting",
        steps=[Step("trim", column="amount"), Step("cast", column="amount", to="INTEGER")],
    )
    with pytest.raises(RecipeDataError) as info:
        run_recipe(ctx, recipe, data, output_name="out")
    message = str(info.value)
    assert message.startswith(
        "step 2 (cast): cannot cast column 'amount' value 'three' to INTEGER in data row 3."
    )
    assert "The row: {id=2, amount='three'}" in message and "on_error" in message
    assert (info.value.step, info.value.column, info.value.row) == (2, "amount", 3)
    _assert_failed_cleanly(ctx, "out")
    lenient = Recipe(
        "casting", steps=[Step("cast", column="amount", to="INTEGER", on_error="null")]
    )
    _, version = run_recipe(ctx, lenient, data, output_name="out")
    assert read_frame(ctx, version)[1]["amount"].isna().tolist() == [
        False,
        False,
        True,
        False,
        False,
    ]


def test_missing_input_file_fails_before_any_job(ctx, tmp_path):
    with pytest.raises(NotFound, match=r"Input file '.*nope\.csv' does not exist"):
        run_recipe(ctx, RECIPE, tmp_path / "nope.csv", output_name="out")
    assert ctx.store.list_jobs(kind="recipe") == []
    _assert_failed_cleanly(ctx, "out")


def test_missing_join_file_names_the_step(ctx, people, tmp_path):
    recipe = Recipe(
        "j",
        steps=[
            Step("trim", column="city"),
            Step("join", path=str(tmp_path / "gone.parquet"), on=["id"]),
        ],
    )
    with pytest.raises(
        RecipeError, match=r"^step 2 \(join\): Input file '.*gone\.parquet' does not exist"
    ):
        run_recipe(ctx, recipe, "people", output_name="out")
    _assert_failed_cleanly(ctx, "out")


def test_no_fit_with_an_unfitted_learning_recipe_is_refused_before_any_job(ctx, people):
    with pytest.raises(RecipeError, match=r"step 1 \(fill_missing\), step 3 \(one_hot\), step 4"):
        run_recipe(ctx, RECIPE, "people", output_name="out", fit=False)
    assert ctx.store.list_jobs(kind="recipe") == []


def test_fitting_on_an_input_without_rows_is_refused_before_any_job(ctx, people, tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,age,city,income\n")
    empty_parquet = tmp_path / "empty.parquet"
    PEOPLE.iloc[:0].to_parquet(empty_parquet, index=False)
    ingest(ctx, header_only, "nobody")
    for source, label in (("nobody", "dataset nobody:1"), (header_only, "file"),
                          (empty_parquet, "file")):  # fmt: skip
        with pytest.raises(RecipeDataError, match="has no rows") as info:
            run_recipe(ctx, RECIPE, source, output_name="out")
        assert label in str(info.value) and info.value.step == 1
        assert "step 1 (fill_missing) has nothing to learn from" in str(info.value)
    assert ctx.store.list_jobs(kind="recipe") == []
    _assert_failed_cleanly(ctx, "out")

    # Nothing to learn, or learned elsewhere: an empty input gives an empty version.
    plain = Recipe("plain", steps=[Step("trim", column="city"), Step("filter", expression="1=1")])
    _, version = run_recipe(ctx, plain, "nobody", output_name="plain")
    assert version.row_count == 0
    assert [c["name"] for c in version.schema] == ["id", "age", "city", "income"]
    job, _ = run_recipe(ctx, RECIPE, "people", output_name="people.clean")
    fitted = load_recipe(ctx, job.outputs["recipe_version"])
    _, applied = run_recipe(ctx, fitted, empty_parquet, output_name="applied")
    assert applied.row_count == 0 and "city_ams" in [c["name"] for c in applied.schema]
