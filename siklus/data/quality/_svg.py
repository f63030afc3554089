"""Inline SVG charts for the profile report: histograms and correlation heatmaps.

Hand-written SVG keeps the report one self-contained file that opens anywhere, offline,
with no JavaScript and no chart library to load from a CDN. Each bar and cell carries a
``<title>``, which browsers show as a tooltip, so exact numbers are one hover away.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

from siklus.data.quality._profile_model import Correlations, Histogram


def fmt_number(value: float | int | None) -> str:
    """Short human form: thousands separators for integers, 4 significant digits else."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}"


def _edge_label(value: float, temporal: bool) -> str:
    if temporal:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
    return fmt_number(value)


def histogram_svg(histogram: Histogram, *, temporal: bool = False) -> str:
    """Vertical bars of an equal-width histogram, with min/max under the axis."""
    width, height, pad, axis = 320, 110, 4, 16
    counts = histogram.counts
    top = max(counts) or 1
    n = len(counts)
    bar_w = (width - 2 * pad) / n
    bars = []
    for i, count in enumerate(counts):
        h = (height - axis - pad) * count / top
        x = pad + i * bar_w
        lo = _edge_label(histogram.edges[i], temporal)
        hi = _edge_label(histogram.edges[i + 1], temporal)
        closing = "]" if i == n - 1 else ")"
        bars.append(
            f'<rect class="bar" x="{x:.2f}" y="{height - axis - h:.2f}" '
            f'width="{max(bar_w - 1, 1):.2f}" height="{h:.2f}">'
            f"<title>[{escape(lo)}, {escape(hi)}{closing}: {count:,} rows</title></rect>"
        )
    first = escape(_edge_label(histogram.edges[0], temporal))
    last = escape(_edge_label(histogram.edges[-1], temporal))
    return (
        f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="histogram">{"".join(bars)}'
        f'<line class="axis" x1="{pad}" y1="{height - axis}" x2="{width - pad}" '
        f'y2="{height - axis}"/>'
        f'<text x="{pad}" y="{height - 3}" class="tick">{first}</text>'
        f'<text x="{width - pad}" y="{height - 3}" class="tick" text-anchor="end">{last}</text>'
        f'<text x="{pad}" y="10" class="tick">max {top:,}</text></svg>'
    )


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


_BLUE, _WHITE, _RED, _PURPLE = (33, 102, 172), (247, 247, 247), (178, 24, 43), (84, 39, 143)


def cell_color(value: float | None, method: str) -> str:
    """Diverging blue-white-red for Pearson's r, white-purple for Cramér's V."""
    if value is None:
        return "#d9d9d9"
    if method == "pearson":
        return _mix(_WHITE, _RED, value) if value >= 0 else _mix(_WHITE, _BLUE, -value)
    return _mix(_WHITE, _PURPLE, value)


def heatmap_svg(matrix: Correlations) -> str:
    """A square heatmap with labels; values printed in the cells when they fit."""
    n = len(matrix.columns)
    cell = max(12, min(40, 640 // n))
    labels = [name if len(name) <= 24 else name[:23] + "…" for name in matrix.columns]
    margin = 12 + 6.5 * max(len(label) for label in labels)
    size = margin + n * cell + 8
    parts = []
    for i, label in enumerate(labels):
        y = margin + i * cell + cell / 2 + 4
        x = margin + i * cell + cell / 2
        parts.append(
            f'<text x="{margin - 6:.1f}" y="{y:.1f}" text-anchor="end" class="label">'
            f"{escape(label)}</text>"
            f'<text transform="translate({x + 4:.1f},{margin - 6:.1f}) rotate(-60)" '
            f'class="label">{escape(label)}</text>'
        )
        for j in range(n):
            value = matrix.matrix[i][j]
            shown = "n/a" if value is None else f"{value:.3f}"
            parts.append(
                f'<rect x="{margin + j * cell:.1f}" y="{margin + i * cell:.1f}" '
                f'width="{cell - 1}" height="{cell - 1}" fill="{cell_color(value, matrix.method)}">'
                f"<title>{escape(matrix.columns[i])} x {escape(matrix.columns[j])}: {shown}"
                "</title></rect>"
            )
            if cell >= 30 and value is not None:
                dark = abs(value) > 0.6
                parts.append(
                    f'<text x="{margin + j * cell + cell / 2:.1f}" '
                    f'y="{margin + i * cell + cell / 2 + 4:.1f}" text-anchor="middle" '
                    f'class="cell{" dark" if dark else ""}">{value:.2f}</text>'
                )
    return (
        f'<svg class="heatmap" viewBox="0 0 {size:.0f} {size:.0f}" width="{size:.0f}" '
        f'role="img" aria-label="{escape(matrix.method)} heatmap">{"".join(parts)}</svg>'
    )


def legend_svg(method: str) -> str:
    """A color ramp with its end values, so a heatmap's colors can be read."""
    lo = -1.0 if method == "pearson" else 0.0
    stops = [lo + (1.0 - lo) * k / 20 for k in range(21)]
    rects = "".join(
        f'<rect x="{10 * k}" y="0" width="10" height="10" fill="{cell_color(v, method)}"/>'
        for k, v in enumerate(stops)
    )
    return (
        f'<svg class="legend" viewBox="0 0 210 24" width="210">{rects}'
        f'<text x="0" y="22" class="tick">{lo:g}</text>'
        f'<text x="210" y="22" class="tick" text-anchor="end">1</text></svg>'
    )


__all__ = ["cell_color", "fmt_number", "heatmap_svg", "histogram_svg", "legend_svg"]
