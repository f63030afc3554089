"""What every step is: a pydantic model of its parameters that compiles to one SQL query.

A step (:class:`Transform`) never touches rows in Python. It checks its columns against
the :class:`Frame` it is given (the previous step's view and its schema), optionally says
which aggregates it needs to learn (:meth:`Transform.fit_expressions`, run as one query),
turns the aggregate row into JSON state (:meth:`Transform.learn`), and writes a SELECT
over the previous view that uses only that state (:meth:`Transform.sql`). That is the
scikit-learn contract, fit learns and apply uses only what was learned, expressed in SQL,
so DuckDB can stream data larger than memory through it.

Parameters are validated when a recipe is built, before any data is read.
"""

from __future__ import annotations

import abc
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from siklus.data.recipes._errors import RecipeError, step_label
from siklus.data.recipes._sql import (
    RESERVED_PREFIX,
    ROW_ID,
    ident,
    is_numeric,
    is_temporal,
    is_text,
    text,
)

#: How a data error raised inside SQL (:meth:`Frame.fail`) names its step, column and row:
#: ``siklus-step<US>3<US>price<US>41<US>message``, with the ASCII unit separator, which
#: does not occur in column names written in YAML.
ERROR_MARKER = "siklus-step"
SEP = "\x1f"


class Inputs(Protocol):
    """How a step that reads another dataset finds it (see the ``join`` step)."""

    def pin(self, dataset: str | None, path: str | None, where: str) -> dict[str, Any]:
        """Resolve a dataset reference or a file now; return JSON naming it exactly."""

    def relation(self, pinned: Mapping[str, Any], where: str) -> tuple[str, dict[str, str]]:
        """SQL for what :meth:`pin` returned (with the row id) and its columns."""


