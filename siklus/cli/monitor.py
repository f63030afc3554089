"""``siklus monitor baseline | constraints | run | violations | ground-truth``.

Thin commands over :mod:`siklus.monitoring`. Baselines and executions run as jobs (a
spinner on stderr while they run, so ``--json`` on stdout stays machine-readable).
``run`` and ``violations`` exit 1 when there are violations, so a script or CI step can
gate on them. ``siklus monitor schedule …`` commands are attached to :data:`app` by
``siklus.cli`` from the scheduler's own module.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, err_console, fmt, print_json
from siklus.exceptions import InvalidParameter

app = typer.Typer(
    help="Model monitoring: baselines, data quality, data drift, model quality, violations.",
    no_args_is_help=True,
)

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str | None, option: str) -> float | None:
    """Epoch seconds, ISO 8601 (``2026-01-31T12:00:00Z``) or an age (``30m``, ``2h``, ``7d``)."""
    if value is None:
        return None
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise InvalidParameter(
            f"{option} {value!r} is not a time: give epoch seconds, ISO 8601 "
            "(2026-01-31T12:00:00Z) or an age such as 30m, 2h, 7d."
        ) from None


def _write(path: Path, text: str, what: str) -> None:
    """Write a file the user named; a bad path is a one-line error, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidParameter(
            f"Cannot write {what} to {str(path)!r}: {exc.strerror or exc}. Give a file in an "
            "existing, writable folder."
        ) from None


def _ws(ctx: typer.Context) -> Any:
    return open_workspace(ctx).ctx


