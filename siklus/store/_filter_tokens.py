"""The tokenizer of run filters and order-by clauses (see :mod:`siklus.store._filter`).

Kept apart from the parser so each stays small: this module turns text into a list of
:class:`Token` with their column, which is all the parser needs to point at a mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from siklus.exceptions import InvalidParameter

#: Prefixes that address a run's dicts, with the aliases people type by habit.
PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}

FILTER_EXAMPLE = "metrics.accuracy > 0.9 and params.C = '1.0' and tags.model = \"rf\""

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z0-9_\-./:]+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_CANONICAL_OP = {"==": "=", "<>": "!="}


@dataclass(frozen=True)
class Token:
    """One piece of a filter.

    Attributes:
        kind: ``name`` (``metrics.acc``, ``status``), ``string``, ``number``, ``op``,
            ``and``, ``or``, ``(``, ``)``, ``word`` (ASC/DESC and other bare words) or
            ``end``.
        text: The value: the key for a name, the unquoted text for a string, the
            operator in canonical form (``=``, ``!=``, …).
        pos: 0-based column where the token starts.
        prefix: For ``name`` tokens, ``metrics``/``params``/``tags``/``attributes``.
    """

    kind: str
    text: str
    pos: int
    prefix: str = ""


def syntax_error(source: str, pos: int, message: str, *, what: str = "filter") -> InvalidParameter:
    """An :class:`InvalidParameter` that quotes ``source`` and points at column ``pos``."""
    example = FILTER_EXAMPLE if what == "filter" else "metrics.accuracy DESC"
    return InvalidParameter(
        f"Invalid run {what} at column {pos + 1}: {message}.\n"
        f"  {source}\n  {' ' * pos}^\n"
        f"Example: {example}"
    )


def _quoted(source: str, pos: int, what: str) -> tuple[str, int]:
    """Read a '…', "…" or `…` string starting at ``pos``; a doubled quote escapes it."""
    quote = source[pos]
    out = []
    i = pos + 1
    while i < len(source):
        char = source[i]
        if char == quote:
            if source[i + 1 : i + 2] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(source):
            out.append(source[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    raise syntax_error(
        source, pos, f"the string opened here is never closed with {quote}", what=what
    )


def _name(source: str, pos: int, what: str) -> tuple[Token, int]:
    word = _WORD.match(source, pos)
    assert word is not None
    end = word.end()
    lowered = word.group().lower()
    if lowered in ("and", "or") and not source.startswith(".", end):
        return Token(lowered, lowered, pos), end
    if lowered in PREFIXES and source.startswith(".", end):
        start = end + 1
        if start < len(source) and source[start] in "'\"`":
            key, after = _quoted(source, start, what)
        else:
            match = _KEY.match(source, start)
            if match is None:
                raise syntax_error(
                    source, start, f"expected a key after '{word.group()}.'", what=what
                )
            key, after = match.group(), match.end()
        if not key:
            raise syntax_error(source, start, "the key is empty", what=what)
        return Token("name", key, pos, PREFIXES[lowered]), after
    if source.startswith(".", end):
        raise syntax_error(
            source,
            pos,
            f"unknown prefix '{word.group()}'; expected metrics., params., tags. or attributes.",
            what=what,
        )
    return Token("word", word.group(), pos), end


def tokenize(source: str, *, what: str = "filter") -> list[Token]:
    """Split ``source`` into tokens, ending with an ``end`` token.

    Raises:
        InvalidParameter: An unclosed string or a character that starts no token; the
            message shows the column.
    """
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append(Token(char, char, i))
            i += 1
            continue
        if char in "'\"":
            text, end = _quoted(source, i, what)
            tokens.append(Token("string", text, i))
            i = end
            continue
        number = _NUMBER.match(source, i)
        if number is not None and (char.isdigit() or char in "+-."):
            tokens.append(Token("number", number.group(), i))
            i = number.end()
            continue
        operator = next((op for op in _OPERATORS if source.startswith(op, i)), None)
        if operator is not None:
            tokens.append(Token("op", _CANONICAL_OP.get(operator, operator), i))
            i += len(operator)
            continue
        if _WORD.match(source, i):
            token, i = _name(source, i, what)
            tokens.append(token)
            continue
        raise syntax_error(source, i, f"unexpected character {char!r}", what=what)
    tokens.append(Token("end", "", len(source)))
    return tokens


__all__ = ["FILTER_EXAMPLE", "PREFIXES", "Token", "syntax_error", "tokenize"]
