"""Element-wise arithmetic on numeric columns: abs, round, clip to a range, logarithms.

Rounding is SQL rounding, half away from zero (``round(2.5) = 3``), not numpy's half to
even; the two differ only on exact ties such as 0.125.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from siklus.data.recipes._base import ColumnWise, Frame, register
from siklus.data.recipes._sql import ident, is_float, literal, text


def clip_sql(expr: str, type_name: str, lower: float | None, upper: float | None) -> str:
    """``expr`` limited to ``[lower, upper]``; NULL and NaN pass through unchanged.

    Written as CASE rather than GREATEST/LEAST because those skip NULLs in DuckDB, and
    because DuckDB orders NaN above every number, which would clip NaN to ``upper``.
    """
    arms = []
    if is_float(type_name):
        arms.append(f"WHEN isnan({expr}) THEN {expr}")
    if lower is not None:
        arms.append(f"WHEN {expr} < {literal(lower)} THEN {literal(lower)}")
    if upper is not None:
        arms.append(f"WHEN {expr} > {literal(upper)} THEN {literal(upper)}")
    return f"(CASE {' '.join(arms)} ELSE {expr} END)"


class NumericColumns(ColumnWise):
    """Column-wise step on numeric columns only."""

    def check(self, frame: Frame) -> None:
        super().check(frame)
        frame.require_numeric(self.targets)


@register
class Abs(NumericColumns):
    """Absolute value."""

    step = "abs"
    family = "numeric"

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(frame, {c: f"abs({ident(c)})" for c in self.targets})


@register
class Round(NumericColumns):
    """Round to `decimals` places (half away from zero; negative rounds to tens, hundreds)."""

    step = "round"
    family = "numeric"

    decimals: int = Field(0, ge=-18, le=18, description="Digits after the decimal point.")

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(frame, {c: f"round({ident(c)}, {self.decimals})" for c in self.targets})


@register
class Clip(NumericColumns):
    """Limit values to a fixed range [lower, upper] (either bound may be left open)."""

    step = "clip"
    family = "numeric"

    lower: float | None = Field(None, description="Smallest value kept.")
    upper: float | None = Field(None, description="Largest value kept.")

    @model_validator(mode="after")
    def _bounds(self) -> Clip:
        if self.lower is None and self.upper is None:
            raise ValueError("give `lower`, `upper` or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"`lower` ({self.lower}) is above `upper` ({self.upper})")
        return self

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        return self.rewrite(
            frame,
            {c: clip_sql(ident(c), frame.columns[c], self.lower, self.upper) for c in self.targets},
        )


#: Each method's SQL over a DOUBLE expression ``{x}``, and the smallest valid input
#: (exclusive). ``log1p`` uses its Taylor series near 0, where ``ln(1 + x)`` would lose
#: the digits of a tiny ``x`` (DuckDB has no log1p).
_LOGS = {
    "log1p": (
        "(CASE WHEN abs({x}) < 1e-4 THEN {x} - {x}*{x}/2 + {x}*{x}*{x}/3 - {x}*{x}*{x}*{x}/4 "
        "ELSE ln(1 + {x}) END)",
        -1.0,
    ),
    "ln": ("ln({x})", 0.0),
    "log10": ("log10({x})", 0.0),
    "log2": ("log2({x})", 0.0),
}


@register
class LogTransform(NumericColumns):
    """Logarithm (log1p by default); values outside the domain fail or become NULL."""

    step = "log_transform"
    family = "numeric"

    method: Literal["log1p", "ln", "log10", "log2"] = Field(
        "log1p", description="log1p = ln(1 + x), defined for x > -1; the others for x > 0."
    )
    on_invalid: Literal["fail", "null"] = Field(
        "fail", description="What to do with a value outside the domain."
    )

    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        template, bound = _LOGS[self.method]
        out = {}
        for column in self.targets:
            x = f"CAST({ident(column)} AS DOUBLE)"
            if self.on_invalid == "null":
                invalid = "NULL"
            else:
                message = (
                    f"concat({text(f'{self.method} is undefined for column {column!r} value ')}"
                    f", CAST({x} AS VARCHAR), {text(f' (it needs values above {bound:g})')})"
                )
                invalid = frame.fail(message, column=column)
            out[column] = (
                f"(CASE WHEN {x} IS NULL OR isnan({x}) THEN {x} "
                f"WHEN {x} <= {literal(bound)} THEN {invalid} "
                f"ELSE {template.format(x=x)} END)"
            )
        return self.rewrite(frame, out)


__all__ = ["Abs", "Clip", "LogTransform", "NumericColumns", "Round", "clip_sql"]
