"""Run filters (``metrics.accuracy > 0.9 and params.C = '1.0'``) and order-by clauses.

The grammar, case-insensitive for ``and``/``or``/``ASC``/``DESC``::

    filter     := or_expr | (empty: every run)
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := atom ("and" atom)*
    atom       := "(" or_expr ")" | name op literal
    name       := (metrics|params|tags|attributes) "." key | attribute
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="      ("==" and "<>" also work)
    literal    := number | 'text' | "text"
    order_by   := name ["ASC" | "DESC"]

A key may be quoted (``metrics."val loss"``). The semantics, which the SQL backends
reproduce exactly (the contract tests compare them with :meth:`RunFilter.matches`):

- A comparison with a key the run does not have is false, for every operator.
- ``metrics.k``: numeric; a NaN value matches nothing. The literal must be a number.
- ``params.k``: a param logged as a number compares numerically with a numeric literal
  (``'1.0'`` counts: ``params.C = '1.0'`` matches ``C=1.0`` and ``C=1``); with a
  non-numeric literal it is only ``!=``. A param logged as text compares as text with
  the literal as written.
- ``tags.k`` and attributes (``status``, ``name``, ``job_id``, ``model_id``, ``id``,
  ``experiment_id``) compare as text, by code point.

The parser lives in the store layer because the store pushes the parsed filter into SQL.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siklus.store._filter_tokens import Token, syntax_error, tokenize
from siklus.store.records import Run, RunStatus

#: Attributes a filter may compare, and those an order-by may also sort on.
FILTER_ATTRIBUTES = ("id", "name", "status", "job_id", "model_id", "experiment_id")
ORDER_ATTRIBUTES = (*FILTER_ATTRIBUTES, "start_time", "end_time")
_ALIASES = {"run_id": "id", "run_name": "name"}

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Value:
    """A literal: its text as written (unquoted) and its number when it is one."""

    text: str
    number: float | None


@dataclass(frozen=True)
class Comparison:
    """``<kind>.<key> <op> <value>``; ``kind`` is metrics, params, tags or attributes."""

    kind: str
    key: str
    op: str
    value: Value

    def matches(self, run: Run) -> bool:
        compare = OPS[self.op]
        if self.kind == "metrics":
            metric = run.metrics.get(self.key)
            if metric is None or math.isnan(metric):
                return False
            assert self.value.number is not None
            return compare(metric, self.value.number)
        if self.kind == "params":
            param = run.params.get(self.key)
            if param is None:
                return False
            if isinstance(param, int | float) and not isinstance(param, bool):
                if self.value.number is None:
                    return self.op == "!="
                return compare(float(param), self.value.number)
            return compare(str(param), self.value.text)
        if self.kind == "tags":
            tag = run.tags.get(self.key)
            return tag is not None and compare(tag, self.value.text)
        attribute = getattr(run, self.key)
        return attribute is not None and compare(str(attribute), self.value.text)


@dataclass(frozen=True)
class Junction:
    """``and`` / ``or`` of two or more parts."""

    op: str
    parts: tuple[Comparison | Junction, ...]

    def matches(self, run: Run) -> bool:
        if self.op == "and":
            return all(part.matches(run) for part in self.parts)
        return any(part.matches(run) for part in self.parts)


Node = Comparison | Junction


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter. ``root`` is None for the empty filter, which matches every run."""

    text: str
    root: Node | None

    def matches(self, run: Run) -> bool:
        """Evaluate the filter in Python (the reference the SQL translation must equal)."""
        return True if self.root is None else self.root.matches(run)


