"""``siklus data profile | check | pii | select-features``: look at data before training on it.

Thin commands over :mod:`siklus.data.quality`, :mod:`siklus.data.pii` and
:mod:`siklus.data.selection`. Long work shows a spinner on stderr, so ``--json`` output
on stdout stays machine-readable. ``check`` exits 1 when an error-severity rule fails,
so a shell script or CI step can gate on it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, err_console, fmt, print_json
from siklus.data.pii import redact_pii, scan_pii
from siklus.data.quality import check_dataset, load_profile_html, load_rules, profile_dataset
from siklus.data.selection import select_features as run_selection
from siklus.exceptions import InvalidParameter


def _context(ctx: typer.Context) -> Any:
    return open_workspace(ctx).ctx


def profile(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    html: Path = typer.Option(None, "--html", help="Write the HTML report to this file."),
    top_k: int = typer.Option(10, "--top-k", help="Most frequent values kept per column."),
    bins: int = typer.Option(20, "--bins", help="Histogram bins of numeric and time columns."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Profile a dataset: per-column statistics, histograms, correlations, warnings."""
    ws = _context(ctx)
    with err_console.status(f"Profiling {dataset} (a profile job)…"):
        job, result = profile_dataset(ws, dataset, top_k=top_k, bins=bins)
    if html is not None:
        html.write_text(load_profile_html(ws, job), encoding="utf-8")
    if as_json:
        print_json({"job_id": job.id, "outputs": job.outputs, "profile": result.to_dict()})
        return
    dup = "n/a" if result.duplicate_rows is None else f"{result.duplicate_rows:,}"
    console.print(
        f"[bold]{result.dataset}[/] — {result.rows:,} rows, {len(result.columns)} columns, "
        f"{result.missing_cells:,} missing cells ({result.missing_cells_pct:.1f}%), "
        f"{dup} duplicate rows. Job {job.id}."
    )
    table = Table(title="Columns")
    for name in ("column", "kind", "missing %", "distinct", "mean", "min", "max"):
        table.add_column(name, justify="left" if name in ("column", "kind") else "right")
    for c in result.columns:
        table.add_row(
            c.name, c.kind, f"{c.missing_pct:.1f}", f"{c.distinct:,}", fmt(c.mean), fmt(c.min),
            fmt(c.max),
        )  # fmt: skip
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]warning[/] [{warning.kind}] {warning.message}")
    where = f"written to {html}" if html else "stored; write it with --html FILE"
    console.print(f"HTML report {where} (sha256 {job.outputs['report_sha256'][:12]}…).")


def _parse_now(now: str | None) -> datetime | None:
    if now is None:
        return None
    try:
        return datetime.fromisoformat(now)
    except ValueError:
        raise InvalidParameter(
            f"--now {now!r} is not an ISO 8601 time; write e.g. 2024-06-30T12:00:00Z."
        ) from None


