"""siklus.yaml: templates that validate, round trips, and errors that point at the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from siklus.evaluation import Criterion
from siklus.exceptions import AlreadyExists, InvalidInput, InvalidParameter, NotFound
from siklus.project import (
    PROJECT_FILE,
    CostBenefit,
    ProjectSpec,
    breast_cancer_project,
    load_project,
    parse_project,
    scaffold_project,
    validate_project,
    write_project,
)

VALID = """\
name: churn
problem:
  statement: Predict which customers leave next month.
  type: binary_classification
  target: churned
  positive_label: 1
business_goal: Keep more customers by calling those likely to leave.
success_criteria:
  - recall >= 0.90 on test
  - {metric: precision, op: ">=", threshold: 0.5, split: validation}
business_metrics:
  - name: monthly_churn
    unit: fraction
    baseline: 0.08
    target: 0.06
    direction: decrease
cost_benefit:
  estimated_monthly_cost: 400
  estimated_monthly_benefit: 3000
tags:
  project: churn
  cost-center: marketing
settings:
  max_payload_bytes: 2048
  progress: "off"
"""


def _line_of(text: str, fragment: str) -> int:
    """1-based line of the first line containing ``fragment``: keeps tests independent of
    the template's exact layout."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def _error(text: str) -> str:
    with pytest.raises(InvalidParameter) as info:
        parse_project(text, source="siklus.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    "problem_type", ["binary_classification", "multiclass_classification", "regression"]
)
def test_scaffold_then_load_validates(tmp_path: Path, problem_type: str) -> None:
    path = scaffold_project(tmp_path, "my-project", problem_type=problem_type, target="y")

    spec = load_project(path)

    assert path == tmp_path / PROJECT_FILE
    assert spec.name == "my-project"
    assert spec.problem.type == problem_type
    assert spec.problem.target == "y"
    assert spec.tags == {"project": "my-project"}
    assert spec.success_criteria
    assert "# 3. Success criteria" in path.read_text()
    assert load_project(tmp_path) == spec  # a folder means its siklus.yaml


def test_scaffold_quotes_a_target_that_needs_it(tmp_path: Path) -> None:
    spec = load_project(scaffold_project(tmp_path, "p", target="price: usd #1"))

    assert spec.problem.target == "price: usd #1"


def test_scaffold_refuses_to_overwrite(tmp_path: Path) -> None:
    path = scaffold_project(tmp_path, "first")

    with pytest.raises(AlreadyExists, match="overwrite=True"):
        scaffold_project(tmp_path, "second")
    assert load_project(path).name == "first"

    scaffold_project(tmp_path, "second", overwrite=True)
    assert load_project(path).name == "second"
    assert [p.name for p in tmp_path.iterdir()] == [PROJECT_FILE]  # no temp files left


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "Bad Name"}, "project name 'Bad Name' is not a slug"),
        ({"name": "ok", "problem_type": "clustering"}, "problem_type 'clustering'"),
        ({"name": "ok", "target": " "}, "target ' '"),
    ],
)
def test_scaffold_bad_arguments(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        scaffold_project(tmp_path, **kwargs)

    assert fragment in str(info.value)
    assert not (tmp_path / PROJECT_FILE).exists()


def test_valid_file_with_string_and_mapping_criteria() -> None:
    spec = parse_project(VALID)

    assert spec.success_criteria == [
        Criterion("recall", ">=", 0.9, "test"),
        Criterion("precision", ">=", 0.5, "validation"),
    ]
    assert spec.problem.positive_label == 1
    assert spec.settings == {"max_payload_bytes": 2048, "progress": False}
    assert spec.tags["cost-center"] == "marketing"
    assert spec.verdict({"test": {"recall": 0.95}, "validation": {"precision": 0.6}}).passed


@pytest.mark.parametrize("spec", [parse_project(VALID), breast_cancer_project()])
def test_round_trip(spec: ProjectSpec) -> None:
    text = spec.dump_yaml()

    assert parse_project(text) == spec
    assert yaml.safe_load(text)["success_criteria"][0] == str(spec.success_criteria[0])


def test_write_project_round_trips_and_refuses_overwrite(tmp_path: Path) -> None:
    spec = breast_cancer_project()

    path = write_project(spec, tmp_path)

    assert load_project(path) == spec
    with pytest.raises(AlreadyExists):
        write_project(spec, tmp_path)


def test_breast_cancer_project() -> None:
    spec = breast_cancer_project()

    assert spec.name == "breast-cancer"
    assert spec.problem.type == "binary_classification"
    assert spec.problem.target == "diagnosis"
    assert spec.problem.positive_label == "malignant"
    assert [str(c) for c in spec.success_criteria] == [
        "recall >= 0.9 on test",
        "precision >= 0.85 on test",
        "roc_auc >= 0.95 on test",
    ]
    assert spec.tags == {"project": "breast-cancer", "cost-center": "ml-research"}
    assert spec.cost_benefit.roi is not None and spec.cost_benefit.roi > 0


def test_misspelled_problem_type_names_path_line_and_choices() -> None:
    text = VALID.replace("type: binary_classification", "type: clasification")

    message = _error(text)

    line = _line_of(text, "type: clasification")
    assert f"problem.type (line {line})" in message
    assert "'binary_classification', 'multiclass_classification' or 'regression'" in message
    assert "got 'clasification'" in message
    assert "siklus.yaml" in message


def test_unknown_top_level_key_lists_allowed_fields() -> None:
    text = VALID.replace("success_criteria:", "succes_criteria:")

    message = _error(text)

    line = _line_of(text, "succes_criteria:")
    assert f"succes_criteria (line {line}): unknown field 'succes_criteria'" in message
    assert "allowed fields: name, description, problem, business_goal" in message
    assert "Did you mean 'success_criteria'?" in message
    assert "success_criteria (line 1): Field required" in message


def test_unknown_nested_key_lists_that_models_fields() -> None:
    text = VALID.replace("  target: churned", "  targt: churned")

    message = _error(text)

    assert f"problem.targt (line {_line_of(text, 'targt')})" in message
    assert "allowed fields: statement, type, target, positive_label" in message
    assert f"problem.target (line {_line_of(text, 'problem:')}): Field required" in message


def test_bad_criterion_string_mentions_its_line() -> None:
    text = VALID.replace("recall >= 0.90 on test", "recall => 0.90 on test")

    message = _error(text)

    line = _line_of(text, "recall => 0.90")
    assert (
        f"success_criteria[0] (line {line}): Cannot parse criterion 'recall => 0.90 on test'"
        in (message)
    )
    assert "'<metric> <op> <number> [on <split>]'" in message


def test_bad_criterion_mapping_mentions_its_line() -> None:
    text = VALID.replace('op: ">="', 'op: "=>"')

    message = _error(text)

    line = _line_of(text, "metric: precision")
    assert f"success_criteria[1] (line {line})" in message
    assert "op '=>'" in message


def test_unknown_setting_lists_known_settings() -> None:
    text = VALID.replace("max_payload_bytes: 2048", "max_payload: 2048")

    message = _error(text)

    assert f"settings.max_payload (line {_line_of(text, 'max_payload:')})" in message
    assert "unknown setting 'max_payload'; known settings:" in message
    assert "max_payload_bytes" in message


def test_setting_value_must_parse() -> None:
    message = _error(VALID.replace("max_payload_bytes: 2048", "max_payload_bytes: lots"))

    assert "setting 'max_payload_bytes' = 'lots' is not valid" in message


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ("  '': x", "tags[''] (line"),
        ("  team: ''", "a tag value must not be empty"),
        (f"  {'k' * 129}: x", "the limit is 128"),
        (f"  long: {'v' * 257}", "the limit is 256"),
        ("  year: 2024", "quote it in YAML: '2024'"),
    ],
)
def test_tag_validation(tags: str, fragment: str) -> None:
    text = VALID.replace("  cost-center: marketing", tags)

    message = _error(text)

    assert fragment in message
    assert f"(line {_line_of(text, tags.strip()[:10])})" in message