@dataclass(frozen=True)
class OrderBy:
    """One sort key: ``kind`` is metrics, params, tags or attributes."""

    kind: str
    key: str
    descending: bool = False


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _attribute(source: str, token: Token, allowed: tuple[str, ...], what: str) -> str:
    name = _ALIASES.get(token.text.lower(), token.text.lower())
    if name not in allowed:
        raise syntax_error(
            source,
            token.pos,
            f"unknown name '{token.text}'; expected metrics.<key>, params.<key>, "
            f"tags.<key> or one of {', '.join(allowed)}",
            what=what,
        )
    return name


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def fail(self, message: str, token: Token | None = None) -> Exception:
        token = token or self.token
        found = (
            "the end of the filter" if token.kind == "end" else repr(self.source[token.pos :][:20])
        )
        return syntax_error(self.source, token.pos, f"{message}, found {found}")

    def parse(self) -> Node | None:
        if self.token.kind == "end":
            return None
        node = self.or_expr()
        if self.token.kind != "end":
            raise self.fail("expected 'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.token.kind == "or":
            self.at += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.atom()]
        while self.token.kind == "and":
            self.at += 1
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def atom(self) -> Node:
        token = self.token
        if token.kind == "(":
            self.at += 1
            node = self.or_expr()
            if self.token.kind != ")":
                raise self.fail(f"expected ')' to close the '(' at column {token.pos + 1}")
            self.at += 1
            return node
        if token.kind == "name":
            kind, key = token.prefix, token.text
            if kind == "attributes":
                key = _attribute(self.source, token, FILTER_ATTRIBUTES, "filter")
        elif token.kind == "word":
            kind, key = "attributes", _attribute(self.source, token, FILTER_ATTRIBUTES, "filter")
        else:
            raise self.fail("expected a name such as metrics.accuracy, params.C or tags.model")
        self.at += 1
        op = self.token
        if op.kind != "op":
            raise self.fail(f"expected an operator (=, !=, <, <=, >, >=) after '{token.text}'")
        self.at += 1
        return Comparison(kind, key, op.text, self.literal(kind, key))

    def literal(self, kind: str, key: str) -> Value:
        token = self.token
        if token.kind not in ("number", "string"):
            raise self.fail("expected a number or a quoted 'text' value")
        self.at += 1
        value = Value(token.text, _number(token.text))
        if kind == "metrics" and value.number is None:
            raise syntax_error(
                self.source,
                token.pos,
                f"metrics.{key} is a number, so it compares with a number, not {token.text!r}",
            )
        if kind == "attributes" and key == "status" and token.text not in set(RunStatus):
            raise syntax_error(
                self.source,
                token.pos,
                f"status is one of {', '.join(s.value for s in RunStatus)}, not {token.text!r}",
            )
        return value


def parse_run_filter(text: str | RunFilter | None) -> RunFilter:
    """Parse a filter expression (see the module docstring for the grammar).

    Example:
        >>> parse_run_filter("metrics.accuracy > 0.9 and tags.model = 'rf'").root.op
        'and'

    Raises:
        InvalidParameter: A syntax error; the message shows the column and what was
            expected there.
    """
    if isinstance(text, RunFilter):
        return text
    text = text or ""
    return RunFilter(text, _Parser(text).parse())


def parse_order_by(clauses: list[str] | tuple[str, ...] | None) -> list[OrderBy]:
    """Parse order-by clauses such as ``["metrics.accuracy DESC", "params.C"]``.

    Raises:
        InvalidParameter: Not ``<name> [ASC|DESC]``; the message shows the column.
    """
    parsed = []
    for clause in clauses or ():
        tokens = tokenize(clause, what="order-by")
        first = tokens[0]
        if first.kind == "name" and first.prefix != "attributes":
            kind, key = first.prefix, first.text
        elif first.kind in ("name", "word"):
            kind, key = "attributes", _attribute(clause, first, ORDER_ATTRIBUTES, "order-by")
        else:
            raise syntax_error(
                clause, first.pos, "expected a name such as metrics.accuracy", what="order-by"
            )
        rest = tokens[1:-1]
        descending = False
        if rest:
            direction = rest[0]
            if direction.kind != "word" or direction.text.upper() not in ("ASC", "DESC"):
                raise syntax_error(clause, direction.pos, "expected ASC or DESC", what="order-by")
            descending = direction.text.upper() == "DESC"
            if len(rest) > 1:
                raise syntax_error(
                    clause, rest[1].pos, "expected the end after ASC/DESC", what="order-by"
                )
        parsed.append(OrderBy(kind, key, descending))
    return parsed


__all__ = [
    "FILTER_ATTRIBUTES",
    "ORDER_ATTRIBUTES",
    "Comparison",
    "Junction",
    "OrderBy",
    "RunFilter",
    "Value",
    "parse_order_by",
    "parse_run_filter",
]
