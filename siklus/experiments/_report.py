"""The self-contained HTML comparison report (``siklus runs compare --html``).

One file, no network: styles inline, charts as inline SVG (:mod:`._svg`), no script.
It shows the ranking table, a curve per metric series (e.g. loss per iteration), a bar
per run for the ranking metric, and parallel coordinates from the params that differ
to the metric, so "which settings made the best run" is visible at a glance.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from siklus.experiments._compare import RunComparison
from siklus.experiments._query import get_metric_history
from siklus.experiments._svg import (
    Axis,
    bar_chart,
    fmt_number,
    line_chart,
    parallel_coordinates,
    run_color,
    scale_color,
)
from siklus.experiments._workspace import workspace
from siklus.store import MetricPoint, Run, WorkspaceContext

#: Series charts in one report at most; more metrics are still in the table.
MAX_CHARTS = 12
#: Parallel-coordinates axes at most (params that differ come first).
MAX_AXES = 8

Histories = Mapping[str, Mapping[str, list[MetricPoint]]]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f5f5f5}td.l,th.l{text-align:left}
.sw{display:inline-block;width:10px;height:10px;margin-right:6px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.muted{color:#777;font-size:12px}
"""


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt_number(value) if math.isfinite(value) else str(value)
    return escape(str(value))


def _table(comparison: RunComparison) -> str:
    metric_keys, param_keys = comparison.metric_keys, comparison.param_keys
    head = "".join(f"<th>{escape(k)}</th>" for k in metric_keys)
    head += "".join(f"<th>param {escape(k)}</th>" for k in param_keys)
    rows = []
    for rank, run in enumerate(comparison.runs, 1):
        swatch = f'<span class="sw" style="background:{run_color(rank - 1)}"></span>'
        cells = "".join(f"<td>{_cell(run.metrics.get(k))}</td>" for k in metric_keys)
        cells += "".join(f"<td>{_cell(run.params.get(k))}</td>" for k in param_keys)
        rows.append(
            f'<tr><td>{rank}</td><td class="l">{swatch}{escape(run.id)}</td>'
            f'<td class="l">{escape(run.name)}</td><td class="l">{escape(run.status.value)}</td>'
            f"{cells}</tr>"
        )
    return (
        '<table><tr><th>#</th><th class="l">run</th><th class="l">name</th>'
        f'<th class="l">status</th>{head}</tr>{"".join(rows)}</table>'
    )


def _curves(comparison: RunComparison, histories: Histories) -> list[str]:
    charts = []
    for key in comparison.metric_keys:
        series = [
            (f"{run.name} ({run.id})", run_color(i), [(p.step, p.value) for p in points])
            for i, run in enumerate(comparison.runs)
            if (points := histories.get(run.id, {}).get(key))
        ]
        if any(len(points) > 1 for _, _, points in series):
            charts.append(line_chart(key, series))
        if len(charts) >= MAX_CHARTS:
            break
    return charts


def _axis(name: str, values: list[object]) -> Axis | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    numbers = [v for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(present):
        finite = [float(v) for v in numbers if math.isfinite(v)]
        if not finite:
            return None
        return Axis(name, True, min(finite), max(finite))
    return Axis(name, False, categories=tuple(sorted({str(v) for v in present})))


def _parallel(comparison: RunComparison) -> str | None:
    runs, metric = comparison.runs, comparison.metric or next(iter(comparison.metric_keys), None)
    if metric is None or len(runs) < 2:
        return None
    keys = [k for k in comparison.param_keys if k in comparison.varying_params] or list(
        comparison.param_keys
    )
    columns: list[tuple[Axis, list[object]]] = []
    for key in keys[: MAX_AXES - 1]:
        values: list[object] = [run.params.get(key) for run in runs]
        axis = _axis(f"params.{key}", values)
        if axis is not None:
            columns.append((axis, values))
    metric_values: list[object] = [run.metrics.get(metric) for run in runs]
    metric_axis = _axis(metric, metric_values)
    if metric_axis is None or not columns:
        return None
    columns.append((metric_axis, metric_values))
    lines = []
    for i, run in enumerate(runs):
        at = metric_axis.position(metric_values[i])
        color = "#bbb" if at is None else scale_color(1 - at if comparison.ascending else at)
        lines.append((f"{run.name} ({run.id})", color, [values[i] for _, values in columns]))
    return parallel_coordinates(f"Params → {metric}", [axis for axis, _ in columns], lines)


def render_report(comparison: RunComparison, histories: Histories, *, title: str) -> str:
    """The report as one HTML string (see the module docstring for what it shows)."""
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f'<p class="muted">{len(comparison.runs)} runs'
        + (
            f", ranked by <b>{escape(comparison.metric)}</b> "
            f"({'lower' if comparison.ascending else 'higher'} is better)"
            if comparison.metric
            else ""
        )
        + f". Generated {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC by siklus.</p>",
        "<h2>Runs</h2>",
        _table(comparison),
    ]
    if comparison.metric is not None:
        unique = len({run.name for run in comparison.runs}) == len(comparison.runs)
        bars = [
            (run.name if unique else f"#{i + 1} {run.name}", run_color(i), value)
            for i, run in enumerate(comparison.runs)
            if (value := comparison.value(run)) is not None
        ]
        parts += ["<h2>Ranking</h2>", bar_chart(comparison.metric, bars)]
    curves = _curves(comparison, histories)
    if curves:
        parts += ["<h2>Metric curves</h2>", '<div class="charts">', *curves, "</div>"]
    parallel = _parallel(comparison)
    if parallel is not None:
        parts += [
            "<h2>Parallel coordinates</h2>",
            '<p class="muted">One line per run, coloured by the ranking metric '
            "(yellow is best).</p>",
            parallel,
        ]
    parts.append("</body></html>\n")
    return "".join(parts)


def _histories(runs: tuple[Run, ...], keys: tuple[str, ...], ctx: WorkspaceContext) -> Histories:
    return {
        run.id: {key: get_metric_history(run.id, key, ctx) for key in keys if key in run.metrics}
        for run in runs
    }


def write_report(
    comparison: RunComparison,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    ctx: WorkspaceContext | None = None,
) -> Path:
    """Write the HTML report to ``path`` (temp file, then rename) and return the path."""
    ctx = workspace(ctx)
    histories = _histories(comparison.runs, comparison.metric_keys[:MAX_CHARTS], ctx)
    experiments = sorted({run.experiment for run in comparison.runs})
    html = render_report(
        comparison, histories, title=title or f"Run comparison: {', '.join(experiments)}"
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temporary.write_text(html, encoding="utf-8")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


__all__ = ["render_report", "write_report"]
