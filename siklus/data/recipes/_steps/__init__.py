"""The built-in steps, one module per family; importing this package registers them all."""

from siklus.data.recipes._steps import (
    binning,
    columns,
    combine,
    dates,
    encoding,
    missing,
    numeric,
    pii,
    rows,
    scaling,
    text,
)

__all__ = [
    "binning",
    "columns",
    "combine",
    "dates",
    "encoding",
    "missing",
    "numeric",
    "pii",
    "rows",
    "scaling",
    "text",
]