def test_tags_at_their_limits_are_valid() -> None:
    spec = parse_project(VALID.replace("cost-center: marketing", f"{'k' * 128}: {'v' * 256}"))

    assert spec.tags["k" * 128] == "v" * 256


def test_positive_label_only_for_binary() -> None:
    text = VALID.replace("type: binary_classification", "type: regression")

    message = _error(text)

    assert f"problem.positive_label (line {_line_of(text, 'positive_label')})" in message
    assert "applies only to binary_classification" in message


def test_business_metric_target_must_move_in_its_direction() -> None:
    message = _error(VALID.replace("target: 0.06", "target: 0.10"))

    assert f"business_metrics[0] (line {_line_of(VALID, '- name: monthly_churn')})" in message
    assert "should decrease, but target 0.1 is not below baseline 0.08" in message


def test_bad_slug_and_negative_cost() -> None:
    text = VALID.replace("name: churn", "name: Churn Model").replace(
        "estimated_monthly_cost: 400", "estimated_monthly_cost: -5"
    )

    message = _error(text)

    assert "name (line 1): project name 'Churn Model' is not a slug" in message
    assert "cost_benefit.estimated_monthly_cost (line" in message
    assert "greater than or equal to 0 (got -5)" in message
    assert "(2 errors)" in message


def test_roi() -> None:
    assert CostBenefit(estimated_monthly_cost=400, estimated_monthly_benefit=3000).roi == 6.5
    assert CostBenefit(estimated_monthly_cost=100, estimated_monthly_benefit=50).roi == -0.5
    assert CostBenefit(estimated_monthly_cost=0, estimated_monthly_benefit=50).roi is None


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="siklus init"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("- a\n- b\n", "top level is a list"),
        ("name: churn\nproblem: [\n", "not valid YAML at line 3, column 1"),
        ("name: a\n  bad: indent\n", "not valid YAML at line 2, column 6"),
        ("name: a\nname: b\n", "key 'name' appears twice (lines 1 and 2)"),
        ("name: !!python/object:os.system x\n", "remove the '!!' tag"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / PROJECT_FILE
    path.write_text(text, encoding="utf-8")

    with pytest.raises(InvalidInput) as info:
        load_project(path)

    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_validate_project_reports_paths_without_lines() -> None:
    data = yaml.safe_load(VALID)
    data["problem"]["type"] = "clasification"

    with pytest.raises(InvalidParameter) as info:
        validate_project(data, source="request body")

    message = str(info.value)
    assert "request body is not a valid project file" in message
    assert "problem.type: Input should be" in message
    assert not re.search(r"\(line \d+\)", message)


def test_direct_construction_validates() -> None:
    spec = breast_cancer_project()

    assert spec.model_copy(update={"tags": {}}).tags == {}
    assert validate_project(spec.model_dump()) == spec
