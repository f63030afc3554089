"""Rule sets load from YAML, JSON and Python, and bad rules fail at load time, by name."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from siklus.data.quality import (
    FreshnessRule,
    RangeRule,
    RuleSet,
    UniquenessRule,
    load_rules,
)
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound

YAML = """
name: customers
rules:
  - {type: not_null, column: id}
  - {type: uniqueness, column: id}
  - {type: range, column: age, min: 0, max: 120}
  - type: completeness
    column: email
    min_fraction: 0.95
    severity: warning
  - {type: allowed_values, column: tier, values: [gold, silver]}
  - {type: regex, column: zip, pattern: '\\d{5}'}
  - {type: row_count, min: 1}
  - {type: freshness, column: updated_at, max_age: 24h}
  - {type: sql, name: paid_after_order, expression: "paid_at >= ordered_at"}
  - {type: sql, query: "SELECT * FROM data WHERE price < 0"}
"""


def test_yaml_file_with_every_rule_type(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(YAML)
    rules = load_rules(path)
    assert rules.name == "customers" and len(rules.rules) == 10
    assert [r.type for r in rules.rules] == [
        "not_null", "uniqueness", "range", "completeness", "allowed_values", "regex",
        "row_count", "freshness", "sql", "sql",
    ]  # fmt: skip
    assert isinstance(rules.rules[1], UniquenessRule) and rules.rules[1].columns == ["id"]
    assert rules.rules[3].severity == "warning"
    assert rules.rules[7].max_age == timedelta(hours=24)
    assert [r.label for r in rules.rules[:3]] == ["not_null(id)", "uniqueness(id)", "range(age)"]
    assert rules.rules[8].label == "paid_after_order"


def test_json_file_python_objects_and_round_trip(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"type": "range", "column": "x", "max": 3}]}))
    assert load_rules(path).rules == [RangeRule(column="x", max=3)]
    built = RuleSet(rules=[RangeRule(column="x", min=0), FreshnessRule(column="t", max_age="7d")])
    assert load_rules(built) is built
    assert load_rules(built.model_dump(mode="json")) == built
    assert load_rules([RangeRule(column="x", min=0)]).rules == [RangeRule(column="x", min=0)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "rang", "column": "a"}, "unknown rule type 'rang'"),
        ({"column": "a"}, "a rule needs `type:`"),
        ({"type": "range", "column": "a"}, "give min, max or both"),
        ({"type": "range", "column": "a", "min": 5, "max": 1}, "min (5) is greater than max (1)"),
        ({"type": "regex", "column": "a", "pattern": "(a"}, "not a valid RE2"),
        ({"type": "completeness", "column": "a", "min_fraction": 2}, "min_fraction"),
        ({"type": "not_null", "column": "a", "colour": "red"}, "colour"),
        ({"type": "sql"}, "exactly one of expression"),
        ({"type": "freshness", "column": "t", "max_age": "-1d"}, "max_age"),
        ({"type": "not_null", "column": "a", "severity": "fatal"}, "severity"),
    ],
)
def test_invalid_rules_say_where_and_why(rule, message):
    with pytest.raises(InvalidParameter) as info:
        load_rules({"rules": [{"type": "not_null", "column": "ok"}, rule]})
    text = str(info.value)
    assert "rules[1]" in text and message in text, text


def test_bad_files(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        load_rules(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(InvalidInput, match="not valid YAML/JSON"):
        load_rules(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        load_rules(scalar)
    with pytest.raises(InvalidParameter, match="rules"):
        load_rules({"rules": []})
