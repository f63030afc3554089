"""Search spaces: parsing from mappings, YAML and JSON; every mistake has a clear message."""

from __future__ import annotations

import json

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from siklus.exceptions import InvalidParameter, NotFound
from siklus.tuning import SearchSpace, load_search_space

SPACE = {
    "C": {"type": "float", "low": 1e-3, "high": 10, "log": True},
    "kernel": {"type": "categorical", "choices": ["linear", "rbf"]},
    "n_estimators": {"type": "int", "low": 10, "high": 300, "step": 10},
}


def test_the_issue_example_parses_to_optuna_distributions():
    space = SearchSpace.parse(SPACE)
    assert list(space) == ["C", "kernel", "n_estimators"]
    assert space.distributions() == {
        "C": FloatDistribution(1e-3, 10.0, log=True),
        "kernel": CategoricalDistribution(["linear", "rbf"]),
        "n_estimators": IntDistribution(10, 300, step=10),
    }
    assert SearchSpace.parse(space.to_dict()).to_dict() == space.to_dict()


def test_yaml_and_json_files_give_the_same_space(tmp_path):
    yaml_file = tmp_path / "space.yaml"
    # YAML 1.1 reads 1e-3 (no dot) as text; the range still takes it as a number.
    yaml_file.write_text(
        "C: {type: float, low: 1e-3, high: 10, log: true}\n"
        "kernel:\n  type: categorical\n  choices: [linear, rbf]\n"
        "n_estimators: {type: int, low: 10, high: 300, step: 10}\n"
    )
    json_file = tmp_path / "space.json"
    json_file.write_text(json.dumps(SPACE))
    assert load_search_space(yaml_file).to_dict() == load_search_space(json_file).to_dict()
    assert load_search_space(yaml_file).to_dict() == SearchSpace.parse(SPACE).to_dict()


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"C": {"type": "float", "low": 10, "high": 1}}, "'C': low (10.0) is greater than high"),
        ({"k": {"type": "categorical", "choices": []}}, "'k' choices: is empty"),
        ({"k": {"type": "categorical", "choices": ["a", "a"]}}, "choice 'a' is listed twice"),
        ({"x": {"type": "normal", "low": 0, "high": 1}}, "'x': unknown type 'normal'"),
        ({"x": {"low": 0, "high": 1}}, "'x': missing 'type'"),
        ({"x": {"type": "float", "low": 0, "high": 1, "log": True}}, "log: true needs low > 0"),
        ({"x": {"type": "int", "low": 0, "high": 10, "step": 3}}, "use high: 9"),
        ({"x": {"type": "float", "low": 0, "high": 1, "step": 0.3}}, "not a multiple of step"),
        ({"x": {"type": "int", "low": 1, "high": 9, "stepp": 2}}, "unknown field 'stepp'"),
        ({"x": {"type": "int", "low": 1, "high": 8, "step": 1, "log": True}}, None),
        ({"x": 3}, "'x': must be a mapping"),
        ({}, "The search space is empty"),
    ],
)
def test_bad_ranges_are_refused_with_what_and_where(space, message):
    if message is None:
        assert SearchSpace.parse(space)["x"].log is True
        return
    with pytest.raises(InvalidParameter) as info:
        SearchSpace.parse(space)
    assert message in str(info.value)


def test_grid_enumerates_finite_ranges_and_refuses_continuous_ones():
    space = SearchSpace.parse(
        {
            "alpha": {"type": "float", "low": 0.0, "high": 0.3, "step": 0.1},
            "depth": {"type": "int", "low": 2, "high": 8, "step": 3},
            "kind": {"type": "categorical", "choices": ["a", None, True]},
        }
    )
    assert space.grid() == {
        "alpha": [0.0, 0.1, 0.2, 0.3],
        "depth": [2, 5, 8],
        "kind": ["a", None, True],
    }
    assert space.grid_size() == 36
    dist = space.distributions()["alpha"]
    assert all(dist._contains(v) for v in space.grid()["alpha"])  # Optuna accepts each point
    continuous = SearchSpace.parse({"C": SPACE["C"]})
    with pytest.raises(InvalidParameter, match=r"\['C'\] is a continuous range without a step"):
        continuous.grid()


def test_contains_checks_names_and_ranges():
    space = SearchSpace.parse(SPACE)
    assert space.contains({"C": 0.5, "kernel": "rbf", "n_estimators": 20})
    assert not space.contains({"C": 50.0, "kernel": "rbf", "n_estimators": 20})
    assert not space.contains({"C": 0.5, "kernel": "poly", "n_estimators": 20})
    assert not space.contains({"C": 0.5, "kernel": "rbf", "n_estimators": 25})
    assert not space.contains({"C": 0.5, "kernel": "rbf"})


def test_files_that_are_missing_or_not_mappings(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        load_search_space(tmp_path / "nope.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(InvalidParameter, match="must hold a mapping"):
        load_search_space(listed)
    broken = tmp_path / "broken.yaml"
    broken.write_text("C: {type: float\n")
    with pytest.raises(InvalidParameter, match="not valid YAML/JSON"):
        load_search_space(broken)
