"""``siklus lineage ID``: walk upstream/downstream from anything and export the graph."""

from __future__ import annotations

from pathlib import Path

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import console, print_json


def lineage(
    ctx: typer.Context,
    entity: str = typer.Argument(
        ...,
        help="Dataset (id or name:version), job id, model id, package group:version, "
        "endpoint name, or TYPE=ID.",
    ),
    direction: str = typer.Option("both", "--direction", "-d", help="up, down or both."),
    fmt: str = typer.Option(None, "--format", "-f", help="json, dot or html (default: tree)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the export to this file."),
    provenance: bool = typer.Option(
        False, "--provenance", help="Which datasets and code trained the model behind ENTITY."
    ),
    endpoints: bool = typer.Option(
        False, "--endpoints", help="Which endpoints serve models trained from dataset ENTITY."
    ),
) -> None:
    """Show where ENTITY came from and what came from it; export JSON, DOT or HTML."""
    from siklus.lineage import endpoints_from_dataset, export, model_provenance, walk

    store = open_workspace(ctx).ctx.store
    if provenance:
        print_json(model_provenance(store, entity))
        return
    if endpoints:
        print_json(endpoints_from_dataset(store, entity))
        return
    graph = walk(store, entity, direction)  # type: ignore[arg-type]
    if fmt is None and out is None:
        _print_tree(graph)
        return
    text = export(graph, fmt or (out.suffix.lstrip(".") if out else "json"))
    if out is None:
        typer.echo(text, nl=False)
        return
    _write_export(out, text)
    console.print(f"Wrote {len(graph.nodes)} nodes and {len(graph.edges)} edges to {out}.")


def _write_export(out: Path, text: str) -> None:
    """Write atomically next to ``out``, creating missing folders; a folder is an error."""
    from siklus.exceptions import InvalidParameter

    if out.is_dir():
        raise InvalidParameter(
            f"--out {str(out)!r} is a folder; give a file name, e.g. {str(out / 'lineage.html')!r}."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)


def _print_tree(graph: object) -> None:
    from rich.tree import Tree

    from siklus.lineage import LineageGraph

    assert isinstance(graph, LineageGraph)
    label = graph.nodes[graph.root].get("label", graph.root[1])
    tree = Tree(f"[bold]{graph.root[0]}[/] {label}")
    for title, nodes in (("upstream", graph.upstream_of(graph.root)),
                         ("downstream", graph.downstream_of(graph.root))):  # fmt: skip
        branch = tree.add(f"[dim]{title} ({len(nodes)})[/]")
        for key in sorted(nodes):
            attrs = graph.nodes.get(key, {})
            branch.add(f"{key[0]} [bold]{attrs.get('label', key[1])}[/] [dim]{key[1]}[/]")
    console.print(tree)
