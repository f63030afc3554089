"""Request rows, checked against the model's input signature, ready to batch.

Every request is checked on its own (so an error names that request's rows) and becomes
a :class:`Part`: its rows in signature order and types. Parts of concurrent requests are
then joined into one frame for a single ``predict`` call (micro-batching).

Two ways to a part:

- the **fast path**, for the common JSON request whose values already have the right
  Python types (numbers for number columns, text for text columns, null where the column
  allows missing values): the values are checked in plain Python and no DataFrame is made
  per request;
- the **general path** for everything else (CSV, Parquet, strings holding numbers, bad
  values): :func:`siklus.training.conform` converts and validates and its message is
  what the caller gets, followed by the checks ``conform`` leaves to serving: missing
  values in a column the signature marks not nullable, and infinities in number columns.

Both give the same frame for the same valid input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from siklus.exceptions import InvalidInput
from siklus.training import conform

_NUMERIC = frozenset({"number", "integer"})
_NAN = float("nan")


@dataclass
class Part:
    """The rows of one request: a list of value lists (fast path) or a conformed frame."""

    rows: list[list[Any]] | None = None
    frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(self.frame)  # type: ignore[arg-type]

    def as_rows(self) -> list[list[Any]]:
        """Values row by row (for data capture)."""
        if self.rows is not None:
            return self.rows
        assert self.frame is not None
        return self.frame.astype(object).to_numpy().tolist()


class RowPlan:
    """What the signature says about each column, precomputed once per model."""

    def __init__(self, signature: Sequence[Mapping[str, Any]]) -> None:
        self.signature = [dict(c) for c in signature]
        self.names = [str(c["name"]) for c in signature]
        self._index = pd.Index(self.names, dtype=object)
        self.numeric = [c["type"] in _NUMERIC for c in signature]
        self.nullable = [bool(c.get("nullable", True)) for c in signature]
        self.all_numeric = all(self.numeric)
        # The fast path knows number and text columns; others always take the general path.
        self.fast = all(c["type"] in (*_NUMERIC, "string") for c in signature)
        self._columns = list(zip(self.names, self.numeric, self.nullable, strict=True))
        self._width = len(self.names)

    # -- fast path ------------------------------------------------------------------------
    def fast_rows(self, doc: Any) -> list[list[Any]] | None:
        """Rows of a decoded JSON document when every value is plainly valid, else None."""
        if isinstance(doc, dict):
            if len(doc) == 1:
                inner = doc.get("instances", doc.get("records"))
                if isinstance(inner, list):
                    doc = inner
            if isinstance(doc, dict):
                row = self._fast_row(doc)
                return None if row is None else [row]
        if not isinstance(doc, list) or not doc:
            return None
        rows = []
        for record in doc:
            if not isinstance(record, dict):
                return None
            row = self._fast_row(record)
            if row is None:
                return None
            rows.append(row)
        return rows

    def _fast_row(self, record: dict[str, Any]) -> list[Any] | None:
        if not self.fast or len(record) != self._width:
            return None
        row = []
        for name, numeric, nullable in self._columns:
            try:
                value = record[name]
            except KeyError:
                return None
            kind = type(value)
            if numeric:
                if kind is float:
                    if not math.isfinite(value):
                        return None
                elif kind is int:
                    value = float(value)
                elif value is None and nullable:
                    value = _NAN
                else:
                    return None
            elif kind is not str:
                if value is None and nullable:
                    value = _NAN
                else:
                    return None
            row.append(value)
        return row

    # -- general path ---------------------------------------------------------------------
    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Convert and check ``frame`` (see the module docstring); InvalidInput when bad."""
        data = conform(frame, self.signature)
        for name, numeric, nullable in self._columns:
            values = data[name]
            missing = values.isna().to_numpy()
            if not nullable and missing.any():
                rows = np.flatnonzero(missing)[:5].tolist()
                raise InvalidInput(
                    f"Column {name!r} has a missing value (null, NaN or empty) at row(s) "
                    f"{rows}; the model was trained without missing values in {name!r}, so "
                    "it needs a value there."
                )
            if numeric:
                infinite = np.isinf(values.to_numpy(dtype=float))
                if infinite.any():
                    rows = np.flatnonzero(infinite)[:5].tolist()
                    raise InvalidInput(
                        f"Column {name!r} holds an infinite number at row(s) {rows}; send "
                        "finite numbers (or null where the column allows missing values)."
                    )
        return data.reset_index(drop=True)

    # -- batching -------------------------------------------------------------------------
    def frame(self, parts: Sequence[Part]) -> pd.DataFrame:
        """One frame holding the rows of ``parts`` in order, in signature order and types."""
        rows = [row for part in parts if part.rows is not None for row in part.rows]
        if len(rows) == sum(len(part) for part in parts):
            return self._frame_from_rows(rows)
        frames = [
            self._frame_from_rows(part.rows) if part.rows is not None else part.frame
            for part in parts
        ]
        return pd.concat(frames, ignore_index=True)

    def _frame_from_rows(self, rows: list[list[Any]]) -> pd.DataFrame:
        if self.all_numeric:
            return pd.DataFrame(np.array(rows, dtype=np.float64), columns=self._index)
        columns = list(zip(*rows, strict=True))
        # pd.Series(..., dtype=object) keeps text as object (what conform gives); a bare
        # object array would be turned into pandas' string dtype.
        return pd.DataFrame(
            {
                name: np.array(values, dtype=np.float64)
                if numeric
                else pd.Series(values, dtype=object)
                for name, numeric, values in zip(self.names, self.numeric, columns, strict=True)
            }
        )


__all__ = ["Part", "RowPlan"]
