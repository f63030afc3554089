"""String cleaning: trim, case, regular expressions, splitting, substrings, length.

Regular expressions are RE2 (DuckDB's engine): the common Python syntax works, including
``\\1`` group references in replacements; look-arounds and back-references in patterns
do not. Patterns are checked when the recipe is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from siklus.data.recipes._base import ColumnWise, Frame, OnColumns, Transform, register
from siklus.data.recipes._sql import ident, text

#: What ``trim`` strips by default: the ASCII whitespace Python's ``str.strip()`` strips.
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"


def check_pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    if any(token in value for token in ("(?=", "(?!", "(?<=", "(?<!")):
        raise ValueError("look-around is not supported by DuckDB's RE2 engine")
    if re.search(r"(?<!\\)\\[1-9]", value):
        raise ValueError("back-references in a pattern are not supported by DuckDB's RE2 engine")
    return value


class TextColumns(ColumnWise):
    """Column-wise step on VARCHAR columns only."""

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text(self.targets)


@register
class Trim(TextColumns):
    """Remove leading and trailing whitespace (or the given `characters`)."""

    step = "trim"
    family = "text"

    characters: str | None = Field(None, description="Characters to strip; default whitespace.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            x = ident(column)
            # DuckDB's one-argument trim() strips spaces only; Python's strip() strips all
            # whitespace, so name the ASCII whitespace characters (faster than a regex).
            characters = ASCII_WHITESPACE if self.characters is None else self.characters
            out[column] = f"trim({x}, {text(characters)})"
        return self.rewrite(frame, out)


@register
class Lower(TextColumns):
    """Lower-case text."""

    step = "lower"
    family = "text"

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(frame, {c: f"lower({ident(c)})" for c in self.targets})


@register
class Upper(TextColumns):
    """Upper-case text."""

    step = "upper"
    family = "text"

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(frame, {c: f"upper({ident(c)})" for c in self.targets})


@register
class RegexReplace(TextColumns):
    """Replace every match of a regular expression (`\\1` refers to a group)."""

    step = "regex_replace"
    family = "text"

    pattern: str = Field(..., min_length=1, description="RE2 regular expression.")
    replacement: str = Field("", description="Replacement text; \\1 inserts group 1.")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return check_pattern(value)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(
            frame,
            {
                c: f"regexp_replace({ident(c)}, {text(self.pattern)}, "
                f"{text(self.replacement)}, 'g')"
                for c in self.targets
            },
        )


@register
class RegexExtract(Transform):
    """Extract the first match (or one group of it) into a new column; NULL when none."""

    step = "regex_extract"
    family = "text"

    column: str = Field(..., description="A text column.")
    pattern: str = Field(..., min_length=1, description="RE2 regular expression.")
    group: int = Field(0, ge=0, description="0: the whole match; n: group n.")
    into: str = Field(..., description="Name of the new column.")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return check_pattern(value)

    def columns_read(self) -> list[str]:
        return [self.column]

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text([self.column])
        if self.group > re.compile(self.pattern).groups:
            raise frame.error(f"the pattern has no group {self.group}.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        x, p = ident(self.column), text(self.pattern)
        expression = (
            f"CASE WHEN regexp_matches({x}, {p}) THEN regexp_extract({x}, {p}, {self.group}) END"
        )
        return frame.project({frame.new_column(self.into, replacing=[self.into]): expression})


@register
class Split(Transform):
    """Split text on a separator into the columns named in `into` (extra parts dropped)."""

    step = "split"
    family = "text"

    column: str = Field(..., description="A text column.")
    separator: str = Field(..., min_length=1, description="Literal separator text.")
    into: list[str] = Field(..., min_length=1, description="Names for the first parts.")
    keep_original: bool = Field(True, description="Keep the column that was split.")

    def columns_read(self) -> list[str]:
        return [self.column]

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text([self.column])

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        drop = [] if self.keep_original else [self.column]
        parts = f"string_split({ident(self.column)}, {text(self.separator)})"
        out = {
            frame.new_column(name, replacing=drop): f"{parts}[{i + 1}]"
            for i, name in enumerate(self.into)
        }
        return frame.project(out, drop=drop)


@register
class Substring(TextColumns):
    """Keep `length` characters from 0-based position `start` (Python slicing)."""

    step = "substring"
    family = "text"

    start: int = Field(0, ge=0, description="0-based index of the first character kept.")
    length: int | None = Field(None, ge=0, description="How many characters; default: the rest.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        size = "" if self.length is None else f", {self.length}"
        return self.rewrite(
            frame, {c: f"substr({ident(c)}, {self.start + 1}{size})" for c in self.targets}
        )


@register
class Length(OnColumns):
    """Add `<column><suffix>` with the number of characters of the text."""

    step = "length"
    family = "text"

    suffix: str = Field("_length", min_length=1, description="Appended to the column name.")

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text(self.targets)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return frame.project(
            {frame.new_column(c + self.suffix): f"length({ident(c)})" for c in self.targets}
        )


__all__ = [
    "Length",
    "Lower",
    "RegexExtract",
    "RegexReplace",
    "Split",
    "Substring",
    "TextColumns",
    "Trim",
    "Upper",
    "check_pattern",
]
