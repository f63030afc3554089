"""Export a lineage graph: JSON (for tools), DOT (Graphviz), self-contained HTML.

The HTML page needs no network: the graph is laid out here (columns by longest path from
the sources, so data flows left to right), drawn as inline SVG, and a few lines of
inline JavaScript highlight a node's neighbours on hover and show its attributes.
"""

from __future__ import annotations

import html
import json
from typing import Any

from siklus.lineage._graph import LineageGraph, NodeKey

_COLOURS = {
    "dataset": "#4e79a7",
    "job": "#f28e2b",
    "model": "#59a14f",
    "model_package": "#b07aa1",
    "endpoint": "#e15759",
    "recipe": "#76b7b2",
    "evaluation": "#edc948",
    "pipeline_execution": "#9c755f",
}


def to_json(graph: LineageGraph) -> str:
    return json.dumps(graph.to_dict(), indent=2, default=str)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: LineageGraph) -> str:
    """Graphviz DOT text (``dot -Tsvg lineage.dot``)."""
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for key, attrs in sorted(graph.nodes.items()):
        label = f"{key[0]}\\n{attrs.get('label', key[1])}"
        colour = _COLOURS.get(key[0], "#888888")
        extra = ", penwidth=3" if key == graph.root else ""
        lines.append(
            f"  {_dot_quote(graph.node_id(key))} [label={_dot_quote(label)}, "
            f"color={_dot_quote(colour)}{extra}];"
        )
    for edge in graph.edges:
        lines.append(
            f"  {_dot_quote(graph.node_id(edge.source))} -> "
            f"{_dot_quote(graph.node_id(edge.target))} [label={_dot_quote(edge.relation)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _layout(graph: LineageGraph) -> dict[NodeKey, tuple[int, int]]:
    """Column = longest path from a source (cycles cut), row = order within the column."""
    incoming: dict[NodeKey, list[NodeKey]] = {k: [] for k in graph.nodes}
    for edge in graph.edges:
        incoming.setdefault(edge.target, []).append(edge.source)
    column: dict[NodeKey, int] = {}

    def depth(node: NodeKey, stack: frozenset[NodeKey]) -> int:
        if node in column:
            return column[node]
        parents = [p for p in incoming.get(node, []) if p not in stack]
        value = 1 + max((depth(p, stack | {node}) for p in parents), default=-1)
        column[node] = value
        return value

    for node in sorted(graph.nodes):
        depth(node, frozenset())
    rows: dict[int, int] = {}
    position = {}
    for node in sorted(graph.nodes, key=lambda k: (column[k], k)):
        col = column[node]
        position[node] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return position


def to_html(graph: LineageGraph, *, title: str = "siklus lineage") -> str:
    """One HTML file with the graph as inline SVG; no external resources."""
    position = _layout(graph)
    width_col, height_row, box_w, box_h = 230, 70, 190, 46
    cols = 1 + max((c for c, _ in position.values()), default=0)
    rows = 1 + max((r for _, r in position.values()), default=0)
    width, height = cols * width_col + 40, rows * height_row + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker>'
        "</defs>",
    ]

    def corner(key: NodeKey) -> tuple[int, int]:
        col, row = position[key]
        return 20 + col * width_col, 20 + row * height_row

    for index, edge in enumerate(graph.edges):
        sx, sy = corner(edge.source)
        tx, ty = corner(edge.target)
        x1, y1, x2, y2 = sx + box_w, sy + box_h // 2, tx, ty + box_h // 2
        source, target = (
            html.escape(graph.node_id(edge.source)),
            html.escape(graph.node_id(edge.target)),
        )
        parts.append(
            f'<path class="edge" id="e{index}" data-source="{source}"'
            f' data-target="{target}" '
            f'd="M{x1},{y1} C{x1 + 30},{y1} {x2 - 30},{y2} {x2},{y2}" fill="none" stroke="#999" '
            f'marker-end="url(#arrow)"><title>{html.escape(edge.relation)}</title></path>'
        )
    for key, attrs in sorted(graph.nodes.items()):
        x, y = corner(key)
        node_id = html.escape(graph.node_id(key))
        label = html.escape(str(attrs.get("label", key[1]))[:28])
        colour = _COLOURS.get(key[0], "#888888")
        stroke = 3 if key == graph.root else 1
        info = html.escape(json.dumps({"type": key[0], "id": key[1], **attrs}, default=str))
        parts.append(
            f'<g class="node" data-id="{node_id}" data-info="{info}">'
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="8" fill="#fff" '
            f'stroke="{colour}" stroke-width="{stroke}"/>'
            f'<text x="{x + 8}" y="{y + 18}" font-size="11" fill="{colour}">'
            f"{html.escape(key[0])}</text>"
            f'<text x="{x + 8}" y="{y + 36}" font-size="13">{label}</text></g>'
        )
    parts.append("</svg>")
    script = """
document.querySelectorAll('.node').forEach(function (node) {
  node.addEventListener('mouseenter', function () {
    var id = node.dataset.id;
    document.querySelectorAll('.edge').forEach(function (e) {
      var on = e.dataset.source === id || e.dataset.target === id;
      e.setAttribute('stroke', on ? '#d62728' : '#ddd');
    });
    document.getElementById('info').textContent =
      JSON.stringify(JSON.parse(node.dataset.info), null, 2);
  });
});
"""
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}.node{cursor:pointer}"
        "pre{background:#f6f6f6;padding:.5em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Root: <b>{html.escape(graph.node_id(graph.root))}</b>"
        f" — {len(graph.nodes)} nodes, {len(graph.edges)} edges. Hover a node for details.</p>"
        + "".join(parts)
        + "<pre id='info'></pre>"
        + f"<script>{script}</script></body></html>\n"
    )


def export(graph: LineageGraph, fmt: str) -> str:
    """``json``, ``dot`` or ``html`` text of ``graph``."""
    from siklus.exceptions import InvalidParameter

    writers: dict[str, Any] = {"json": to_json, "dot": to_dot, "html": to_html}
    if fmt not in writers:
        raise InvalidParameter(f"Unknown lineage format {fmt!r}; use json, dot or html.")
    return writers[fmt](graph)  # type: ignore[no-any-return]


__all__ = ["export", "to_dot", "to_html", "to_json"]
