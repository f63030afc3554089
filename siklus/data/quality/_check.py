"""Evaluate a rule set against a Parquet file with DuckDB.

Row rules (not-null, completeness, range, allowed values, regex) become one boolean
"offends" predicate each, and all of them are counted in a single aggregate query
(``count(*) FILTER (WHERE …)``): one scan however many rules. Uniqueness, freshness,
row count and custom SQL need their own small queries. Only failing rules fetch a sample
of their offending rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from siklus.data.quality._check_model import CheckReport, RuleResult
from siklus.data.quality._duck import (
    ROW,
    column_kind,
    connect,
    fetch_dicts,
    is_float_type,
    json_value,
    quote,
    schema,
)
from siklus.data.quality._rules import (
    AllowedValuesRule,
    CompletenessRule,
    FreshnessRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    RowCountRule,
    RuleSet,
    SqlRule,
    UniquenessRule,
    duration_text,
    load_rules,
    utc,
)
from siklus.exceptions import InvalidParameter

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class _Predicate:
    """SQL that is true for an offending row, with its parameter values."""

    sql: str
    params: list[Any]


def _missing(name: str, duck_type: str) -> str:
    q = quote(name)
    return f"({q} IS NULL OR isnan({q}))" if is_float_type(duck_type) else f"({q} IS NULL)"


def _bad_rule(rule: Any, index: int, problem: str) -> InvalidParameter:
    return InvalidParameter(f"Rule {rule.label!r} (rules[{index}], {rule.type}): {problem}")


def _allowed_values(rule: AllowedValuesRule, kind: str, index: int) -> list[Any]:
    """The allowed values typed like the column, so DuckDB compares like with like."""
    if kind == "categorical":
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in rule.values]
    if kind == "numeric" and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in rule.values
    ):
        return list(rule.values)
    if kind == "boolean" and all(isinstance(v, bool) for v in rule.values):
        return list(rule.values)
    if kind == "temporal":
        return list(rule.values)
    raise _bad_rule(rule, index, f"values {rule.values!r} do not fit a {kind} column.")


def _row_predicate(rule: Any, index: int, types: dict[str, str]) -> _Predicate | None:
    """The offending-row predicate of a row rule; None for other rule types."""
    if isinstance(rule, NotNullRule | CompletenessRule):
        return _Predicate(_missing(rule.column, types[rule.column]), [])
    if not isinstance(rule, RangeRule | AllowedValuesRule | RegexRule):
        return None
    duck_type = types[rule.column]
    kind, q = column_kind(duck_type), quote(rule.column)
    present = f"NOT {_missing(rule.column, duck_type)}"
    if isinstance(rule, RegexRule):
        return _Predicate(
            f"{present} AND NOT regexp_full_match(CAST({q} AS VARCHAR), ?)", [rule.pattern]
        )
    if isinstance(rule, AllowedValuesRule):
        values = _allowed_values(rule, kind, index)
        marks = ", ".join("?" for _ in values)
        return _Predicate(f"{present} AND {q} NOT IN ({marks})", values)
    if kind not in ("numeric", "temporal"):
        raise _bad_rule(
            rule, index, f"column {rule.column!r} is {duck_type}; range needs numbers or times."
        )
    numeric_bounds = all(isinstance(b, int | float) for b in (rule.min, rule.max) if b is not None)
    if numeric_bounds != (kind == "numeric"):
        raise _bad_rule(
            rule, index, f"bounds {rule.min!r}..{rule.max!r} do not fit the {duck_type} column."
        )
    below, above = ("<", ">") if rule.inclusive else ("<=", ">=")
    tests, params = [], []
    if rule.min is not None:
        tests.append(f"{q} {below} ?")
        params.append(rule.min)
    if rule.max is not None:
        tests.append(f"{q} {above} ?")
        params.append(rule.max)
    return _Predicate(f"{present} AND ({' OR '.join(tests)})", params)


def _sample(con: duckdb.DuckDBPyConnection, predicate: _Predicate) -> list[dict[str, Any]]:
    rows = fetch_dicts(
        con,
        f"SELECT * FROM data_rows WHERE {predicate.sql} ORDER BY {ROW} LIMIT {SAMPLE_SIZE}",
        predicate.params,
    )
    return [
        {"row": int(r.pop(ROW)), "values": {k: json_value(v) for k, v in r.items()}} for r in rows
    ]


def _run_sql(rule: Any, index: int, action: Any) -> Any:
    """Run a query built from user SQL, naming the rule when DuckDB rejects it."""
    try:
        return action()
    except duckdb.Error as exc:
        raise _bad_rule(rule, index, f"the SQL failed: {exc}".strip()) from None


def _interval(rule: RangeRule) -> str:
    lo = "-inf" if rule.min is None else str(rule.min)
    hi = "inf" if rule.max is None else str(rule.max)
    left = "[" if rule.inclusive and rule.min is not None else "("
    right = "]" if rule.inclusive and rule.max is not None else ")"
    return f"{left}{lo}, {hi}{right}"


def _row_result(rule: Any, offending: int, rows: int) -> tuple[bool, Any, str, str]:
    """``(passed, observed, expected, message)`` of a row rule from its offending count."""
    what = f"{offending:,} of {rows:,} rows"
    if isinstance(rule, CompletenessRule):
        fraction = 1.0 - offending / rows if rows else 1.0
        return (
            fraction >= rule.min_fraction,
            fraction,
            f">= {rule.min_fraction:.2%} present",
            f"{fraction:.2%} of rows have {rule.column!r} ({offending:,} missing); "
            f"at least {rule.min_fraction:.2%} required.",
        )
    if isinstance(rule, NotNullRule):
        return (
            offending == 0,
            offending,
            "no missing values",
            f"{what} are missing {rule.column!r}.",
        )
    if isinstance(rule, RangeRule):
        interval = _interval(rule)
        return (
            offending == 0,
            offending,
            f"in {interval}",
            f"{what} have {rule.column!r} outside {interval}.",
        )
    if isinstance(rule, AllowedValuesRule):
        expected = f"one of {rule.values!r}"
        return offending == 0, offending, expected, f"{what} have {rule.column!r} not {expected}."
    if isinstance(rule, RegexRule):
        expected = f"matches {rule.pattern!r}"
        return (
            offending == 0,
            offending,
            expected,
            f"{what} have {rule.column!r} that do not match {rule.pattern!r}.",
        )
    raise AssertionError(type(rule))  # pragma: no cover - _row_predicate gates the types


def _uniqueness(
    con: duckdb.DuckDBPyConnection, rule: UniquenessRule, types: dict[str, str]
) -> tuple[int, list[dict[str, Any]]]:
    keys = ", ".join(quote(c) for c in rule.columns)
    present = " AND ".join(f"NOT {_missing(c, types[c])}" for c in rule.columns)
    counted = f"SELECT *, count(*) OVER (PARTITION BY {keys}) AS __n FROM data_rows WHERE {present}"
    offending = con.execute(f"SELECT count(*) FROM ({counted}) WHERE __n > 1").fetchone()
    n = int(offending[0]) if offending else 0
    sample = []
    if n:
        inner = _Predicate(f"{ROW} IN (SELECT {ROW} FROM ({counted}) WHERE __n > 1)", [])
        sample = _sample(con, inner)
    return n, sample


def _freshness(
    con: duckdb.DuckDBPyConnection,
    rule: FreshnessRule,
    now: datetime,
    types: dict[str, str],
    index: int,
) -> tuple[bool, Any, str, str]:
    duck_type = types[rule.column]
    if column_kind(duck_type) != "temporal" or duck_type.upper().startswith("TIME "):
        raise _bad_rule(
            rule,
            index,
            f"column {rule.column!r} is {duck_type}; freshness needs a date or timestamp column.",
        )
    newest_row = con.execute(f"SELECT max({quote(rule.column)}) FROM data").fetchone()
    reference = utc(rule.now) if rule.now is not None else now
    expected = f"newest within {duration_text(rule.max_age)} of {reference.isoformat()}"
    if not newest_row or newest_row[0] is None:
        return False, None, expected, f"Column {rule.column!r} has no values, so nothing is fresh."
    newest = utc(newest_row[0])
    age = reference - newest
    observed = {"newest": newest.isoformat(), "age_seconds": age.total_seconds()}
    message = (
        f"Newest {rule.column!r} is {newest.isoformat()}, {duration_text(age)} before "
        f"{reference.isoformat()}; at most {duration_text(rule.max_age)} allowed."
    )
    return age <= rule.max_age, observed, expected, message


def _sql_query(
    con: duckdb.DuckDBPyConnection, rule: SqlRule, index: int
) -> tuple[int, list[dict[str, Any]]]:
    query = (rule.query or "").strip().rstrip(";")
    statements = _run_sql(rule, index, lambda: con.extract_statements(query))
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise _bad_rule(
            rule, index, "query must be one SELECT statement returning the offending rows."
        )
    count = _run_sql(
        rule, index, lambda: con.execute(f"SELECT count(*) FROM ({query}) AS q").fetchone()
    )
    rows = _run_sql(
        rule, index, lambda: fetch_dicts(con, f"SELECT * FROM ({query}) AS q LIMIT {SAMPLE_SIZE}")
    )
    sample = [{"row": None, "values": {k: json_value(v) for k, v in r.items()}} for r in rows]
    return int(count[0]), sample


def _check_columns(rules: RuleSet, types: dict[str, str], dataset: str) -> None:
    for index, rule in enumerate(rules.rules):
        missing = [c for c in rule.referenced_columns() if c not in types]
        if missing:
            where = dataset or "(file)"
            raise _bad_rule(
                rule,
                index,
                f"dataset {where} has no column {missing[0]!r}; columns: {list(types)}.",
            )


def evaluate_rules(
    path: str | os.PathLike[str],
    rules: RuleSet | Any,
    *,
    now: datetime | None = None,
    dataset: str = "",
    dataset_id: str = "",
    sha256: str = "",
) -> CheckReport:
    """Check the Parquet file at ``path`` against ``rules`` (what the check job runs).

    Example:
        >>> rules = [{"type": "not_null", "column": "id"}]
        >>> report = evaluate_rules("data.parquet", rules)  # doctest: +SKIP
        >>> report.passed, report.results[0].offending_rows  # doctest: +SKIP

    Args:
        path: A local Parquet file.
        rules: A :class:`RuleSet` or anything :func:`load_rules` accepts.
        now: Reference time of freshness rules without their own ``now`` (default: now).
        dataset, dataset_id, sha256: Recorded in the report to say what was checked.

    Raises:
        InvalidParameter: A rule names a missing column, does not fit its column's type,
            or its SQL fails; the message names the rule.
    """
    rules = load_rules(rules)
    reference = utc(now or datetime.now(UTC))
    con = connect(path)
    try:
        types = dict(schema(con))
        _check_columns(rules, types, dataset)
        predicates = {i: p for i, r in enumerate(rules.rules) if (p := _row_predicate(r, i, types))}
        rows, offending = _count_offending(con, rules, predicates)
        results = [
            _result(con, i, rule, rows, types, reference, predicates, offending)
            for i, rule in enumerate(rules.rules)
        ]
    finally:
        con.close()
    return CheckReport(
        dataset=dataset,
        dataset_id=dataset_id,
        sha256=sha256,
        ruleset=rules.name,
        rows=rows,
        passed=not any(not r.passed and r.severity == "error" for r in results),
        checked_at=datetime.now(UTC).isoformat(),
        now=reference.isoformat(),
        results=results,
    )


def _count_offending(
    con: duckdb.DuckDBPyConnection, rules: RuleSet, predicates: dict[int, _Predicate]
) -> tuple[int, dict[int, int]]:
    """Rows in the dataset, and offending rows of every row rule, in one scan.

    When DuckDB rejects the combined query (a value that cannot be compared with its
    column, say), each rule runs alone so the error names the rule at fault.
    """
    items = ["count(*)"] + [f"count(*) FILTER (WHERE {p.sql})" for p in predicates.values()]
    params = [v for p in predicates.values() for v in p.params]
    try:
        counts = con.execute(f"SELECT {', '.join(items)} FROM data", params).fetchone() or (0,)
    except duckdb.Error:
        for index, p in predicates.items():
            sql = f"SELECT count(*) FILTER (WHERE {p.sql}) FROM data"
            _run_sql(rules.rules[index], index, lambda sql=sql, p=p: con.execute(sql, p.params))
        raise
    return int(counts[0]), dict(zip(predicates, (int(c) for c in counts[1:]), strict=True))


def _result(
    con: duckdb.DuckDBPyConnection,
    index: int,
    rule: Any,
    rows: int,
    types: dict[str, str],
    now: datetime,
    predicates: dict[int, _Predicate],
    offending: dict[int, int],
) -> RuleResult:
    sample: list[dict[str, Any]] = []
    count: int | None
    if index in predicates:
        count = offending[index]
        passed, observed, expected, message = _row_result(rule, count, rows)
        if count:
            sample = _sample(con, predicates[index])
    elif isinstance(rule, UniquenessRule):
        count, sample = _uniqueness(con, rule, types)
        key = ", ".join(rule.columns)
        passed, observed, expected = count == 0, count, f"unique ({key})"
        message = f"{count:,} of {rows:,} rows share their ({key}) value with another row."
    elif isinstance(rule, RowCountRule):
        count, observed = None, rows
        passed = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
        if rule.max is None:
            expected = f"at least {rule.min:,} rows"
        elif rule.min is None:
            expected = f"at most {rule.max:,} rows"
        else:
            expected = f"{rule.min:,} to {rule.max:,} rows"
        message = f"The dataset has {rows:,} rows; expected {expected}."
    elif isinstance(rule, FreshnessRule):
        count = None
        passed, observed, expected, message = _freshness(con, rule, now, types, index)
    elif isinstance(rule, SqlRule) and rule.expression is not None:
        predicate = _Predicate(f"NOT coalesce(({rule.expression}), false)", [])
        result = _run_sql(
            rule,
            index,
            lambda: con.execute(
                f"SELECT count(*) FILTER (WHERE {predicate.sql}) FROM data"
            ).fetchone(),
        )
        count = int(result[0])
        passed, observed, expected = count == 0, count, f"true for every row: {rule.expression}"
        message = f"{count:,} of {rows:,} rows do not satisfy {rule.expression}."
        if count:
            sample = _run_sql(rule, index, lambda: _sample(con, predicate))
    else:
        count, sample = _sql_query(con, rule, index)
        passed, observed, expected = count == 0, count, "the query returns no rows"
        message = f"The query returned {count:,} offending rows."
    return RuleResult(
        index=index,
        name=rule.label,
        type=rule.type,
        severity=rule.severity,
        passed=bool(passed),
        offending_rows=count,
        rows=rows,
        observed=json_value(observed),
        expected=expected,
        message=message,
        sample=sample,
    )


__all__ = ["SAMPLE_SIZE", "evaluate_rules"]