@app.command("baseline")
def baseline(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Training data: NAME, NAME:VERSION or NAME@VERSION."),
    name: str = typer.Option(..., "--name", help="Baseline name."),
    model: str = typer.Option(
        None, "--model", help="Model package GROUP:VERSION: also baseline its quality."
    ),
    label: str = typer.Option(None, "--label", help="Target column (not a feature)."),
    exclude: list[str] = typer.Option(
        [], "--exclude", help="Column that is not a model input (repeatable)."
    ),
    evaluation_dataset: str = typer.Option(
        None, "--evaluation-dataset", help="Where the model is scored (default: .validation)."
    ),
    out: Path = typer.Option(
        None, "--out", help="Also write statistics.json and constraints.json into this folder."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Compute a baseline: statistics and suggested constraints (SageMaker formats)."""
    from siklus.monitoring import create_baseline

    ws = _ws(ctx)
    options: dict[str, Any] = {"label": label, "model": model, "exclude": exclude or None}
    if evaluation_dataset:
        options["evaluation_dataset"] = evaluation_dataset
    with err_console.status(f"Building baseline {name} from {dataset} (a job)…"):
        job, result = create_baseline(ws, dataset, name, **options)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidParameter(f"Cannot create folder {str(out)!r}: {exc}.") from None
        _write(out / "statistics.json", json.dumps(result.statistics, indent=1), "statistics")
        _write(
            out / "constraints.json", json.dumps(result.constraints_raw, indent=1), "constraints"
        )
    if as_json:
        print_json({"job_id": job.id, "baseline": result.name, **result.body})
        return
    table = Table(title=f"Baseline {result.name} of {result.body['dataset']}")
    for column in ("feature", "type", "completeness", "mean", "min", "max", "distinct"):
        table.add_column(column, justify="left" if column in ("feature", "type") else "right")
    for feature in result.statistics["features"]:
        numeric = feature.get("numerical_statistics") or {}
        string = feature.get("string_statistics") or {}
        common = (numeric or string).get("common", {})
        total = common.get("num_present", 0) + common.get("num_missing", 0)
        table.add_row(
            feature["name"], feature["inferred_type"],
            f"{common.get('num_present', 0) / total:.3f}" if total else "-",
            fmt(numeric.get("mean")), fmt(numeric.get("min")), fmt(numeric.get("max")),
            fmt(string.get("distinct_count")),
        )  # fmt: skip
    console.print(table)
    quality = result.model_quality
    if quality:
        shown = ", ".join(
            f"{k}={quality['metrics'][k]:.4f}"
            for k in ("accuracy", "recall", "f1", "rmse", "r2")
            if isinstance(quality["metrics"].get(k), float)
        )
        console.print(f"Model {quality['model_package']} on {quality['dataset']}: {shown}")
    where = f" and written to {out}" if out else ""
    console.print(f"Baseline stored (job {job.id}){where}.")


@app.command("constraints")
def constraints(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Baseline name."),
    export: Path = typer.Option(None, "--export", help="Write constraints.json to this file."),
    load: Path = typer.Option(
        None, "--import", help="Replace the constraints with this (hand-edited) file."
    ),
) -> None:
    """Show, export or replace a baseline's constraints (validated when loaded)."""
    from siklus.monitoring import load_baseline, set_constraints

    ws = _ws(ctx)
    if load is not None:
        result = set_constraints(ws, name, load)
        console.print(f"Constraints of {name} replaced from {load} (revision {result.revision}).")
        return
    result = load_baseline(ws, name)
    text = json.dumps(result.constraints_raw, indent=1)
    if export is not None:
        _write(export, text, "constraints")
        console.print(f"Wrote {export}; edit it and load it with --import.")
        return
    typer.echo(text)


@app.command("run")
def run(
    ctx: typer.Context,
    baseline_name: str = typer.Option(..., "--baseline", help="Baseline name."),
    endpoint: str = typer.Option(None, "--endpoint", help="Check this endpoint's captured data."),
    dataset: str = typer.Option(None, "--dataset", help="Or check this dataset version."),
    since: str = typer.Option(None, "--since", help="Window start: epoch, ISO 8601, or 2h."),
    until: str = typer.Option(None, "--until", help="Window end (exclusive)."),
    kind: list[str] = typer.Option(
        [], "--kind", help="data_quality, data_drift, model_quality (repeatable; default all)."
    ),
    html: Path = typer.Option(None, "--html", help="Write the HTML report to this file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run one monitoring execution now (as a job); exit 1 when there are violations."""
    from siklus.monitoring import load_report, start_monitoring_job

    if (endpoint is None) == (dataset is None):
        raise InvalidParameter("Give exactly one of --endpoint or --dataset.")
    if dataset is not None and (since or until):
        raise InvalidParameter("--since/--until select captured data; use them with --endpoint.")
    if html is not None and not html.parent.is_dir():
        raise InvalidParameter(f"Folder {str(html.parent)!r} of --html does not exist.")
    ws = _ws(ctx)
    with err_console.status(f"Monitoring against baseline {baseline_name} (a job)…"):
        _job, record = start_monitoring_job(
            ws,
            baseline=baseline_name,
            endpoint=endpoint,
            dataset=dataset,
            window_start=parse_time(since, "--since"),
            window_end=parse_time(until, "--until"),
            kinds=kind or None,
        )
    if html is not None:
        _write(html, load_report(ws, record), "the HTML report")
    if as_json:
        print_json(record)
    else:
        _show(record)
    if record["violations"]:
        raise typer.Exit(1)


def _show(record: dict[str, Any]) -> None:
    source = f"endpoint {record['endpoint']}" if record.get("endpoint") else record.get("dataset")
    console.print(
        f"Execution [bold]{record['execution_id']}[/]: baseline {record['baseline']} vs "
        f"{source}, {record['item_count']:,} rows, {len(record['violations'])} violation(s)."
    )
    corrupt = record.get("corrupt_records") or []
    if corrupt:
        console.print(
            f"[yellow]{len(corrupt)} corrupt captured line(s) skipped[/] "
            f"(first: {corrupt[0]['file']}:{corrupt[0]['line']})"
        )
    if record["violations"]:
        table = Table(title="Violations")
        for column in ("feature / metric", "check", "description"):
            table.add_column(column)
        for v in record["violations"]:
            table.add_row(
                v.get("feature_name") or v.get("metric_name", ""),
                v["constraint_check_type"],
                v["description"],
            )
        console.print(table)
    quality = record.get("model_quality") or {}
    if quality.get("metrics"):
        shown = ", ".join(f"{k}={v:.4f}" for k, v in quality["metrics"].items() if k != "support")
        console.print(f"Model quality on {quality['matched']:,} labelled rows: {shown}")
    console.print(f"Report: {record['paths'].get('report')}")


@app.command("violations")
def violations(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Execution id, or a schedule/baseline (its latest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the violations of an execution (constraint_violations.json); exit 1 if any."""
    from siklus.monitoring import latest_execution, load_violations

    ws = _ws(ctx)
    record = latest_execution(ws, name)
    if as_json:
        print_json(load_violations(ws, record))
    else:
        _show(record)
    if record["violations"]:
        raise typer.Exit(1)


@app.command("ground-truth")
def ground_truth(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint whose captured rows are labelled."),
    file: Path = typer.Argument(..., help="CSV with row_id and the label."),
    label: str = typer.Option(None, "--label", help="Label column (default: label)."),
) -> None:
    """Upload true labels for captured rows (joined by row id for model quality)."""
    from siklus.monitoring import upload_ground_truth

    upload = upload_ground_truth(_ws(ctx), endpoint, file, label_column=label)
    console.print(
        f"Stored {upload['rows']:,} labels for endpoint {endpoint} ({upload['name']}, "
        f"label column {upload['label_column']!r})."
    )


__all__ = ["app", "parse_time"]
