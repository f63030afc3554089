"""The profile as one self-contained HTML page: overview, warnings, a card per column.

Everything is inline (CSS, SVG), nothing is fetched from the network and there is no
script, so the file can be attached to a ticket, archived as an artifact and opened
years later, offline, exactly as it was.
"""

from __future__ import annotations

from html import escape
from typing import Any

from siklus.data.quality._profile_model import ColumnProfile, Correlations, Profile
from siklus.data.quality._svg import fmt_number, heatmap_svg, histogram_svg, legend_svg

_CSS = """
:root{--bg:#f6f7f9;--card:#fff;--ink:#1f2430;--mute:#6b7280;--line:#e5e7eb;--accent:#3b6fd8;
--warn:#b45309;--warnbg:#fef3c7;--bad:#b91c1c;--badbg:#fee2e2}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif;background:var(--bg);color:var(--ink)}
main{max-width:1280px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:32px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.meta{color:var(--mute);font-size:12px}code{font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile b{display:block;font-size:22px}.tile span{color:var(--mute);font-size:12px}
ul.warnings{list-style:none;padding:0;margin:0}ul.warnings li{background:var(--card);
border:1px solid var(--line);border-left:4px solid var(--warn);border-radius:6px;
padding:8px 12px;margin:6px 0}
.pill{display:inline-block;font-size:11px;font-weight:600;border-radius:999px;padding:1px 8px;
margin-right:6px;background:var(--warnbg);color:var(--warn);text-transform:uppercase}
.pill.bad{background:var(--badbg);color:var(--bad)}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);font-size:13px}
th{color:var(--mute);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.kind{font-size:11px;border-radius:4px;padding:1px 6px;background:#e0e7ff;color:#3730a3}
.kind.categorical{background:#dcfce7;color:#166534}.kind.boolean{background:#fce7f3;color:#9d174d}
.kind.temporal{background:#ffedd5;color:#9a3412}.kind.other{background:#e5e7eb;color:#374151}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px}
.card h3{margin:0 0 2px;font-size:15px;word-break:break-all}.card .type{color:var(--mute);
font-size:12px}.card table td{border:0;padding:2px 6px}.card table{margin:8px 0}
.minibar{display:inline-block;height:6px;background:var(--accent);border-radius:3px;
vertical-align:middle;margin-right:6px}.missbar{background:var(--bad)}
svg .bar{fill:var(--accent)}svg .bar:hover{fill:#1e40af}svg .axis{stroke:#9ca3af}
svg .tick,svg .label{font-size:10px;fill:var(--mute)}svg .cell{font-size:10px;fill:#1f2430}
svg .cell.dark{fill:#fff}svg.hist{width:100%;height:auto}
.tops td.bar{width:45%}.tops .track{background:#eef2ff;border-radius:3px}
.tops .fill{background:var(--accent);height:10px;border-radius:3px}
.cm{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:12px}footer{color:var(--mute);font-size:12px;margin-top:32px}
"""


def _tile(value: str, label: str) -> str:
    return f'<div class="tile"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _overview(profile: Profile) -> str:
    kinds: dict[str, int] = {}
    for column in profile.columns:
        kinds[column.kind] = kinds.get(column.kind, 0) + 1
    dup = profile.duplicate_rows
    dup_text = "n/a" if dup is None else f"{dup:,}"
    dup_label = f"duplicate rows ({100 * dup / profile.rows:.1f}%)" if dup else "duplicate rows"
    tiles = [
        _tile(f"{profile.rows:,}", "rows"),
        _tile(f"{len(profile.columns):,}", "columns"),
        _tile(f"{profile.missing_cells:,}", f"missing cells ({profile.missing_cells_pct:.1f}%)"),
        _tile(dup_text, dup_label),
        *(_tile(str(n), f"{kind} columns") for kind, n in sorted(kinds.items())),
        _tile(str(len(profile.warnings)), "warnings"),
    ]
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _warnings(profile: Profile) -> str:
    if not profile.warnings:
        return "<p>No warnings: no constant, empty, identifier-like or redundant columns.</p>"
    items = []
    for w in profile.warnings:
        bad = " bad" if w.kind in ("all_missing", "constant") else ""
        label = w.kind.replace("_", " ")
        items.append(f'<li><span class="pill{bad}">{escape(label)}</span>{escape(w.message)}</li>')
    return f'<ul class="warnings">{"".join(items)}</ul>'


def _anchor(i: int) -> str:
    return f"col-{i}"


