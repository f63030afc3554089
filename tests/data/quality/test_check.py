"""Every rule type against pandas-computed expectations, failing and passing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siklus.data.quality import CheckReport, RuleResult, evaluate_rules
from siklus.exceptions import InvalidParameter


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 300
    age = rng.integers(-5, 130, n).astype("float64")
    age[rng.random(n) < 0.1] = np.nan
    email = pd.Series([f"user{k}@shop.example" for k in range(n)], dtype=object)
    email[rng.random(n) < 0.2] = None
    email[rng.random(n) < 0.05] = "not-an-email"
    order_id = np.arange(n)
    order_id[[10, 20, 30]] = [11, 21, 31]  # three ids used twice
    return pd.DataFrame(
        {
            "order_id": order_id,
            "shop": rng.choice(["north", "south", "east", "west"], n),
            "line": rng.integers(1, 3, n),
            "age": age,
            "status": rng.choice(["new", "paid", "shipped", "lost"], n, p=[0.3, 0.3, 0.35, 0.05]),
            "email": email,
            "price": rng.uniform(1, 100, n).round(2),
            "paid": rng.uniform(1, 100, n).round(2),
            "created": pd.Timestamp("2024-06-01")
            + pd.to_timedelta(rng.integers(0, 30 * 24, n), unit="h"),
        }
    )


@pytest.fixture(scope="module")
def orders_parquet(tmp_path_factory: pytest.TempPathFactory, orders: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("check") / "orders.parquet"
    orders.to_parquet(path, index=False)
    return path


def one(path: Path, rule: dict, **options) -> RuleResult:
    report = evaluate_rules(path, [rule], **options)
    [result] = report.results
    return result


def assert_sample(result: RuleResult, offending: pd.DataFrame) -> None:
    assert len(result.sample) == min(5, len(offending))
    rows = [item["row"] for item in result.sample]
    assert rows == sorted(offending.index)[:5]


def test_not_null(orders_parquet, orders):
    failing = one(orders_parquet, {"type": "not_null", "column": "age"})
    assert not failing.passed and failing.offending_rows == orders["age"].isna().sum()
    assert_sample(failing, orders[orders["age"].isna()])
    assert failing.sample[0]["values"]["age"] is None
    passing = one(orders_parquet, {"type": "not_null", "column": "price"})
    assert passing.passed and passing.offending_rows == 0 and passing.sample == []


def test_completeness(orders_parquet, orders):
    present = orders["email"].notna().mean()
    failing = one(orders_parquet, {"type": "completeness", "column": "email", "min_fraction": 0.9})
    assert not failing.passed and failing.observed == pytest.approx(present)
    assert failing.offending_rows == orders["email"].isna().sum()
    passing = one(orders_parquet, {"type": "completeness", "column": "email", "min_fraction": 0.7})
    assert passing.passed and 0.7 < present < 0.9


def test_uniqueness_single_and_composite(orders_parquet, orders):
    failing = one(orders_parquet, {"type": "uniqueness", "column": "order_id"})
    duplicated = orders[orders.duplicated("order_id", keep=False)]
    assert not failing.passed and failing.offending_rows == len(duplicated) == 6
    assert_sample(failing, duplicated)
    composite = one(orders_parquet, {"type": "uniqueness", "columns": ["order_id", "line"]})
    expected = orders.duplicated(["order_id", "line"], keep=False).sum()
    assert composite.offending_rows == expected
    passing = one(orders_parquet, {"type": "uniqueness", "columns": ["price", "paid", "created"]})
    assert passing.passed


def test_range_inclusive_exclusive_and_times(orders_parquet, orders):
    age = orders["age"]
    failing = one(orders_parquet, {"type": "range", "column": "age", "min": 0, "max": 120})
    outside = orders[(age < 0) | (age > 120)]
    assert not failing.passed and failing.offending_rows == len(outside)
    assert_sample(failing, outside)
    assert failing.expected == "in [0, 120]"
    exclusive = one(
        orders_parquet, {"type": "range", "column": "age", "min": 0, "max": 120, "inclusive": False}
    )
    assert exclusive.offending_rows == ((age <= 0) | (age >= 120)).sum()
    passing = one(orders_parquet, {"type": "range", "column": "price", "min": 1})
    assert passing.passed
    start = datetime(2024, 6, 10)
    times = one(orders_parquet, {"type": "range", "column": "created", "min": start})
    assert times.offending_rows == (orders["created"] < start).sum() > 0


def test_allowed_values(orders_parquet, orders):
    rule = {"type": "allowed_values", "column": "status", "values": ["new", "paid", "shipped"]}
    failing = one(orders_parquet, rule)
    assert failing.offending_rows == (orders["status"] == "lost").sum() > 0
    assert {item["values"]["status"] for item in failing.sample} == {"lost"}
    passing = one(orders_parquet, {**rule, "values": ["new", "paid", "shipped", "lost"]})
    assert passing.passed
    numbers = one(orders_parquet, {"type": "allowed_values", "column": "line", "values": [1, 2]})
    assert numbers.passed


def test_regex_full_match(orders_parquet, orders):
    pattern = r"[a-z0-9]+@[a-z]+\.[a-z]+"
    failing = one(orders_parquet, {"type": "regex", "column": "email", "pattern": pattern})
    present = orders["email"].dropna()
    expected = (~present.map(lambda v: re.fullmatch(pattern, v) is not None)).sum()
    assert failing.offending_rows == expected > 0
    passing = one(
        orders_parquet, {"type": "regex", "column": "shop", "pattern": "north|south|east|west"}
    )
    assert passing.passed


def test_row_count(orders_parquet, orders):
    assert one(orders_parquet, {"type": "row_count", "min": 1, "max": 1000}).passed
    failing = one(orders_parquet, {"type": "row_count", "min": 500})
    assert not failing.passed and failing.observed == len(orders)
    assert failing.offending_rows is None and "at least 500 rows" in failing.message


def test_freshness_against_a_given_now(orders_parquet, orders):
    newest = orders["created"].max().to_pydatetime().replace(tzinfo=UTC)
    rule = {"type": "freshness", "column": "created", "max_age": "2d"}
    passing = one(orders_parquet, rule, now=newest + timedelta(days=1))
    assert passing.passed and passing.observed["age_seconds"] == 86400
    failing = one(orders_parquet, rule, now=newest + timedelta(days=3))
    assert not failing.passed and "2d" in failing.message
    own_now = one(orders_parquet, {**rule, "now": (newest + timedelta(hours=47)).isoformat()})
    assert own_now.passed
    aware = newest.astimezone(datetime.now().astimezone().tzinfo) + timedelta(hours=49)
    assert not one(orders_parquet, rule, now=aware).passed  # time zones are honoured
    assert not one(orders_parquet, {**rule, "max_age": 3600}, now=datetime.now(UTC)).passed


def test_custom_sql_expression_and_query(orders_parquet, orders):
    failing = one(orders_parquet, {"type": "sql", "name": "paid", "expression": "paid >= price"})
    assert failing.name == "paid"
    assert failing.offending_rows == (orders["paid"] < orders["price"]).sum() > 0
    assert_sample(failing, orders[orders["paid"] < orders["price"]])
    passing = one(orders_parquet, {"type": "sql", "expression": "price > 0"})
    assert passing.passed
    # A NULL result offends: the expression does not hold for that row.
    nulls = one(orders_parquet, {"type": "sql", "expression": "age >= -100"})
    assert nulls.offending_rows == orders["age"].isna().sum()
    query = "SELECT shop, count(*) AS n FROM data GROUP BY shop HAVING count(*) > 70"
    grouped = one(orders_parquet, {"type": "sql", "query": query})
    assert grouped.offending_rows == (orders["shop"].value_counts() > 70).sum()
    assert set(grouped.sample[0]["values"]) == {"shop", "n"}
    assert one(
        orders_parquet, {"type": "sql", "query": "SELECT * FROM data WHERE price < 0"}
    ).passed


def test_severity_and_overall_verdict(orders_parquet):
    rules = {
        "name": "orders",
        "rules": [
            {"type": "not_null", "column": "price"},
            {"type": "range", "column": "age", "min": 0, "severity": "warning"},
        ],
    }
    report = evaluate_rules(orders_parquet, rules, dataset="orders:1")
    assert report.passed and report.ruleset == "orders" and report.dataset == "orders:1"
    assert [r.name for r in report.failed_warnings] == ["range(age)"]
    rules["rules"][1]["severity"] = "error"
    report = evaluate_rules(orders_parquet, rules)
    assert not report.passed and [r.name for r in report.failed_errors] == ["range(age)"]
    assert CheckReport.from_dict(report.to_dict()) == report


def test_rule_errors_name_the_rule(orders_parquet):
    with pytest.raises(
        InvalidParameter, match=r"'not_null\(agee\)' \(rules\[0\].*no column 'agee'"
    ):
        evaluate_rules(orders_parquet, [{"type": "not_null", "column": "agee"}])
    with pytest.raises(InvalidParameter, match="range needs numbers or times"):
        evaluate_rules(orders_parquet, [{"type": "range", "column": "shop", "min": 1}])
    with pytest.raises(InvalidParameter, match="do not fit"):
        evaluate_rules(
            orders_parquet, [{"type": "range", "column": "age", "min": datetime(2024, 1, 1)}]
        )
    with pytest.raises(InvalidParameter, match=r"'bad' .*the SQL failed"):
        evaluate_rules(orders_parquet, [{"type": "sql", "name": "bad", "expression": "nope > 1"}])
    with pytest.raises(InvalidParameter, match="one SELECT statement"):
        evaluate_rules(orders_parquet, [{"type": "sql", "query": "CREATE TABLE t AS SELECT 1"}])
    with pytest.raises(InvalidParameter, match="freshness needs a date or timestamp"):
        evaluate_rules(orders_parquet, [{"type": "freshness", "column": "price", "max_age": "1d"}])


def test_custom_sql_cannot_read_other_files(orders_parquet, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    query = f"SELECT * FROM read_csv('{secret}')"
    with pytest.raises(InvalidParameter, match=r"disabled by configuration|Permission"):
        evaluate_rules(orders_parquet, [{"type": "sql", "query": query}])
    copy = f"SELECT count(*) > 0 FROM read_csv('{secret}')"
    with pytest.raises(InvalidParameter, match=r"disabled by configuration|Permission"):
        evaluate_rules(orders_parquet, [{"type": "sql", "expression": f"({copy})"}])


def test_a_value_that_does_not_fit_its_column_names_the_rule(orders_parquet):
    rules = [
        {"type": "not_null", "column": "price"},
        {"type": "allowed_values", "name": "days", "column": "created", "values": ["monday"]},
    ]
    with pytest.raises(InvalidParameter, match=r"Rule 'days' \(rules\[1\], allowed_values\)"):
        evaluate_rules(orders_parquet, rules)
