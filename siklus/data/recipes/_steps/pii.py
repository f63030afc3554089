"""Personal data: mask, hash (salted SHA-256), redact patterns in free text.

To drop a PII column entirely use ``drop_columns``. Hashing is pseudonymisation, not
anonymisation: the same value and salt always give the same hash, so joins still work,
and without the salt the hashes cannot be reversed by hashing a dictionary of likely
values. Keep the salt out of the recipe with ``salt_env`` (the name of an environment
variable read when the recipe runs); a salt written in the recipe is stored with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from siklus.data.recipes._base import ColumnWise, Frame, register
from siklus.data.recipes._sql import ident, text

#: Patterns (valid in both Python ``re`` and DuckDB's RE2), applied in this order: IP
#: addresses and card numbers before phone numbers, which would also match their digits.
REDACTIONS: dict[str, tuple[str, str]] = {
    "email": (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[EMAIL]"),
    "ipv4": (r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "[IP]"),
    "credit_card": (r"\b(?:\d[ -]?){12,18}\d\b", "[CARD]"),
    "phone": (r"\+?\d[\d ().-]{7,}\d", "[PHONE]"),
}


@register
class Mask(ColumnWise):
    """Replace characters with `char`, keeping the first/last few (default: last 4)."""

    step = "mask"
    family = "pii"

    keep_first: int = Field(0, ge=0, description="Characters kept at the start.")
    keep_last: int = Field(4, ge=0, description="Characters kept at the end.")
    char: str = Field("*", min_length=1, max_length=1, description="The masking character.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        kept = self.keep_first + self.keep_last
        for column in self.targets:
            s = f"CAST({ident(column)} AS VARCHAR)"
            # A value no longer than the kept part is masked whole: keeping it all
            # would leak short values entirely.
            out[column] = (
                f"(CASE WHEN {s} IS NULL THEN NULL "
                f"WHEN length({s}) <= {kept} THEN repeat({text(self.char)}, length({s})) "
                f"ELSE concat(left({s}, {self.keep_first}), "
                f"repeat({text(self.char)}, length({s}) - {kept}), "
                f"right({s}, {self.keep_last})) END)"
            )
        return self.rewrite(frame, out)


@register
class Hash(ColumnWise):
    """Replace values by the hex SHA-256 of salt + value (same input, same hash)."""

    step = "hash"
    family = "pii"

    salt: str | None = Field(None, min_length=1, description="Salt text (stored in the recipe).")
    salt_env: str | None = Field(
        None, min_length=1, description="Environment variable holding the salt (not stored)."
    )
    length: int | None = Field(None, ge=8, le=64, description="Keep only the first N hex digits.")

    @model_validator(mode="after")
    def _one_salt(self) -> Hash:
        if (self.salt is None) == (self.salt_env is None):
            raise ValueError(
                "give either `salt` or `salt_env`: an unsalted hash of a name or an e-mail "
                "is reversed by hashing a list of likely values"
            )
        return self

    def _salt(self, frame: Frame) -> str:
        if self.salt is not None:
            return self.salt
        value = os.environ.get(str(self.salt_env))
        if not value:
            raise frame.error(
                f"environment variable {self.salt_env!r} (the salt) is not set; export it "
                "where the recipe runs (the job inherits your environment)."
            )
        return value

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        salt = text(self._salt(frame))
        out = {}
        for column in self.targets:
            x = ident(column)
            digest = f"sha256(concat({salt}, CAST({x} AS VARCHAR)))"
            if self.length is not None:
                digest = f"left({digest}, {self.length})"
            out[column] = f"(CASE WHEN {x} IS NULL THEN NULL ELSE {digest} END)"
        return self.rewrite(frame, out)


Kind = Literal["email", "ipv4", "credit_card", "phone"]


@register
class Redact(ColumnWise):
    """Replace e-mail addresses, IP addresses, card and phone numbers in text with tags."""

    step = "redact"
    family = "pii"

    kinds: list[Kind] = Field(
        ["email", "ipv4", "credit_card", "phone"],
        min_length=1,
        description="Which patterns to redact.",
    )

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_text(self.targets)

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        out = {}
        for column in self.targets:
            expression = ident(column)
            for kind, (pattern, tag) in REDACTIONS.items():
                if kind in self.kinds:
                    expression = f"regexp_replace({expression}, {text(pattern)}, {text(tag)}, 'g')"
            out[column] = expression
        return self.rewrite(frame, out)


__all__ = ["REDACTIONS", "Hash", "Mask", "Redact"]