@dataclass(frozen=True)
class Frame:
    """The relation a step reads: a view name, its columns (name → DuckDB type), the step.

    ``columns`` never lists the hidden row id (:data:`~._sql.ROW_ID`); every view still
    carries it, and ``SELECT *`` passes it on.
    """

    relation: str
    columns: Mapping[str, str]
    index: int
    step: str
    inputs: Inputs | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return step_label(self.index, self.step)

    def error(self, message: str, *, column: str | None = None) -> RecipeError:
        """A :class:`RecipeError` prefixed with this step's label."""
        return RecipeError(
            f"{self.label}: {message}", step=self.index, step_name=self.step, column=column
        )

    def require(self, names: Iterable[str]) -> None:
        """Raise naming the step and the column if any of ``names`` is not in the data."""
        for name in names:
            if name not in self.columns:
                close = difflib.get_close_matches(name, list(self.columns), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise self.error(
                    f"column {name!r} is not in the data.{hint} Columns here: "
                    f"{', '.join(map(repr, self.columns))}.",
                    column=name,
                )

    def type_of(self, name: str) -> str:
        self.require([name])
        return self.columns[name]

    def _require_kind(self, names: Iterable[str], test: Any, kind: str, fix: str) -> None:
        for name in names:
            type_name = self.type_of(name)
            if not test(type_name):
                raise self.error(
                    f"column {name!r} is {type_name}, but this step needs {kind} values. {fix}",
                    column=name,
                )

    def require_numeric(self, names: Iterable[str]) -> None:
        self._require_kind(
            names, is_numeric, "numeric", "Convert it first with a `cast` step (to: DOUBLE)."
        )

    def require_text(self, names: Iterable[str]) -> None:
        self._require_kind(
            names, is_text, "text (VARCHAR)", "Convert it first with a `cast` step (to: VARCHAR)."
        )

    def require_temporal(self, names: Iterable[str]) -> None:
        self._require_kind(
            names,
            is_temporal,
            "date or timestamp",
            "Parse text first with a `parse_datetime` step, or `cast` it to DATE/TIMESTAMP.",
        )

    def new_column(self, name: str, *, replacing: Iterable[str] = ()) -> str:
        """Check a column name a step creates; it may overwrite only ``replacing``."""
        if not name or name.startswith(RESERVED_PREFIX):
            raise self.error(
                f"cannot create column {name!r}: names starting with {RESERVED_PREFIX!r} are "
                "reserved for siklus, and names may not be empty.",
                column=name,
            )
        if name in self.columns and name not in set(replacing):
            raise self.error(
                f"column {name!r} already exists; choose another name or drop it first.",
                column=name,
            )
        return name

    def project(
        self,
        set_columns: Mapping[str, str] | None = None,
        *,
        drop: Iterable[str] = (),
        where: str | None = None,
    ) -> str:
        """``SELECT * EXCLUDE (drop) REPLACE (...), new... FROM relation [WHERE ...]``.

        Columns in ``set_columns`` that exist are replaced in place; the others are added
        at the end, as pandas ``assign`` does.
        """
        set_columns = dict(set_columns or {})
        dropped = [c for c in drop if c not in set_columns]
        replaced = {k: v for k, v in set_columns.items() if k in self.columns}
        added = {k: v for k, v in set_columns.items() if k not in self.columns}
        star = "*"
        if dropped:
            star += " EXCLUDE (" + ", ".join(ident(c) for c in dropped) + ")"
        if replaced:
            star += (
                " REPLACE (" + ", ".join(f"{e} AS {ident(c)}" for c, e in replaced.items()) + ")"
            )
        items = [star, *(f"{e} AS {ident(c)}" for c, e in added.items())]
        sql = f"SELECT {', '.join(items)} FROM {self.relation}"
        return sql + (f" WHERE {where}" if where else "")

    def fail(self, message_sql: str, *, column: str | None = None) -> str:
        """SQL that aborts the query with a message naming this step, the column, the row.

        DuckDB's ``error()`` raises while streaming, so a bad value deep in a file stops
        the run at once; the engine reads the marker back and adds a sample row.
        """
        marker = f"{ERROR_MARKER}{SEP}{self.index}{SEP}{column or ''}{SEP}"
        return (
            f"error(concat({text(marker)}, CAST({ident(ROW_ID)} AS VARCHAR), {text(SEP)}, "
            f"{message_sql}))"
        )


class Transform(BaseModel):
    """Base class of every step: its parameters (pydantic) and how it compiles to SQL.

    Subclasses set ``step`` (the name used in recipes), ``family`` (for the catalogue),
    and ``learns`` when they compute state from data. The docstring's first line is the
    summary shown by ``siklus data recipe steps``.

    Contract:
        - ``check(frame)`` raises :class:`RecipeError` for a wrong column or type, before
          any data is read.
        - ``fit_expressions(frame)`` returns aggregate SQL (alias → expression) evaluated
          in one ``SELECT ... FROM frame.relation``; ``learn(row, frame)`` turns that row
          into JSON state. Both are only called when :meth:`needs_fit` is True.
        - ``sql(frame, state)`` returns a SELECT over ``frame.relation`` that uses only
          ``state`` (what was learned, possibly from other data) and keeps the row id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: ClassVar[str] = ""
    family: ClassVar[str] = ""
    learns: ClassVar[bool] = False
    pins_inputs: ClassVar[bool] = False

    def needs_fit(self) -> bool:
        """Whether this configuration learns from data (some steps learn only sometimes)."""
        return self.learns

    def columns_read(self) -> list[str]:
        """Columns this step reads; :meth:`check` verifies they exist."""
        return []

    def check(self, frame: Frame) -> None:
        frame.require(self.columns_read())

    def fit_expressions(self, frame: Frame) -> dict[str, str]:
        return {}

    def learn(self, row: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
        return dict(row)

    def pin(self, frame: Frame) -> dict[str, Any]:
        """Resolve external inputs (another dataset) into state; only when ``pins_inputs``."""
        return {}

    @abc.abstractmethod
    def sql(self, frame: Frame, state: Mapping[str, Any]) -> str:
        """The step as one SQL query over the previous step's relation ``frame``."""

    def params(self) -> dict[str, Any]:
        """Parameters as JSON, defaults left out, so adding an option keeps old versions."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


class OnColumns(Transform):
    """A step applied to one column (``column``) or several (``columns``)."""

    column: str | None = Field(None, description="The column to use.")
    columns: list[str] | None = Field(None, description="Several columns (instead of `column`).")

    @model_validator(mode="after")
    def _one_of_column_or_columns(self) -> OnColumns:
        if (self.column is None) == (self.columns is None):
            raise ValueError("give either `column: NAME` or `columns: [NAME, ...]`, not both")
        if self.columns is not None:
            if not self.columns:
                raise ValueError("`columns` is empty; list at least one column")
            if len(set(self.columns)) != len(self.columns):
                raise ValueError(f"`columns` repeats a name: {self.columns}")
        return self

    @property
    def targets(self) -> list[str]:
        return [self.column] if self.column is not None else list(self.columns or [])

    def columns_read(self) -> list[str]:
        return self.targets


class ColumnWise(OnColumns):
    """A step that rewrites each target column, in place or into ``<column><suffix>``."""

    suffix: str | None = Field(
        None, description="Write to `<column><suffix>` instead of replacing the column."
    )

    def output_name(self, frame: Frame, column: str) -> str:
        if self.suffix is None:
            return column
        return frame.new_column(column + self.suffix)

    def rewrite(self, frame: Frame, expressions: Mapping[str, str]) -> str:
        """Project ``{column: expression}`` into the output columns."""
        return frame.project({self.output_name(frame, c): e for c, e in expressions.items()})


# -- the registry -----------------------------------------------------------------------
_STEPS: dict[str, type[Transform]] = {}


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: make a step usable by name in recipes."""
    if not cls.step or cls.step in _STEPS:
        raise RuntimeError(f"step name {cls.step!r} is empty or registered twice")
    _STEPS[cls.step] = cls
    return cls


def registry() -> dict[str, type[Transform]]:
    """Every built-in step by name (imports the step modules on first use)."""
    from siklus.data.recipes import _steps  # noqa: F401 - importing registers the steps

    return dict(sorted(_STEPS.items()))


def step_class(name: Any, index: int) -> type[Transform]:
    """The class of step ``name``; the error lists the known steps."""
    steps = registry()
    if isinstance(name, str) and name in steps:
        return steps[name]
    close = difflib.get_close_matches(str(name), list(steps), n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise RecipeError(
        f"{step_label(index, str(name))}: unknown step {name!r}.{hint} Known steps: "
        f"{', '.join(steps)}. Run `siklus data recipe steps` for their parameters.",
        step=index,
        step_name=str(name),
    )


def describe_parameters(cls: type[Transform]) -> str:
    """``column (str, required), strategy (... default 'mean')`` for error messages."""
    parts = []
    for name, info in cls.model_fields.items():
        default = "required" if info.is_required() else f"default {info.default!r}"
        parts.append(f"{name} ({default})")
    return ", ".join(parts)


def build(name: Any, params: Mapping[str, Any], index: int) -> Transform:
    """Validate ``params`` for step ``name`` (1-based ``index``) into a :class:`Transform`.

    Raises:
        RecipeError: Unknown step or invalid parameters; the message names the step, the
            parameter and the value, and lists the step's parameters.
    """
    cls = step_class(name, index)
    try:
        return cls.model_validate(dict(params))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown parameter {where!r}")
            elif err["type"] == "missing":
                problems.append(f"missing required parameter {where!r}")
            elif where:
                problems.append(f"parameter {where!r}: {message} (got {err['input']!r})")
            else:
                problems.append(message)
        raise RecipeError(
            f"{step_label(index, cls.step)}: {'; '.join(problems)}. Parameters of "
            f"{cls.step}: {describe_parameters(cls)}.",
            step=index,
            step_name=cls.step,
        ) from None


__all__ = [
    "ERROR_MARKER",
    "SEP",
    "ColumnWise",
    "Frame",
    "Inputs",
    "OnColumns",
    "Transform",
    "build",
    "describe_parameters",
    "register",
    "registry",
    "step_class",
]
