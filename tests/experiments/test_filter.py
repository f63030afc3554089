"""Filter and order-by parsing: what parses to what, and errors that point at the mistake."""

from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter
from siklus.experiments import parse_order_by, parse_run_filter
from siklus.store import OrderBy
from siklus.store._filter import Comparison, Junction, Value


def cmp(kind: str, key: str, op: str, text: str, number: float | None = None) -> Comparison:
    return Comparison(kind, key, op, Value(text, number))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("   ", None),
        ("metrics.accuracy > 0.9", cmp("metrics", "accuracy", ">", "0.9", 0.9)),
        ("metric.acc>=1e-3", cmp("metrics", "acc", ">=", "1e-3", 1e-3)),
        ("params.C = '1.0'", cmp("params", "C", "=", "1.0", 1.0)),
        ("params.C == 1", cmp("params", "C", "=", "1", 1.0)),
        ('tags.model <> "rf"', cmp("tags", "model", "!=", "rf")),
        ("tags.note = 'it''s'", cmp("tags", "note", "=", "it's")),
        ("metrics.`val loss` < -2", cmp("metrics", "val loss", "<", "-2", -2.0)),
        ('metrics."val/f1-score" <= .5', cmp("metrics", "val/f1-score", "<=", ".5", 0.5)),
        ("metrics.train.loss < 1", cmp("metrics", "train.loss", "<", "1", 1.0)),
        ("status = 'Failed'", cmp("attributes", "status", "=", "Failed")),
        ("attributes.run_id = 'run-1'", cmp("attributes", "id", "=", "run-1")),
        ("job_id != 'job-1'", cmp("attributes", "job_id", "!=", "job-1")),
        (
            "metrics.a > 1 AND params.b = 'x' and tags.c = 'y'",
            Junction(
                "and",
                (
                    cmp("metrics", "a", ">", "1", 1.0),
                    cmp("params", "b", "=", "x"),
                    cmp("tags", "c", "=", "y"),
                ),
            ),
        ),
        (
            "metrics.a > 1 or metrics.b > 2 and tags.c = 'y'",
            Junction(
                "or",
                (
                    cmp("metrics", "a", ">", "1", 1.0),
                    Junction(
                        "and", (cmp("metrics", "b", ">", "2", 2.0), cmp("tags", "c", "=", "y"))
                    ),
                ),
            ),
        ),
        (
            "(metrics.a > 1 or metrics.b > 2) and tags.c = 'y'",
            Junction(
                "and",
                (
                    Junction(
                        "or",
                        (cmp("metrics", "a", ">", "1", 1.0), cmp("metrics", "b", ">", "2", 2.0)),
                    ),
                    cmp("tags", "c", "=", "y"),
                ),
            ),
        ),
    ],
)
def test_good_filters_parse(text: str, expected: object) -> None:
    assert parse_run_filter(text).root == expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("metrics.accuracy is 0.9", 18, "expected an operator (=, !=, <, <=, >, >=)"),
        ("metrics.accuracy > ", 20, "expected a number or a quoted 'text' value"),
        ("metrics.accuracy > 'high'", 20, "metrics.accuracy is a number"),
        ("metrics.a > 1 and", 18, "expected a name such as metrics.accuracy"),
        ("metrics.a > 1 metrics.b > 2", 15, "expected 'and', 'or' or the end"),
        ("(metrics.a > 1", 15, "expected ')' to close the '(' at column 1"),
        ("metrics.a > 1)", 14, "expected 'and', 'or' or the end"),
        ("tags.model = 'rf", 14, "never closed"),
        ("colour = 'red'", 1, "unknown name 'colour'"),
        ("metricz.a > 1", 1, "unknown prefix 'metricz'"),
        ("status = 'Done'", 10, "status is one of Running, Completed, Failed, Killed"),
        ("metrics.a ~ 1", 11, "unexpected character '~'"),
        ("metrics. > 1", 9, "expected a key after 'metrics.'"),
    ],
)
def test_bad_filters_say_where_and_what_was_expected(text: str, column: int, fragment: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_run_filter(text)
    message = caught.value.message
    assert f"at column {column}:" in message, message
    assert fragment in message, message
    lines = message.splitlines()
    assert lines[1] == f"  {text}"
    assert lines[2] == " " * (column + 1) + "^", "the caret points at the column"
    assert lines[3].startswith("Example: metrics.accuracy > 0.9")


def test_order_by_clauses() -> None:
    assert parse_order_by(
        ["metrics.accuracy DESC", "params.C", "start_time asc", "tags.`a b`"]
    ) == [
        OrderBy("metrics", "accuracy", True),
        OrderBy("params", "C", False),
        OrderBy("attributes", "start_time", False),
        OrderBy("tags", "a b", False),
    ]
    assert parse_order_by(None) == []
    with pytest.raises(InvalidParameter, match="column 18: expected ASC or DESC"):
        parse_order_by(["metrics.accuracy DOWN"])
    with pytest.raises(InvalidParameter, match="unknown name 'colour'"):
        parse_order_by(["colour"])
    with pytest.raises(InvalidParameter, match="expected the end after ASC/DESC"):
        parse_order_by(["metrics.a DESC ASC"])
