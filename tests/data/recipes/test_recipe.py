"""Recipes as values: building, validation errors, YAML/JSON round trips, versions."""

from __future__ import annotations

import json

import pytest

from siklus.data.recipes import FittedRecipe, Recipe, RecipeError, Step, available_steps
from siklus.data.recipes._recipe import canonical_json, from_document
from siklus.exceptions import InvalidInput, NotFound

YAML = """\
name: customers-clean
description: Impute, encode and scale the customer table.
steps:
  - step: fill_missing
    column: age
    strategy: median
  - step: one_hot
    column: city
    max_categories: 10
  - step: scale_standard
    columns: [age, income]
  - step: filter
    expression: "age >= 18"
  - step: group_by
    by: [city_a]
    aggregations:
      mean_income: mean(income)
      n: {function: count, column: "*"}
"""


def test_yaml_round_trip():
    recipe = Recipe.from_yaml(YAML)
    assert [s.name for s in recipe.steps] == [
        "fill_missing", "one_hot", "scale_standard", "filter", "group_by",
    ]  # fmt: skip
    again = Recipe.from_yaml(recipe.to_yaml())
    assert again == recipe
    assert again.to_dict() == recipe.to_dict()
    assert again.version == recipe.version
    assert Recipe.from_yaml(again.to_yaml()).to_yaml() == recipe.to_yaml()


def test_json_is_yaml_and_round_trips(tmp_path):
    recipe = Recipe.from_yaml(YAML)
    path = tmp_path / "recipe.json"
    path.write_text(recipe.to_json())
    assert Recipe.from_file(path) == recipe
    assert json.loads(recipe.to_json())["steps"][0] == {
        "step": "fill_missing", "column": "age", "strategy": "median",
    }  # fmt: skip


def test_python_built_recipe_equals_yaml_one():
    built = Recipe(
        "r",
        steps=[
            Step("fill_missing", column="age", strategy="median"),
            {"step": "trim", "columns": ["name"]},
        ],
    )
    parsed = Recipe.from_yaml(
        "name: r\nsteps:\n- {step: fill_missing, column: age, strategy: median}\n"
        "- {step: trim, columns: [name]}\n"
    )
    assert built == parsed and built.version == parsed.version


def test_version_is_the_sha256_of_the_canonical_document():
    import hashlib

    recipe = Recipe.from_yaml(YAML)
    assert recipe.version == hashlib.sha256(canonical_json(recipe.document())).hexdigest()
    # Defaults are left out, so spelling a default does not change the version.
    explicit = Recipe("r", steps=[Step("trim", column="x", characters=None)])
    assert explicit.version == Recipe("r", steps=[Step("trim", column="x")]).version
    assert Recipe("r", steps=[Step("trim", column="y")]).version != explicit.version


def test_unknown_step_lists_the_known_ones():
    with pytest.raises(RecipeError) as info:
        Recipe("r", steps=[Step("trim", column="x"), Step("fill_mising", column="x")])
    message = str(info.value)
    assert message.startswith("step 2 (fill_mising): unknown step 'fill_mising'.")
    assert "Did you mean 'fill_missing'" in message
    for name in available_steps():
        assert name in message
    assert info.value.step == 2


@pytest.mark.parametrize(
    ("step", "fragments"),
    [
        (
            Step("fill_missing", column="age", strategy="avg"),
            [
                "step 1 (fill_missing)",
                "parameter 'strategy'",
                "'avg'",
                "Parameters of fill_missing",
            ],
        ),
        (Step("fill_missing", colum="age"), ["unknown parameter 'colum'", "column (default None)"]),
        (Step("fill_missing", column="a", columns=["b"]), ["give either `column: NAME`"]),
        (
            Step("fill_missing", column="a", strategy="constant"),
            ["strategy `constant` needs `value`"],
        ),
        (Step("cast", column="a", to="INT; DROP"), ["parameter 'to'", "not a DuckDB type name"]),
        (Step("sample", fraction=1.5), ["parameter 'fraction'", "less than or equal to 1"]),
        (Step("bin_custom", column="a", edges=[3, 1]), ["strictly increasing"]),
        (
            Step("regex_replace", column="a", pattern="(unclosed"),
            ["not a valid regular expression"],
        ),
        (Step("group_by", by=["a"], aggregations={"m": "avg(x)"}), ["aggregation 'm'", "'avg(x)'"]),
        (Step("hash", column="a"), ["give either `salt` or `salt_env`"]),
        (Step("derive", into="x"), ["missing required parameter 'expression'"]),
    ],
)
def test_invalid_parameters_name_the_step_and_the_parameter(step, fragments):
    with pytest.raises(RecipeError) as info:
        Recipe("r", steps=[step])
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: r\nsteps:\n- column: x\n", "missing `step: NAME`"),
        ("steps: []\n", "no `name`"),
        ("name: r\nsteps: []\nextra: 1\n", "unknown top-level key(s) ['extra']"),
        ("name: r\nsteps: trim\n", "must be a list"),
        ("name: 'bad name!'\nsteps: []\n", "is not valid"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_malformed_recipe_documents(text, fragment):
    with pytest.raises(RecipeError, match=None) as info:
        Recipe.from_yaml(text)
    assert fragment in str(info.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="not valid YAML"):
        Recipe.from_yaml("name: [unclosed\n")
    with pytest.raises(NotFound, match="does not exist"):
        Recipe.from_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\nsteps:\n- step: nope\n")
    with pytest.raises(RecipeError, match=r"^bad\.yaml: step 1 \(nope\): unknown step"):
        Recipe.from_file(bad)


def test_documents_round_trip_fitted_and_plain():
    recipe = Recipe.from_yaml(YAML)
    assert from_document(json.loads(canonical_json(recipe.document()))) == recipe
    fitted = FittedRecipe(
        recipe, ({"values": {"age": 40.0}}, None, None, None, None), {"file": "x"}
    )
    back = from_document(json.loads(canonical_json(fitted.document())))
    assert (
        isinstance(back, FittedRecipe)
        and back == fitted
        and back.learned(1) == {"values": {"age": 40.0}}
    )
    assert fitted.version != recipe.version
    with pytest.raises(RecipeError, match="2 learned states for 5 steps"):
        FittedRecipe(recipe, (None, None))
    with pytest.raises(InvalidInput, match="not a siklus recipe"):
        from_document({"kind": "other"})
    with pytest.raises(InvalidInput, match="upgrade siklus"):
        from_document({"kind": "siklus.recipe", "format": 99})


def test_learning_steps_depend_on_parameters():
    recipe = Recipe(
        "r",
        steps=[
            Step("fill_missing", column="a", strategy="constant", value=0),
            Step("fill_missing", column="a", strategy="median"),
            Step("ordinal_encode", column="b", categories=["x", "y"]),
            Step("scale_minmax", column="a"),
        ],
    )
    assert recipe.learning_steps() == [2, 4]
