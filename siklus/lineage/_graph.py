"""Walk lineage: the recorded edges plus the links every record already holds.

Stages record edges with ``store.add_lineage`` (dataset → job → model → package ...).
Some links are also fields of the records themselves — an endpoint's
``model_package_id``, a package's ``model_id``, a model's ``training_job_id``, a split's
``parent_id`` — and the walk adds those too, so a question about an endpoint is answered
even where a stage did not record the edge.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from siklus.exceptions import InvalidParameter, NotFound
from siklus.store import BaseStore

Direction = Literal["up", "down", "both"]
NodeKey = tuple[str, str]


@dataclass(frozen=True)
class Edge:
    source: NodeKey
    target: NodeKey
    relation: str


@dataclass
class LineageGraph:
    """Nodes (``(type, id)`` → attributes) and edges found by a walk from ``root``."""

    root: NodeKey
    nodes: dict[NodeKey, dict[str, Any]] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def node_id(self, key: NodeKey) -> str:
        return f"{key[0]}:{key[1]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.node_id(self.root),
            "nodes": [
                {"id": self.node_id(k), "type": k[0], "key": k[1], **attrs}
                for k, attrs in sorted(self.nodes.items())
            ],
            "edges": [
                {"source": self.node_id(e.source), "target": self.node_id(e.target),
                 "relation": e.relation}
                for e in self.edges
            ],
        }  # fmt: skip

    def upstream_of(self, key: NodeKey) -> set[NodeKey]:
        """Every node with a path to ``key`` in this graph."""
        return _reach(key, {(e.target, e.source) for e in self.edges})

    def downstream_of(self, key: NodeKey) -> set[NodeKey]:
        return _reach(key, {(e.source, e.target) for e in self.edges})


def _reach(start: NodeKey, pairs: set[tuple[NodeKey, NodeKey]]) -> set[NodeKey]:
    nxt: dict[NodeKey, list[NodeKey]] = {}
    for a, b in pairs:
        nxt.setdefault(a, []).append(b)
    seen: set[NodeKey] = set()
    queue = deque([start])
    while queue:
        for other in nxt.get(queue.popleft(), []):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


_NODE_TYPE = re.compile(r"[a-z][a-z0-9_-]*")


def _explicit_node(store: BaseStore, kind: str, node_id: str, getters: dict[str, Any]) -> NodeKey:
    """``TYPE=ID``: the node exists if its record does or any lineage edge touches it.

    Any type is accepted (``pipeline_execution``, ``evaluation``, ``monitoring-baseline``,
    ``artifact``, ...) because every stage may record its own node types; a typo or an id
    that nothing recorded is an error instead of an empty graph.
    """
    getter = getters.get(kind)
    if getter is not None:
        try:
            getter(node_id)
            return (kind, node_id)
        except (NotFound, InvalidParameter, ValueError):
            pass
    for way in ("upstream", "downstream"):
        for edge in store.list_lineage(node_id, way):  # type: ignore[arg-type]
            if (kind, node_id) in (
                (edge.source_type, edge.source_id),
                (edge.target_type, edge.target_id),
            ):
                return (kind, node_id)
    raise NotFound(
        f"No {kind} {node_id!r} in the workspace: there is no such record and no lineage "
        "edge touches it. Check the type and the id (e.g. `siklus lineage model=ID`)."
    )


def resolve_node(store: BaseStore, text: str) -> NodeKey:
    """Find what ``text`` names: a dataset (id or ``name:version``), job, model, model
    package (``group:version`` or id), endpoint, or ``type:id`` given explicitly.

    Raises:
        NotFound: Nothing of that id or name.
    """
    lookups = (
        ("dataset", store.get_dataset_version_by_id),
        ("model", store.get_model),
        ("job", store.get_job),
        ("model_package", store.get_model_package_by_id),
        ("endpoint", store.get_endpoint),
    )
    kind, sep, rest = text.partition("=")
    if sep and kind and rest and _NODE_TYPE.fullmatch(kind):
        return _explicit_node(store, kind, rest, dict(lookups))
    for kind, get in lookups:
        try:
            get(text)
            return (kind, text)
        except (NotFound, InvalidParameter, ValueError):
            continue
    name, _, version = text.rpartition(":")
    if version.isdigit():
        for kind, get2 in (
            ("model_package", store.get_model_package),
            ("dataset", store.get_dataset_version),
        ):
            try:
                record = get2(name, int(version))
                return (kind, record.id)
            except (NotFound, InvalidParameter, ValueError):
                continue
    try:
        return ("dataset", store.get_dataset_version(text).id)
    except (NotFound, InvalidParameter, ValueError):
        pass
    raise NotFound(
        f"Nothing in the workspace is called {text!r}: give a dataset (id or name:version), "
        "a job id, a model id, a model package (group:version), an endpoint name, or "
        "TYPE=ID (e.g. recipe=3f9a1c2b)."
    )


def describe_node(store: BaseStore, key: NodeKey) -> dict[str, Any]:
    """Readable attributes of a node (empty for types without a record)."""
    kind, ident = key
    try:
        if kind == "dataset":
            v = store.get_dataset_version_by_id(ident)
            return {"label": v.ref, "sha256": v.sha256, "rows": v.row_count, "source": v.source}
        if kind == "model":
            m = store.get_model(ident)
            return {"label": m.name, "sha256": m.sha256, "estimator": m.manifest.get("estimator")}
        if kind == "job":
            j = store.get_job(ident)
            return {"label": j.name, "kind": j.kind, "status": j.status.value,
                    "entrypoint": j.entrypoint}  # fmt: skip
        if kind == "model_package":
            p = store.get_model_package_by_id(ident)
            return {"label": f"{p.group}:{p.version}", "approval": p.approval_status.value}
        if kind == "endpoint":
            e = store.get_endpoint(ident)
            return {"label": e.name, "status": e.status.value}
    except (NotFound, InvalidParameter, ValueError):
        return {"label": ident, "missing": True}
    return {"label": ident}


def _implicit(store: BaseStore, key: NodeKey, direction: str) -> list[Edge]:
    """Edges that the records themselves imply (see the module docstring)."""
    kind, ident = key
    out: list[Edge] = []
    try:
        if direction == "upstream":
            if kind == "endpoint":
                e = store.get_endpoint(ident)
                out.append(Edge(("model_package", e.model_package_id), key, "deployed"))
            elif kind == "model_package":
                p = store.get_model_package_by_id(ident)
                out.append(Edge(("model", p.model_id), key, "registered"))
            elif kind == "model":
                m = store.get_model(ident)
                if m.training_job_id:
                    out.append(Edge(("job", m.training_job_id), key, "output"))
            elif kind == "dataset":
                v = store.get_dataset_version_by_id(ident)
                if v.parent_id:
                    out.append(Edge(("dataset", v.parent_id), key, "derived"))
        else:
            if kind == "model_package":
                for e in store.list_endpoints():
                    if e.model_package_id == ident:
                        out.append(Edge(key, ("endpoint", e.name), "deployed"))
    except (NotFound, InvalidParameter, ValueError):
        return []
    return out


def _neighbours(store: BaseStore, key: NodeKey, direction: str) -> list[Edge]:
    edges = []
    for edge in store.list_lineage(key[1], direction):  # type: ignore[arg-type]
        source = (edge.source_type, edge.source_id)
        target = (edge.target_type, edge.target_id)
        if (direction == "upstream" and target[1] != key[1]) or (
            direction == "downstream" and source[1] != key[1]
        ):
            continue
        edges.append(Edge(source, target, edge.relation))
    pairs = {(e.source, e.target) for e in edges}
    return edges + [
        e for e in _implicit(store, key, direction) if (e.source, e.target) not in pairs
    ]


def walk(
    store: BaseStore, root: str | NodeKey, direction: Direction = "both", *, max_nodes: int = 5000
) -> LineageGraph:
    """Every node reachable from ``root`` upstream, downstream or both.

    Args:
        root: Anything :func:`resolve_node` understands, or a ``(type, id)`` key.
        direction: ``up`` (what it came from), ``down`` (what came from it) or ``both``.

    Raises:
        NotFound: ``root`` names nothing.
        InvalidParameter: Unknown direction.
    """
    if direction not in ("up", "down", "both"):
        raise InvalidParameter(f"direction must be up, down or both, not {direction!r}.")
    key = root if isinstance(root, tuple) else resolve_node(store, root)
    graph = LineageGraph(root=key)
    seen_edges: set[Edge] = set()
    for way in ("upstream", "downstream"):
        if direction != "both" and way[0] != direction[0]:
            continue
        seen: set[NodeKey] = {key}
        queue = deque([key])
        while queue and len(seen) < max_nodes:
            current = queue.popleft()
            for edge in _neighbours(store, current, way):
                if edge not in seen_edges:
                    seen_edges.add(edge)
                    graph.edges.append(edge)
                other = edge.source if way == "upstream" else edge.target
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    for edge in graph.edges:
        for node in (edge.source, edge.target):
            if node not in graph.nodes:
                graph.nodes[node] = describe_node(store, node)
    graph.nodes.setdefault(key, describe_node(store, key))
    return graph


__all__ = ["Direction", "Edge", "LineageGraph", "NodeKey", "describe_node", "resolve_node", "walk"]
