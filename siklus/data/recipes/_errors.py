"""The two ways a recipe run goes wrong, and how an error crosses the job boundary.

:class:`RecipeError` means the recipe itself is wrong (an unknown step, a bad parameter, a
column that is not there); :class:`RecipeDataError` means the data cannot go through it (a
malformed CSV line, a value that does not cast). Both carry where it happened, so the CLI,
the REST API and tests can point at the step, the column and the row.

A recipe runs in a job process, so the exception itself cannot reach the caller. The job
writes :func:`error_record` next to its log and :func:`error_from_record` rebuilds the same
exception class in the caller, which then raises what the user would have seen in-process.
"""

from __future__ import annotations

from typing import Any

from siklus import exceptions
from siklus.exceptions import InvalidInput, InvalidParameter, SiklusError


def step_label(index: int, name: str) -> str:
    """``"step 3 (cast)"``: how every message names a step (1-based, as written in YAML)."""
    return f"step {index} ({name})"


class _Located:
    """Where a recipe error happened; every field is optional."""

    step: int | None
    step_name: str | None
    column: str | None
    row: int | None

    def __init__(
        self,
        message: str,
        *,
        step: int | None = None,
        step_name: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(message)  # type: ignore[call-arg]  # the SiklusError of the subclass
        self.step = step
        self.step_name = step_name
        self.column = column
        self.row = row


class RecipeError(_Located, InvalidParameter):
    """The recipe is wrong: unknown step, bad parameter, unknown column, not fitted.

    Attributes:
        step: 1-based index of the step at fault (None when not about one step).
        step_name: Its name, e.g. ``"fill_missing"``.
        column: The column at fault, when there is one.
        row: Always None here; data errors use :class:`RecipeDataError`.
    """


class RecipeDataError(_Located, InvalidInput):
    """The data cannot go through the recipe: a malformed CSV line, a failing cast.

    Attributes:
        step: 1-based index of the step at fault; 0 means reading the input.
        step_name: Its name (``"read"`` for the input).
        column: The column at fault, when known.
        row: 1-based data row (not counting a CSV header), when known.
    """


_LOCATED: dict[str, type[RecipeError | RecipeDataError]] = {
    "RecipeError": RecipeError,
    "RecipeDataError": RecipeDataError,
}


def error_record(exc: SiklusError) -> dict[str, Any]:
    """A JSON description of ``exc`` that :func:`error_from_record` turns back into it."""
    record: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, _Located):
        record.update(step=exc.step, step_name=exc.step_name, column=exc.column, row=exc.row)
    return record


def error_from_record(record: dict[str, Any], suffix: str = "") -> SiklusError:
    """Rebuild the exception a job recorded, with ``suffix`` (e.g. the job id) appended.

    Unknown types fall back to :class:`~siklus.exceptions.SiklusError`, so a record written
    by a newer siklus still gives a readable error.
    """
    name = str(record.get("type", ""))
    message = str(record.get("message", "the recipe job failed")) + suffix
    located = _LOCATED.get(name)
    if located is not None:
        return located(
            message,
            step=record.get("step"),
            step_name=record.get("step_name"),
            column=record.get("column"),
            row=record.get("row"),
        )
    cls = getattr(exceptions, name, None)
    if isinstance(cls, type) and issubclass(cls, SiklusError):
        return cls(message)
    return SiklusError(message)


__all__ = [
    "RecipeDataError",
    "RecipeError",
    "error_from_record",
    "error_record",
    "step_label",
]
