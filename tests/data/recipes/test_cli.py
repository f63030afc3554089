"""``siklus data recipe``: steps, validate (with a dry run), run, show."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from siklus.cli import recipes
from siklus.data import ingest
from siklus.data.recipes import Recipe, RecipeError, Step, available_steps, fit_recipe

RECIPE_YAML = """\
name: tidy
steps:
  - step: trim
    column: name
  - step: fill_missing
    column: score
    strategy: median
  - step: one_hot
    column: team
"""


@pytest.fixture
def workspace(ctx, tmp_path: Path) -> Path:
    data = tmp_path / "players.csv"
    pd.DataFrame(
        {"name": [" ann ", "bob", " cy"], "score": [1.0, None, 3.0], "team": ["a", "b", "a"]}
    ).to_csv(data, index=False)
    ingest(ctx, data, "players")
    (tmp_path / "tidy.yaml").write_text(RECIPE_YAML)
    return ctx.root


def invoke(workspace: Path, *args: str):
    result = CliRunner().invoke(recipes.app, list(args), obj={"workspace": str(workspace)})
    return result


def test_steps_lists_every_step_with_parameters(workspace):
    result = invoke(workspace, "steps", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {row["step"] for row in listed} == set(available_steps())
    fill = next(row for row in listed if row["step"] == "fill_missing")
    assert fill["learns"] == "yes" and "strategy" in fill["parameters"]
    one = invoke(workspace, "steps", "cast")
    assert one.exit_code == 0 and "on_error" in one.output and "'fail' | 'null'" in one.output
    assert "list[str]" in invoke(workspace, "steps", "select").output


def test_validate_with_a_dry_run(workspace, tmp_path):
    result = invoke(
        workspace, "validate", str(tmp_path / "tidy.yaml"), "--data", "players", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True and report["steps"] == 3
    assert [c["name"] for c in report["dry_run"]["columns"]] == [
        "name",
        "score",
        "team_a",
        "team_b",
    ]
    table = invoke(workspace, "validate", str(tmp_path / "tidy.yaml"))
    assert table.exit_code == 0 and "Valid" in table.output


def test_validate_reports_an_unknown_step(workspace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - step: trimm\n    column: name\n")
    result = invoke(workspace, "validate", str(bad))
    assert isinstance(result.exception, RecipeError)
    assert "bad.yaml: step 1 (trimm): unknown step 'trimm'. Did you mean 'trim'" in str(
        result.exception
    )


def test_run_and_show(workspace, ctx, tmp_path):
    fitted = fit_recipe(ctx, tmp_path / "tidy.yaml", "players")
    shown = invoke(workspace, "show", fitted.version[:12], "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["version"] == fitted.version
    assert document["fitted"]["states"][1] == {"values": {"score": 2.0}}
    assert "learned" in invoke(workspace, "show", fitted.version).output

    args = ["--data", "players", "--output", "players.tidy", "--no-fit", "--memory-limit", "256MB"]
    result = invoke(workspace, "run", fitted.version, *args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["dataset"]["name"] == "players.tidy" and out["dataset"]["row_count"] == 3
    assert out["job"]["outputs"]["recipe_version"] == fitted.version
    assert out["job"]["parameters"]["memory_limit"] == "256MB"


def test_unfitted_run_with_no_fit_is_refused(workspace, tmp_path):
    result = invoke(
        workspace, "run", str(tmp_path / "tidy.yaml"), "-d", "players", "-o", "x", "--no-fit"
    )
    assert isinstance(result.exception, RecipeError)
    assert "step 2 (fill_missing)" in str(result.exception)


def test_recipe_built_in_python_validates_like_the_file(tmp_path):
    built = Recipe("tidy", steps=[Step("trim", column="name"),
                                  Step("fill_missing", column="score", strategy="median"),
                                  Step("one_hot", column="team")])  # fmt: skip
    assert Recipe.from_yaml(RECIPE_YAML) == built
