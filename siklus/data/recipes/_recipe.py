"""Recipes as values: :class:`Step`, :class:`Recipe`, :class:`FittedRecipe`.

A recipe is an ordered, named list of steps. It is validated when built (every step's
parameters, before any data is read), converts to and from YAML/JSON, and is versioned by
value: its version id is the sha256 of its canonical JSON, which is also the name of the
artifact it is stored as. A :class:`FittedRecipe` adds what the learning steps learned,
so its version names the recipe *and* the learned values.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from siklus.data.recipes._base import Transform, build
from siklus.data.recipes._errors import RecipeError
from siklus.exceptions import InvalidInput, NotFound

#: ``kind`` and ``format`` of the stored JSON; readers refuse formats they do not know.
KIND = "siklus.recipe"
FORMAT = 1

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def version_of(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


class Step:
    """One step as written in a recipe: a name and its parameters.

    Parameters are validated by :class:`Recipe`, which knows the step's position and so
    can name it in errors (``step 3 (cast): ...``).

    Example:
        >>> Step("fill_missing", column="age", strategy="median").to_dict()
        {'step': 'fill_missing', 'column': 'age', 'strategy': 'median'}
    """

    __slots__ = ("name", "params")

    def __init__(self, name: str, /, **params: Any) -> None:
        self.name = name
        self.params: dict[str, Any] = params

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.name, **self.params}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(canonical_json(self.to_dict()))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Step({self.name!r}{', ' if params else ''}{params})"


def _step_from(item: Any, index: int) -> Transform:
    if isinstance(item, Transform):
        return item
    if isinstance(item, Step):
        return build(item.name, item.params, index)
    if isinstance(item, Mapping):
        params = dict(item)
        if "step" not in params:
            raise RecipeError(
                f"step {index}: missing `step: NAME` (the transformation to apply); got keys "
                f"{sorted(params)}.",
                step=index,
            )
        return build(params.pop("step"), params, index)
    raise RecipeError(
        f"step {index}: expected a mapping with `step: NAME` and its parameters, got "
        f"{type(item).__name__} {item!r}.",
        step=index,
    )


class Recipe:
    """An ordered, named list of transformation steps.

    Example:
        >>> recipe = Recipe("clean", steps=[
        ...     Step("fill_missing", column="age", strategy="median"),
        ...     Step("scale_standard", columns=["age", "income"]),
        ... ])
        >>> Recipe.from_yaml(recipe.to_yaml()) == recipe
        True

    Args:
        name: Letters, digits, ``.``, ``_``, ``-`` (it names the recipe's jobs).
        steps: :class:`Step` objects, mappings ``{"step": NAME, **params}``, or step
            instances.
        description: Free text: what the recipe is for.

    Raises:
        RecipeError: A bad name, an unknown step (the message lists the known ones) or an
            invalid parameter (the message names the step and the parameter).
    """

    def __init__(
        self, name: str, steps: Iterable[Step | Mapping[str, Any] | Transform] = (),
        *, description: str = "",
    ) -> None:  # fmt: skip
        if not isinstance(name, str) or not _NAME.match(name):
            raise RecipeError(
                f"Recipe name {name!r} is not valid: use 1-200 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit."
            )
        self.name = name
        self.description = description or ""
        self.transforms: tuple[Transform, ...] = tuple(
            _step_from(item, index) for index, item in enumerate(steps, start=1)
        )

    @property
    def steps(self) -> tuple[Step, ...]:
        """The validated steps, parameters as JSON with defaults left out."""
        return tuple(Step(t.step, **t.params()) for t in self.transforms)

    def learning_steps(self) -> list[int]:
        """1-based indexes of the steps that learn from data as configured."""
        return [i for i, t in enumerate(self.transforms, start=1) if t.needs_fit()]

    # -- conversions -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["steps"] = [s.to_dict() for s in self.steps]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        if not isinstance(data, Mapping):
            raise RecipeError(
                f"A recipe must be a mapping with `name` and `steps`, got {type(data).__name__}."
            )
        unknown = sorted(set(data) - {"name", "description", "steps"})
        if unknown:
            raise RecipeError(
                f"Recipe has unknown top-level key(s) {unknown}; expected name, description, steps."
            )
        if "name" not in data:
            raise RecipeError("Recipe has no `name`; add `name: my-recipe` at the top.")
        steps = data.get("steps") or []
        if not isinstance(steps, Sequence) or isinstance(steps, str | bytes):
            raise RecipeError("Recipe `steps` must be a list of `- step: NAME` entries.")
        return cls(data["name"], steps, description=data.get("description") or "")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, source: str) -> Recipe:
        """Parse YAML (or JSON, which is YAML) text into a recipe."""
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"The recipe is not valid YAML: {exc}") from None
        return cls.from_dict(data if data is not None else {})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Recipe:
        """Read a ``.yaml``/``.yml``/``.json`` recipe file.

        Raises:
            NotFound: No such file.
            RecipeError, InvalidInput: The file is not a valid recipe; the message says why.
        """
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"Recipe file {str(path)!r} does not exist. Check the path.")
        try:
            return cls.from_yaml(path.read_text(encoding="utf-8"))
        except RecipeError as exc:
            raise type(exc)(
                f"{path.name}: {exc.message}", step=exc.step, step_name=exc.step_name,
                column=exc.column,
            ) from None  # fmt: skip

    # -- identity ----------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        """The stored JSON (see :func:`canonical_json`): kind, format, the recipe."""
        return {"kind": KIND, "format": FORMAT, "recipe": self.to_dict()}

    @property
    def version(self) -> str:
        """sha256 of the canonical stored JSON: equal recipes have equal versions."""
        return version_of(self.document())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and not isinstance(other, FittedRecipe) and (
            self.to_dict() == other.to_dict()
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash(self.version)

    def __repr__(self) -> str:
        return f"Recipe({self.name!r}, {len(self.transforms)} steps)"


@dataclass(frozen=True, eq=False)
class FittedRecipe:
    """A recipe plus what its learning steps learned, ready to apply to any data.

    Applying it uses only ``states`` (imputation values, scaling parameters, category
    lists, bin edges…), never statistics of the new data: the scikit-learn contract.

    Attributes:
        recipe: The recipe that was fitted.
        states: One JSON state per step (``None`` for steps with nothing learned).
        fitted_on: What it was fitted on: dataset reference and version id, or a file.
    """

    recipe: Recipe
    states: tuple[Mapping[str, Any] | None, ...]
    fitted_on: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.states) != len(self.recipe.transforms):
            raise RecipeError(
                f"Fitted recipe {self.recipe.name!r} has {len(self.states)} learned states "
                f"for {len(self.recipe.transforms)} steps; it was stored damaged."
            )

    @property
    def name(self) -> str:
        return self.recipe.name

    def learned(self, step: int) -> Mapping[str, Any] | None:
        """What step ``step`` (1-based) learned, or None."""
        return self.states[step - 1]

    def document(self) -> dict[str, Any]:
        return {
            **self.recipe.document(),
            "fitted": {
                "recipe_version": self.recipe.version,
                "on": dict(self.fitted_on),
                "states": [dict(s) if s is not None else None for s in self.states],
            },
        }

    @property
    def version(self) -> str:
        return version_of(self.document())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FittedRecipe) and self.version == other.version

    def __hash__(self) -> int:
        return hash(self.version)

    def __repr__(self) -> str:
        return f"FittedRecipe({self.name!r}, version={self.version[:12]})"


def from_document(document: Mapping[str, Any]) -> Recipe | FittedRecipe:
    """Rebuild a :class:`Recipe` or :class:`FittedRecipe` from its stored JSON.

    Raises:
        InvalidInput: Not a recipe document, or a format this siklus does not read.
    """
    if not isinstance(document, Mapping) or document.get("kind") != KIND:
        raise InvalidInput("This artifact is not a siklus recipe (no `kind: siklus.recipe`).")
    if document.get("format") != FORMAT:
        raise InvalidInput(
            f"Recipe format {document.get('format')!r} is not readable by this siklus "
            f"(it reads format {FORMAT}); upgrade siklus."
        )
    recipe = Recipe.from_dict(document["recipe"])
    fitted = document.get("fitted")
    if fitted is None:
        return recipe
    return FittedRecipe(
        recipe=recipe,
        states=tuple(fitted.get("states") or ()),
        fitted_on=dict(fitted.get("on") or {}),
    )


__all__ = [
    "FORMAT",
    "KIND",
    "FittedRecipe",
    "Recipe",
    "Step",
    "canonical_json",
    "from_document",
    "version_of",
]
