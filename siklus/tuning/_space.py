"""The search space: which hyperparameters a tuning job varies, and over what values.

A space is a mapping from hyperparameter name to one of three kinds of range, written the
same way in Python, JSON and YAML::

    C:            {type: float, low: 0.001, high: 10, log: true}
    kernel:       {type: categorical, choices: [linear, rbf]}
    n_estimators: {type: int, low: 10, high: 300, step: 10}

Ranges are pydantic models so a bad file gets one precise message per mistake (the
hyperparameter, the field, the bad value and what to write instead) before any job
starts. They translate one-to-one into Optuna distributions, which is what the samplers
draw from, and, where the range is finite, into the value lists grid search walks.
"""

from __future__ import annotations

import decimal
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from siklus.exceptions import InvalidParameter, NotFound

#: Values a categorical choice may take: what JSON, Optuna and a job spec all keep as is.
Choice = str | int | float | bool | None
#: A grid larger than this is almost certainly a mistake (a step far too small).
MAX_GRID_POINTS = 100_000


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntRange(_Range):
    """Whole numbers from ``low`` to ``high`` inclusive, every ``step``; ``log`` samples
    small values as often as large ones (for ranges spanning orders of magnitude)."""

    type: Literal["int", "integer"]
    low: int
    high: int
    step: int = Field(1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        _check_bounds(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError(f"step {self.step} cannot be combined with log: true; drop one")
        if (self.high - self.low) % self.step:
            raise ValueError(
                f"high - low ({self.high} - {self.low}) is not a multiple of step {self.step}; "
                f"use high: {self.low + (self.high - self.low) // self.step * self.step}"
            )
        return self

    def distribution(self) -> IntDistribution:
        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def grid(self) -> list[Choice]:
        return list(range(self.low, self.high + 1, self.step))

    def probes(self) -> list[Choice]:
        return [self.low, self.high]


class FloatRange(_Range):
    """Real numbers from ``low`` to ``high``; continuous unless ``step`` is given."""

    type: Literal["float", "continuous"]
    low: float
    high: float
    step: float | None = Field(None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> FloatRange:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        _check_bounds(self.low, self.high, self.log)
        if self.step is not None:
            if self.log:
                raise ValueError(f"step {self.step} cannot be combined with log: true; drop one")
            span = decimal.Decimal(str(self.high)) - decimal.Decimal(str(self.low))
            if span % decimal.Decimal(str(self.step)):
                raise ValueError(
                    f"high - low ({self.high} - {self.low}) is not a multiple of step "
                    f"{self.step}; adjust high or step"
                )
        return self

    def distribution(self) -> FloatDistribution:
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def grid(self) -> list[Choice]:
        if self.step is None:
            raise ValueError("a continuous range has no grid")
        count = round((self.high - self.low) / self.step)
        # Rounded to 12 digits so 0.1 + 2 * 0.1 prints and compares as 0.3.
        return [round(self.low + k * self.step, 12) for k in range(count + 1)]

    def probes(self) -> list[Choice]:
        return [self.low, self.high]


class CategoricalRange(_Range):
    """One of a list of values (strings, numbers, booleans or null)."""

    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CategoricalRange:
        seen: list[str] = []
        for choice in self.choices:
            key = json.dumps(choice)
            if key in seen:
                raise ValueError(f"choice {choice!r} is listed twice; list each value once")
            seen.append(key)
        return self

    def distribution(self) -> CategoricalDistribution:
        return CategoricalDistribution(self.choices)

    def grid(self) -> list[Choice]:
        return list(self.choices)

    def probes(self) -> list[Choice]:
        return list(self.choices)


Range = Annotated[IntRange | FloatRange | CategoricalRange, Field(discriminator="type")]


def _check_bounds(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"low ({low}) is greater than high ({high}); swap them")
    if log and low <= 0:
        raise ValueError(f"log: true needs low > 0, got low = {low}; use a positive low")


class _SpaceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ranges: dict[str, Range]


class SearchSpace(Mapping[str, IntRange | FloatRange | CategoricalRange]):
    """An immutable, validated mapping ``hyperparameter name -> range``.

    Example:
        >>> space = SearchSpace.parse({"max_depth": {"type": "int", "low": 2, "high": 8}})
        >>> space["max_depth"].grid()
        [2, 3, 4, 5, 6, 7, 8]

    Raises:
        InvalidParameter: On construction, for an empty space or any bad range; the
            message lists every problem with the hyperparameter and field it is in.
    """

    def __init__(self, ranges: Mapping[str, IntRange | FloatRange | CategoricalRange]) -> None:
        if not ranges:
            raise InvalidParameter(
                "The search space is empty; give at least one hyperparameter, e.g. "
                "{'max_depth': {'type': 'int', 'low': 2, 'high': 10}}."
            )
        for name in ranges:
            if not isinstance(name, str) or not name.strip():
                raise InvalidParameter(
                    f"Search space names must be non-empty strings, got {name!r}."
                )
        self._ranges = dict(sorted(ranges.items()))

    @classmethod
    def parse(cls, value: Mapping[str, Any] | SearchSpace) -> SearchSpace:
        """Validate a plain mapping (as read from JSON or YAML)."""
        if isinstance(value, SearchSpace):
            return value
        if not isinstance(value, Mapping):
            raise InvalidParameter(
                f"A search space must be a mapping of hyperparameter name to range, got "
                f"{type(value).__name__}."
            )
        try:
            model = _SpaceModel.model_validate({"ranges": dict(value)})
        except ValidationError as exc:
            raise InvalidParameter(_describe(exc)) from None
        return cls(model.ranges)

    def __getitem__(self, name: str) -> IntRange | FloatRange | CategoricalRange:
        return self._ranges[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_dict()!r})"

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The JSON form (what a job spec stores and :meth:`parse` reads back)."""
        return {name: r.model_dump(exclude_defaults=False) for name, r in self._ranges.items()}

    def distributions(self) -> dict[str, BaseDistribution]:
        """One Optuna distribution per hyperparameter."""
        return {name: r.distribution() for name, r in self._ranges.items()}

    def contains(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` names exactly these hyperparameters with values inside them."""
        if set(params) != set(self._ranges):
            return False
        for name, dist in self.distributions().items():
            try:
                if not dist._contains(dist.to_internal_repr(params[name])):
                    return False
            except (ValueError, TypeError):
                return False
        return True

    def grid(self) -> dict[str, list[Choice]]:
        """Every value of every hyperparameter, for grid search.

        Raises:
            InvalidParameter: A continuous range without a step (it has infinitely many
                values), or a grid with more than :data:`MAX_GRID_POINTS` points.
        """
        continuous = [
            name for name, r in self._ranges.items() if isinstance(r, FloatRange) and not r.step
        ]
        if continuous:
            raise InvalidParameter(
                f"Grid search needs a finite set of values, but {continuous} "
                f"{'is a continuous range' if len(continuous) == 1 else 'are continuous ranges'}"
                " without a step. Give each a step (e.g. step: 0.1), list the values with "
                "type: categorical, or use the random or bayesian strategy."
            )
        grid = {name: r.grid() for name, r in self._ranges.items()}
        size = math.prod(len(values) for values in grid.values())
        if size > MAX_GRID_POINTS:
            raise InvalidParameter(
                f"The grid has {size} points (more than {MAX_GRID_POINTS}); use larger steps, "
                "fewer values, or the random or bayesian strategy."
            )
        return grid

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())


def _describe(exc: ValidationError) -> str:
    """One line per pydantic error: ``'C': low (10.0) is greater than high (1.0); swap them``."""
    lines = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p != "ranges"]
        # Drop the union tag pydantic inserts ("float", "int") after the name.
        if len(loc) >= 2 and loc[1] in ("int", "integer", "float", "continuous", "categorical"):
            loc.pop(1)
        where = repr(loc[0]) if loc else "search space"
        field = f" {'.'.join(loc[1:])}" if len(loc) > 1 else ""
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            message = f"unknown type {error['input'].get('type')!r}; use int, float or categorical"
        elif error["type"] == "union_tag_not_found":
            message = "missing 'type'; use int, float or categorical"
        elif error["type"] in ("model_attributes_type", "model_type"):
            message = "must be a mapping such as {type: int, low: 1, high: 10}"
        elif error["type"] == "too_short":
            message = "is empty; list at least one value"
        elif error["type"] == "extra_forbidden":
            field = ""
            message = (
                f"unknown field {loc[-1]!r}; a range has type, low, high, step, log or choices"
            )
        lines.append(f"{where}{field}: {message}")
    return "Bad search space: " + "; ".join(lines) + "."


def load_search_space(source: str | os.PathLike[str] | Mapping[str, Any]) -> SearchSpace:
    """Read a search space from a YAML or JSON file, or validate a mapping.

    Example:
        >>> space = load_search_space("space.yaml")  # doctest: +SKIP

    Raises:
        NotFound: The file does not exist.
        InvalidParameter: The file is not valid YAML/JSON, or a range is bad.
    """
    if isinstance(source, Mapping):
        return SearchSpace.parse(source)
    path = Path(source)
    if not path.is_file():
        raise NotFound(f"Search space file {str(path)!r} does not exist; check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise InvalidParameter(
            f"Search space file {str(path)!r} is not valid YAML/JSON: {exc}"
        ) from None
    if not isinstance(data, Mapping):
        raise InvalidParameter(
            f"Search space file {str(path)!r} must hold a mapping of hyperparameter name to "
            "range, e.g. 'max_depth: {type: int, low: 2, high: 10}'."
        )
    return SearchSpace.parse(data)


__all__ = [
    "CategoricalRange",
    "FloatRange",
    "IntRange",
    "SearchSpace",
    "load_search_space",
]