def check(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    rules: Path = typer.Option(..., "--rules", "-r", help="Rule set file (YAML or JSON)."),
    now: str = typer.Option(None, "--now", help="Reference time of freshness rules (ISO 8601)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a dataset against a data-quality rule set; exit 1 if an error rule fails."""
    ws = _context(ctx)
    ruleset = load_rules(rules)
    with err_console.status(f"Checking {dataset} against {len(ruleset.rules)} rule(s)…"):
        job, report = check_dataset(ws, dataset, ruleset, now=_parse_now(now))
    if as_json:
        print_json(
            {"job_id": job.id, "report_sha256": job.outputs["report_sha256"], **report.to_dict()}
        )
    else:
        table = Table(title=f"{report.ruleset} on {report.dataset} ({report.rows:,} rows)")
        for name in ("rule", "severity", "result", "offending", "details"):
            table.add_column(name, justify="right" if name == "offending" else "left")
        for r in report.results:
            result = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
            offending = "-" if r.offending_rows is None else f"{r.offending_rows:,}"
            table.add_row(r.name, r.severity, result, offending, r.message)
        console.print(table)
    for r in report.failed_warnings:
        err_console.print(f"[yellow]Warning:[/] rule {r.name!r} failed: {r.message}")
    if not report.passed:
        names = ", ".join(repr(r.name) for r in report.failed_errors)
        err_console.print(
            f"[bold red]Data-quality check failed:[/] {len(report.failed_errors)} error-severity "
            f"rule(s) failed ({names}); see job {job.id}.",
            highlight=False,
        )
        raise typer.Exit(1)


def _salt(salt: str | None, salt_file: Path | None) -> str | None:
    if salt is not None and salt_file is not None:
        raise InvalidParameter("Give --salt or --salt-file, not both.")
    if salt_file is not None:
        if not salt_file.is_file():
            raise InvalidParameter(f"--salt-file {str(salt_file)!r} does not exist.")
        return salt_file.read_text(encoding="utf-8").rstrip("\r\n")
    return salt


def _actions(action: str, column_actions: list[str] | None) -> str | dict[str, str]:
    if not column_actions:
        return action
    out = {"default": action}
    for item in column_actions:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameter(
                f"--column-action {item!r} is not NAME=ACTION; write e.g. email=hash or "
                "credit_card=drop (NAME is a column or a kind)."
            )
        out[key.strip()] = value.strip()
    return out


def pii(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    redact: bool = typer.Option(False, "--redact", help="Also store a redacted copy."),
    action: str = typer.Option("mask", "--action", help="mask, hash or drop flagged columns."),
    column_action: list[str] = typer.Option(
        None, "--column-action", help="COLUMN=ACTION or KIND=ACTION (repeatable); overrides."
    ),
    salt: str = typer.Option(None, "--salt", help="Secret salt of hash (HMAC-SHA256)."),
    salt_file: Path = typer.Option(None, "--salt-file", help="Read the salt from this file."),
    output: str = typer.Option(None, "--output", "-o", help="Name of the redacted dataset."),
    min_fraction: float = typer.Option(0.3, "--min-fraction", help="Share of values to flag."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find personal data (e-mail, phone, card, IP, national ids, names); optionally redact."""
    if output is not None and not redact:
        raise InvalidParameter("--output names the redacted dataset; add --redact.")
    ws = _context(ctx)
    with err_console.status(f"Scanning {dataset} for personal data…"):
        report = scan_pii(ws, dataset, min_fraction=min_fraction)
    redacted = None
    if redact:
        plan = _actions(action, column_action)
        with err_console.status(f"Writing a redacted copy of {report.dataset}…"):
            redacted = redact_pii(
                ws, report.dataset, action=plan, salt=_salt(salt, salt_file),
                output_name=output, report=report,
            )  # fmt: skip
    if as_json:
        out: dict[str, Any] = report.to_dict()
        out["redacted"] = redacted.to_dict() if redacted else None
        print_json(out)
        return
    table = Table(title=f"Personal data in {report.dataset} ({report.scanned_rows:,} rows scanned)")
    for name in ("column", "kind", "match %", "rows", "also seen", "samples (masked)"):
        table.add_column(name)
    for c in report.columns:
        others = ", ".join(f"{k} {v:.0%}" for k, v in c.kinds.items() if k != c.kind) or "-"
        kind = f"[bold red]{c.kind}[/]" if c.kind else "[dim]not flagged[/]"
        table.add_row(
            c.column, kind, f"{c.match_fraction:.1%}", f"{c.matched_rows:,}/{c.scanned_rows:,}",
            others, ", ".join(c.samples[:3]),
        )  # fmt: skip
    console.print(table if report.columns else "No personal data found.")
    if redacted is not None:
        console.print(
            f"Redacted copy stored as [bold]{redacted.ref}[/] (sha256 {redacted.sha256[:12]}…)."
        )


def select_features(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    target: str = typer.Option(..., "--target", "-t", help="The column to predict."),
    output: str = typer.Option(None, "--output", "-o", help="Store the selection as NAME."),
    method: str = typer.Option("mutual_info", "--method", help="mutual_info or random_forest."),
    top_k: int = typer.Option(None, "--top-k", help="Keep at most this many features."),
    min_importance: float = typer.Option(None, "--min-importance", help="Score threshold."),
    correlation: float = typer.Option(0.9, "--correlation", help="|r| of redundant pairs."),
    near_constant: float = typer.Option(0.95, "--near-constant", help="Top-value share."),
    exclude: list[str] = typer.Option(None, "--exclude", help="Not a feature (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Keep the features a model needs; report why each other feature was dropped."""
    ws = _context(ctx)
    with err_console.status(f"Selecting features of {dataset} for {target!r}…"):
        report = run_selection(
            ws, dataset, target=target, method=method, near_constant=near_constant,
            correlation=correlation, min_importance=min_importance, top_k=top_k,
            exclude=exclude or None, output_name=output,
        )  # fmt: skip
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"[bold]{len(report.kept)}[/] of {len(report.kept) + len(report.dropped)} features kept "
        f"for {report.target!r} ({report.task}, {report.method}): {', '.join(report.kept)}"
    )
    table = Table(title="Dropped features")
    for name in ("feature", "reason", "value", "why"):
        table.add_column(name, justify="right" if name == "value" else "left")
    for d in report.dropped:
        table.add_row(d.column, d.reason, f"{d.value:.4f}", d.detail)
    console.print(table)
    if report.output:
        console.print(f"Selection stored as [bold]{report.output}[/].")


__all__ = ["check", "pii", "profile", "select_features"]
