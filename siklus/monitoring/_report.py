"""The HTML report of a monitoring execution: one self-contained file, no network.

Each feature gets a grouped bar chart of the baseline's and the window's shares on the
same bins (numeric: the baseline's quantile bins; categorical: the categories), drawn as
inline SVG with a ``<title>`` per bar, next to its drift statistics. Violations and the
model-quality metrics lead the page, so the reason for an alarm is the first thing seen.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1100px}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:left}th{background:#f4f4f4}.bad{color:#b2182b;font-weight:600}.ok{color:#1a7f37}
.feature{display:inline-block;vertical-align:top;margin:0 1rem 1rem 0;width:340px}
.feature h3{font-size:.95rem;margin:.3rem 0}.b{fill:#8da0cb}.c{fill:#fc8d62}
.tick{font-size:9px;fill:#555}.legend{font-size:.8rem}
"""


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return escape(str(value))


def bars_svg(labels: list[str], baseline: list[int], current: list[int]) -> str:
    """Grouped bars of baseline (blue) and current (orange) shares per bin."""
    width, height, pad, axis = 320, 120, 4, 14
    total_b, total_c = sum(baseline) or 1, sum(current) or 1
    shares_b = [b / total_b for b in baseline]
    shares_c = [c / total_c for c in current]
    top = max([*shares_b, *shares_c, 1e-9])
    n = max(len(labels), 1)
    slot = (width - 2 * pad) / n
    bar = max(slot / 2 - 1, 0.5)
    parts = []
    for i, label in enumerate(labels):
        for j, (share, cls, who) in enumerate(
            ((shares_b[i], "b", "baseline"), (shares_c[i], "c", "current"))
        ):
            h = (height - axis - pad) * share / top
            x = pad + i * slot + j * bar
            parts.append(
                f'<rect class="{cls}" x="{x:.2f}" y="{height - axis - h:.2f}" '
                f'width="{bar:.2f}" height="{h:.2f}"><title>{escape(label)}: {who} '
                f"{share * 100:.1f}%</title></rect>"
            )
    first = escape(labels[0][:18]) if labels else ""
    last = escape(labels[-1][:18]) if labels else ""
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="distribution">'
        + "".join(parts)
        + f'<line x1="{pad}" y1="{height - axis}" x2="{width - pad}" y2="{height - axis}" '
        'stroke="#999"/>'
        f'<text class="tick" x="{pad}" y="{height - 2}">{first}</text>'
        f'<text class="tick" x="{width - pad}" y="{height - 2}" text-anchor="end">{last}</text>'
        "</svg>"
    )


def render_report(summary: dict[str, Any]) -> str:
    """HTML of one execution's summary (:meth:`MonitoringResult.to_dict`)."""
    started = datetime.fromtimestamp(summary["started_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    source = (
        f"endpoint {summary['endpoint']}" if summary.get("endpoint") else summary.get("dataset")
    )
    window = summary.get("window") or [None, None]

    def when(ts: float | None) -> str:
        return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")

    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>siklus monitoring {escape(summary['execution_id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Monitoring execution {escape(summary['execution_id'])}</h1>",
        f"<p>Baseline <b>{escape(summary['baseline'])}</b> vs {escape(str(source))}"
        + (
            f", window {when(window[0])} to {when(window[1])} UTC"
            if summary.get("endpoint")
            else ""
        )
        + f"; {summary['item_count']:,} rows; run {started} UTC; checks: "
        f"{escape(', '.join(summary['kinds']))}.</p>",
    ]
    violations = summary["violations"]
    status = "bad" if violations else "ok"
    out.append(f"<h2 class='{status}'>{len(violations)} violation(s)</h2>")
    if violations:
        out.append("<table><tr><th>feature / metric</th><th>check</th><th>description</th></tr>")
        for v in violations:
            who = v.get("feature_name") or v.get("metric_name", "")
            out.append(
                f"<tr><td>{escape(who)}</td><td>{escape(v['constraint_check_type'])}</td>"
                f"<td>{escape(v['description'])}</td></tr>"
            )
        out.append("</table>")
    corrupt = summary.get("corrupt_records") or []
    if corrupt:
        out.append(f"<h2 class='bad'>{len(corrupt)} corrupt captured line(s) skipped</h2><ul>")
        for c in corrupt[:50]:
            out.append(f"<li>{escape(c['file'])}:{c['line']}: {escape(c['reason'])}</li>")
        out.append("</ul>")
    quality = summary.get("model_quality")
    if quality:
        task = f"{quality['task']}, " if quality.get("task") else ""
        out.append(
            f"<h2>Model quality ({escape(task)}{quality.get('matched', 0):,} labelled rows)</h2>"
        )
        if quality.get("metrics"):
            out.append("<table><tr><th>metric</th><th>baseline</th><th>window</th></tr>")
            base = quality.get("baseline_metrics") or {}
            for key, value in quality["metrics"].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(
                        f"<tr><td>{escape(key)}</td><td>{_num(base.get(key))}</td>"
                        f"<td>{_num(value)}</td></tr>"
                    )
            out.append("</table>")
        if quality.get("note"):
            out.append(f"<p>{escape(quality['note'])}</p>")
    drift = summary.get("drift") or []
    if drift:
        flagged = sum(1 for d in drift if d["drifted"])
        out.append(
            f"<h2>Data drift: {flagged} of {len(drift)} feature(s) flagged</h2>"
            "<p class='legend'><svg width='10' height='10'><rect class='b' width='10' "
            "height='10'/></svg> baseline <svg width='10' height='10'><rect class='c' "
            "width='10' height='10'/></svg> current (share of rows per bin)</p>"
        )
        for d in sorted(drift, key=lambda d: (not d["drifted"], d["feature"])):
            cls = "bad" if d["drifted"] else "ok"
            rows = "".join(
                f"<tr><td>{escape(k)}</td><td>{_num(v)}</td></tr>"
                for k, v in d["statistics"].items()
            )
            bins = d["bins"]
            out.append(
                f"<div class='feature'><h3 class='{cls}'>{escape(d['feature'])} "
                f"({d['kind']}){' - drift' if d['drifted'] else ''}</h3>"
                + bars_svg(bins["labels"], bins["baseline"], bins["current"])
                + f"<p class='legend'>{escape(d['method'])}: {escape(d['reason'] or 'no drift')}"
                f"</p><table>{rows}</table></div>"
            )
    out.append("</body></html>")
    return "\n".join(out)


__all__ = ["bars_svg", "render_report"]
