"""``siklus endpoints``: create, invoke, list, describe, delete real-time endpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table
from siklus.exceptions import InvalidParameter, NotFound

app = typer.Typer(help="Real-time HTTP endpoints serving approved models.", no_args_is_help=True)

ENDPOINT_COLUMNS = ("name", "status", "url", "model_package_id", "pid", "updated_at")


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = typer.Option(..., "--model", "-m", help="Model package GROUP[:VERSION]."),
    port: int = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    force: bool = typer.Option(False, "--force", help="Deploy even if not Approved."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start serving an Approved model version over HTTP (POST /invocations, GET /ping)."""
    with console.status(f"Starting endpoint {name} …", spinner="dots"):
        endpoint = open_workspace(ctx).endpoints.create(name, model, port=port, force=force)
    if as_json:
        print_json({**endpoint.to_dict(), "url": endpoint.url})
        return
    console.print(f"Endpoint [bold]{name}[/] is {endpoint.status.value} at {endpoint.url}")
    console.print(f"Try: siklus endpoints invoke {name} --body '[{{...}}]'")


@app.command("invoke")
def invoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str = typer.Option(None, "--body", "-b", help="Request body text (JSON or CSV)."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the body from a file ('-': stdin)."),
    content_type: str = typer.Option(
        None, "--content-type", help="application/json or text/csv (default: by file suffix)."
    ),
) -> None:
    """Send one request to POST /invocations and print the JSON answer."""
    if (body is None) == (file is None):
        raise InvalidParameter("Give exactly one of --body TEXT or --file PATH.")
    if file is not None:
        if str(file) == "-":
            payload = sys.stdin.buffer.read()
        elif not file.is_file():
            raise NotFound(f"File {str(file)!r} does not exist.")
        else:
            payload = file.read_bytes()
        guessed = "text/csv" if file.suffix.lower() == ".csv" else "application/json"
    else:
        payload = body.encode()
        guessed = "application/json" if body.lstrip()[:1] in "[{" else "text/csv"
    print_json(open_workspace(ctx).endpoints.invoke(name, payload, content_type or guessed))


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List endpoints (a dead server process shows as Failed)."""
    rows = [{**e.to_dict(), "url": e.url} for e in open_workspace(ctx).endpoints.list()]
    print_table(rows, ENDPOINT_COLUMNS, as_json=as_json, title="Endpoints")


@app.command("describe")
def describe(
    ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show one endpoint."""
    endpoint = open_workspace(ctx).endpoints.get(name)
    print_record({**endpoint.to_dict(), "url": endpoint.url}, as_json=as_json)


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Stop the endpoint's server and mark it Deleted."""
    open_workspace(ctx).endpoints.delete(name)
    console.print(f"Endpoint [bold]{name}[/] deleted.")