def _index(profile: Profile) -> str:
    rows = []
    for i, c in enumerate(profile.columns):
        summary = fmt_number(c.mean) if c.kind == "numeric" else _top_text(c)
        width = max(1, round(c.missing_pct * 0.6)) if c.missing else 0
        bar = f'<span class="minibar missbar" style="width:{width}px"></span>' if width else ""
        rows.append(
            f'<tr><td><a href="#{_anchor(i)}">{escape(c.name)}</a></td>'
            f'<td><span class="kind {c.kind}">{c.kind}</span></td><td><code>{escape(c.type)}'
            f'</code></td><td class="num">{bar}{c.missing_pct:.1f}%</td>'
            f'<td class="num">{c.distinct:,}</td><td>{escape(summary)}</td></tr>'
        )
    head = (
        "<tr><th>column</th><th>kind</th><th>type</th><th>missing</th><th>distinct</th>"
        "<th>mean / most frequent</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _top_text(column: ColumnProfile) -> str:
    if not column.top_values:
        return "-"
    top = column.top_values[0]
    return f"{top['value']} ({top['count']:,})"


def _stat_rows(column: ColumnProfile) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("values", column.count),
        ("missing", f"{column.missing:,} ({column.missing_pct:.1f}%)"),
        ("distinct", column.distinct),
    ]
    if column.kind == "numeric":
        q = column.quantiles
        rows += [("mean", column.mean), ("std", column.std), ("min", column.min)]
        rows += [(label, q.get(label)) for label in ("p1", "p5", "p25", "p50", "p75", "p95", "p99")]
        rows.append(("max", column.max))
    elif column.kind == "temporal":
        rows += [("min", column.min), ("max", column.max)]
    elif column.length:
        rows += [(f"length {k}", v) for k, v in column.length.items()]
    return rows


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else fmt_number(value)


def _tops(column: ColumnProfile) -> str:
    if not column.top_values or column.histogram is None or column.histogram.kind != "top":
        return ""
    most = column.top_values[0]["count"] or 1
    rows = []
    for label, count in zip(column.histogram.labels, column.histogram.counts, strict=True):
        share = 100 * count / column.count if column.count else 0
        width = min(100, 100 * count / most)
        rows.append(
            f"<tr><td>{escape(label)}</td><td class='num'>{count:,}</td>"
            f"<td class='num'>{share:.1f}%</td><td class='bar'><div class='track'>"
            f"<div class='fill' style='width:{width:.1f}%'></div></div></td></tr>"
        )
    return f'<table class="tops">{"".join(rows)}</table>'


def _card(i: int, column: ColumnProfile) -> str:
    stats = "".join(
        f"<tr><td>{escape(k)}</td><td class='num'>{escape(_value_text(v))}</td></tr>"
        for k, v in _stat_rows(column)
    )
    chart = ""
    if column.histogram is not None and column.histogram.kind == "bins":
        temporal = column.kind == "temporal"
        chart = histogram_svg(column.histogram, temporal=temporal)
    return (
        f'<section class="card" id="{_anchor(i)}"><h3>{escape(column.name)}</h3>'
        f'<div class="type"><span class="kind {column.kind}">{column.kind}</span> '
        f"<code>{escape(column.type)}</code></div>"
        f'<table class="stats-table">{stats}</table>{chart}{_tops(column)}</section>'
    )


def _matrix(title: str, matrix: Correlations | None, note: str) -> str:
    if matrix is None:
        return ""
    strongest = [
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td class='num'>{v:.3f}</td></tr>"
        for a, b, v in matrix.pairs()[:10]
    ]
    pairs = (
        f"<table><tr><th>column</th><th>column</th><th>value</th></tr>{''.join(strongest)}</table>"
        if strongest
        else ""
    )
    return (
        f"<h2>{escape(title)}</h2><p class='meta'>{escape(note)}</p>"
        f'<div class="cm">{heatmap_svg(matrix)}{legend_svg(matrix.method)}</div>'
        f"<h3>Strongest pairs</h3>{pairs}"
    )


def render_html(profile: Profile) -> str:
    """Render ``profile`` as a standalone HTML document (UTF-8 text).

    Example:
        >>> Path("profile.html").write_text(render_html(profile))  # doctest: +SKIP
    """
    cards = "".join(_card(i, c) for i, c in enumerate(profile.columns))
    title = f"Profile of {profile.dataset}" if profile.dataset else "Dataset profile"
    correlations = _matrix(
        "Correlations (Pearson)",
        profile.pearson,
        "Pearson's r between numeric columns over rows where both are present; "
        "red = move together, blue = move oppositely.",
    ) + _matrix(
        "Associations (Cramér's V)",
        profile.cramers_v,
        "Cramér's V between categorical columns with at most 50 categories; 0 = independent, "
        "1 = one determines the other.",
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1><div class='meta'>sha256 <code>{escape(profile.sha256)}</code>"
        f" · computed {escape(profile.created_at)} · siklus</div>"
        f"<h2>Overview</h2>{_overview(profile)}"
        f"<h2>Warnings ({len(profile.warnings)})</h2>{_warnings(profile)}"
        f"<h2>Columns</h2>{_index(profile)}<h2>Column details</h2>"
        f'<div class="cards">{cards}</div>{correlations}'
        "<footer>Missing = NULL or NaN. std uses n-1 (ddof=1). Quantiles interpolate linearly "
        "between order statistics (pandas' default). Histograms have equal-width bins over "
        "[min, max]; the last bin includes max. Distinct counts are exact and ignore missing "
        "values.</footer></main></body></html>"
    )


__all__ = ["render_html"]
