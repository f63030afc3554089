"""Lineage: walk what every job recorded, upstream and downstream, and export the graph.

Answers the audit questions "which dataset versions and which code trained the model
behind endpoint X?" (:func:`model_provenance`) and "which endpoints serve models trained
from dataset version Y?" (:func:`endpoints_from_dataset`), and exports any walk as JSON,
Graphviz DOT or a self-contained HTML page.

Example:
    >>> from siklus.lineage import walk, export, model_provenance
    >>> graph = walk(ctx.store, "breast-cancer", "up")  # doctest: +SKIP
    >>> model_provenance(ctx.store, "breast-cancer")["training_datasets"]  # doctest: +SKIP
"""

from siklus.lineage._export import export, to_dot, to_html, to_json
from siklus.lineage._graph import (
    Direction,
    Edge,
    LineageGraph,
    NodeKey,
    describe_node,
    resolve_node,
    walk,
)
from siklus.lineage._queries import endpoints_from_dataset, model_provenance

__all__ = [
    "Direction",
    "Edge",
    "LineageGraph",
    "NodeKey",
    "describe_node",
    "endpoints_from_dataset",
    "export",
    "model_provenance",
    "resolve_node",
    "to_dot",
    "to_html",
    "to_json",
    "walk",
]
