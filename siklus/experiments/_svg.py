"""Hand-built inline SVG charts for the comparison report.

The report must open offline, from a file, years later: no CDN, no JavaScript, no
plotting dependency. Three small charts cover what comparing runs needs: metric curves
(a line per run), a bar per run for the ranking metric, and parallel coordinates (an
axis per param, the metric last, a line per run coloured by the metric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: Tableau 10: distinguishable run colours, also in print.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
# Viridis stops: a perceptually even scale from worst (purple) to best (yellow).
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def run_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def scale_color(fraction: float) -> str:
    """The viridis colour at ``fraction`` in [0, 1]."""
    fraction = min(1.0, max(0.0, fraction)) * (len(_VIRIDIS) - 1)
    low = min(int(fraction), len(_VIRIDIS) - 2)
    t = fraction - low
    rgb = (round(a + (b - a) * t) for a, b in zip(_VIRIDIS[low], _VIRIDIS[low + 1], strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def fmt_number(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.2e}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


@dataclass(frozen=True)
class _Frame:
    """Plot area inside an SVG of ``width`` by ``height`` with margins for the axes."""

    width: int = 560
    height: int = 280
    left: int = 56
    right: int = 16
    top: int = 28
    bottom: int = 34

    @property
    def inner_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> int:
        return self.height - self.top - self.bottom


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def _open(frame: _Frame, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" '
        f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" role="img" {_FONT}>',
        f"<title>{escape(title)}</title>",
        f'<text x="{frame.left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def line_chart(
    title: str,
    series: Sequence[tuple[str, str, Sequence[tuple[float, float]]]],
    *,
    x_label: str = "step",
) -> str:
    """One polyline per ``(label, colour, [(x, y), …])``; non-finite points are skipped."""
    frame = _Frame()
    clean = [
        (label, color, [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)])
        for label, color, points in series
    ]
    xs = [x for _, _, pts in clean for x, _ in pts]
    ys = [y for _, _, pts in clean for _, y in pts]
    out = _open(frame, title)
    if not xs:
        out.append(f'<text x="{frame.left}" y="{frame.top + 20}">no finite values</text></svg>')
        return "".join(out)
    (x0, x1), (y0, y1) = _span(xs), _span(ys)

    def px(x: float) -> float:
        return frame.left + (x - x0) / (x1 - x0) * frame.inner_width

    def py(y: float) -> float:
        return frame.top + (1 - (y - y0) / (y1 - y0)) * frame.inner_height

    bottom, right = frame.top + frame.inner_height, frame.left + frame.inner_width
    out.append(
        f'<g stroke="#ccc"><line x1="{frame.left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
    )
    out.append(f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{bottom}"/></g>')
    for tick in nice_ticks(y0, y1):
        y = py(tick)
        out.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{frame.left - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{fmt_number(tick)}</text>"
        )
    for tick in nice_ticks(x0, x1):
        x = px(tick)
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    out.append(
        f'<text x="{frame.left + frame.inner_width / 2:.0f}" y="{frame.height - 4}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    for label, color, points in clean:
        if not points:
            continue
        tip = f"<title>{escape(label)}</title>"
        if len(points) == 1:  # a lone point has no line to draw
            ((x, y),) = points
            out.append(
                f'<circle r="3" fill="{color}" cx="{px(x):.1f}" cy="{py(y):.1f}">{tip}</circle>'
            )
            continue
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}">'
            f"{tip}</polyline>"
        )
    out.append("</svg>")
    return "".join(out)


def bar_chart(title: str, bars: Sequence[tuple[str, str, float]]) -> str:
    """One horizontal bar per ``(label, colour, value)``, in the given order."""
    finite = [(label, color, v) for label, color, v in bars if math.isfinite(v)]
    frame = _Frame(height=max(80, 40 + 20 * len(finite)), left=170)
    out = _open(frame, title)
    if not finite:
        out.append(f'<text x="{frame.left}" y="{frame.top + 20}">no finite values</text></svg>')
        return "".join(out)
    low = min(0.0, min(v for *_, v in finite))
    high = max(0.0, max(v for *_, v in finite)) or 1.0

    def px(v: float) -> float:
        return frame.left + (v - low) / (high - low) * (frame.inner_width - 50)

    for i, (label, color, value) in enumerate(finite):
        y = frame.top + 4 + i * 20
        x, zero = px(value), px(0.0)
        out.append(
            f'<text x="{frame.left - 6}" y="{y + 12}" text-anchor="end">{escape(label[:28])}</text>'
            f'<rect x="{min(x, zero):.1f}" y="{y}" width="{abs(x - zero):.1f}" height="15" '
            f'fill="{color}"><title>{escape(label)}: {fmt_number(value)}</title></rect>'
            f'<text x="{max(x, zero) + 4:.1f}" y="{y + 12}">{fmt_number(value)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Axis:
    """A parallel-coordinates axis: numeric (min..max) or categorical (one slot each)."""

    name: str
    numeric: bool
    low: float = 0.0
    high: float = 1.0
    categories: tuple[str, ...] = ()

    def position(self, value: object) -> float | None:
        """Where ``value`` sits on the axis, 0 (bottom) to 1 (top); None when absent."""
        if value is None:
            return None
        if self.numeric:
            if not isinstance(value, int | float) or not math.isfinite(value):
                return None
            return 0.5 if self.high == self.low else (value - self.low) / (self.high - self.low)
        text = str(value)
        if text not in self.categories:
            return None
        return (self.categories.index(text) + 0.5) / len(self.categories)

    def labels(self) -> list[tuple[float, str]]:
        if self.numeric:
            return [(0.0, fmt_number(self.low)), (1.0, fmt_number(self.high))]
        return [((i + 0.5) / len(self.categories), c[:14]) for i, c in enumerate(self.categories)]


def parallel_coordinates(
    title: str, axes: Sequence[Axis], lines: Sequence[tuple[str, str, Sequence[object]]]
) -> str:
    """One vertical axis per entry of ``axes``; one polyline per ``(label, colour, values)``.

    A run missing a value on an axis has its line broken there.
    """
    frame = _Frame(width=max(360, 130 * len(axes)), height=320, left=50, right=50, bottom=40)
    out = _open(frame, title)
    gap = frame.inner_width / max(len(axes) - 1, 1)

    def ax_x(i: int) -> float:
        return frame.left + i * gap

    def ax_y(fraction: float) -> float:
        return frame.top + (1 - fraction) * frame.inner_height

    for label, color, values in lines:
        segment: list[str] = []
        for i, (axis, value) in enumerate(zip(axes, values, strict=True)):
            at = axis.position(value)
            if at is None:
                segment = _flush_segment(out, segment, color, label)
                continue
            segment.append(f"{ax_x(i):.1f},{ax_y(at):.1f}")
        _flush_segment(out, segment, color, label)
    for i, axis in enumerate(axes):
        x = ax_x(i)
        out.append(
            f'<line x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" '
            f'y2="{frame.top + frame.inner_height}" stroke="#555"/>'
            f'<text x="{x:.1f}" y="{frame.height - 22}" text-anchor="middle" '
            f'font-weight="bold">{escape(axis.name[:22])}</text>'
        )
        for at, text in axis.labels():
            out.append(
                f'<text x="{x + 4:.1f}" y="{ax_y(at) + 4:.1f}" fill="#333">{escape(text)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _flush_segment(out: list[str], segment: list[str], color: str, label: str) -> list[str]:
    if len(segment) > 1:
        out.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" stroke-opacity="0.8" '
            f'points="{" ".join(segment)}"><title>{escape(label)}</title></polyline>'
        )
    return []


__all__ = [
    "PALETTE",
    "Axis",
    "bar_chart",
    "fmt_number",
    "line_chart",
    "nice_ticks",
    "parallel_coordinates",
    "run_color",
    "scale_color",
]
