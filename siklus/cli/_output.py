"""Shared CLI output: Rich tables by default, ``--json`` for scripts, errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
#: How a deployment predicts: one option for serverless endpoints and batch transform.
RUNTIME_OPTION = typer.Option(
    "auto",
    "--runtime",
    help="auto (the version's verified ONNX export when it has one, else scikit-learn), "
    "native (skops + scikit-learn) or onnx.",
)


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def print_table(
    rows: Iterable[Any], columns: Sequence[str], *, title: str | None = None, as_json: bool
) -> None:
    """Print records (objects or dicts) as a table of ``columns``, or all fields as JSON."""
    rows = list(rows)
    if as_json:
        print_json(rows)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        get = row.get if isinstance(row, dict) else lambda c, r=row: getattr(r, c, None)
        table.add_row(*(fmt(get(c)) for c in columns))
    console.print(table)


def print_record(record: Any, *, as_json: bool) -> None:
    """One resource: JSON, or a two-column field/value table."""
    data = _plain(record)
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else fmt(value)
        table.add_row(key, text)
    console.print(table)


def metrics_table(metrics: dict[str, Any], *, title: str) -> Table:
    """Scalar metrics as a table (skips matrices and nested values)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            table.add_row(key, fmt(float(value)) if isinstance(value, float) else str(value))
    return table


def verdict_table(verdict: dict[str, Any]) -> Table:
    table = Table(title="Success criteria")
    for column in ("criterion", "actual", "result"):
        table.add_column(column)
    for item in verdict.get("criteria", verdict.get("results", [])):
        wanted = f"{item['metric']} {item['op']} {item['threshold']} on {item['split']}"
        ok = item.get("passed")
        table.add_row(wanted, fmt(item.get("actual")), "[green]pass[/]" if ok else "[red]FAIL[/]")
    return table
