"""``siklus async …`` and ``siklus serverless …``: queued and on-demand inference endpoints.

Thin wrappers over :mod:`siklus.serving.asynchronous` and :mod:`siklus.serving.serverless`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import (
    JSON_OPTION,
    RUNTIME_OPTION,
    console,
    print_json,
    print_record,
    print_table,
)
from siklus.exceptions import InvalidParameter, JobFailed, NotFound

async_app = typer.Typer(
    help="Asynchronous endpoints: queued requests, large payloads by reference, results by id, "
    "workers that scale to zero.",
    no_args_is_help=True,
)
serverless_app = typer.Typer(
    help="Serverless endpoints: the model loads on the first request and unloads when idle.",
    no_args_is_help=True,
)

ASYNC_COLUMNS = ("name", "status", "url", "model_package", "max_workers", "queue_url")
SERVERLESS_COLUMNS = (
    "name",
    "status",
    "url",
    "model_package",
    "model_state",
    "cold_starts",
    "last_cold_start_ms",
)
MODEL_OPTION = typer.Option(..., "--model", "-m", help="Model package GROUP[:VERSION].")
PORT_OPTION = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one).")
FORCE_OPTION = typer.Option(False, "--force", help="Deploy even if not Approved.")


def _ctx(ctx: typer.Context) -> Any:
    return open_workspace(ctx).ctx


def _payload(body: str | None, file: Path | None) -> tuple[bytes, str]:
    """The request body and the content type guessed from it (or the file's suffix)."""
    if file is not None:
        if str(file) == "-":
            return sys.stdin.buffer.read(), "application/json"
        if not file.is_file():
            raise NotFound(f"File {str(file)!r} does not exist.")
        guessed = "text/csv" if file.suffix.lower() == ".csv" else "application/json"
        return file.read_bytes(), guessed
    assert body is not None
    guessed = "application/json" if body.lstrip()[:1] in "[{" else "text/csv"
    return body.encode(), guessed


# -- async -----------------------------------------------------------------------------------
@async_app.command("create")
def async_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = MODEL_OPTION,
    max_workers: int = typer.Option(2, "--max-workers", help="Most worker processes at once."),
    idle_timeout: float = typer.Option(
        30.0, "--idle-timeout", help="Seconds a worker waits on an empty queue before exiting."
    ),
    visibility_timeout: float = typer.Option(
        300.0, "--visibility-timeout", help="Seconds before a dead worker's request is retried."
    ),
    queue_url: str = typer.Option(
        None, "--queue-url", help="redis://HOST:PORT/DB (default: SQLite under .siklus/)."
    ),
    success_webhook: str = typer.Option(None, "--success-webhook", help="POSTed on success."),
    failure_webhook: str = typer.Option(None, "--failure-webhook", help="POSTed on failure."),
    port: int = PORT_OPTION,
    force: bool = FORCE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start an async endpoint (POST /invocations → 202 + id, GET /results/{id})."""
    from siklus.registry import parse_package_ref
    from siklus.serving.asynchronous import create_async_endpoint

    group, version = parse_package_ref(model)
    with console.status(f"Starting async endpoint {name} …", spinner="dots"):
        record = create_async_endpoint(
            _ctx(ctx),
            name,
            group,
            version,
            max_workers=max_workers,
            worker_idle_timeout=idle_timeout,
            visibility_timeout=visibility_timeout,
            queue_url=queue_url,
            success_webhook=success_webhook,
            failure_webhook=failure_webhook,
            port=port,
            force=force,
        )
    if as_json:
        print_json(record)
        return
    console.print(f"Async endpoint [bold]{name}[/] is {record['status']} at {record['url']}")
    console.print(f"Try: siklus async invoke {name} --input-location rows.csv --wait 60")


@async_app.command("invoke")
def async_invoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str = typer.Option(None, "--body", "-b", help="Inline request body (JSON or CSV)."),
    file: Path = typer.Option(None, "--file", "-f", help="Send this file inline ('-': stdin)."),
    input_location: str = typer.Option(
        None,
        "--input-location",
        "-i",
        help="Payload by reference: a path (relative to the workspace) or an fsspec URL.",
    ),
    content_type: str = typer.Option(None, "--content-type", help="Override the guessed type."),
    wait: float = typer.Option(
        0.0, "--wait", help="Seconds to wait for the result (0: print the ticket and return)."
    ),
) -> None:
    """Queue one request; prints its inference id (or, with --wait, the result)."""
    from siklus.serving.asynchronous import get_async_result, invoke_async

    if sum(x is not None for x in (body, file, input_location)) != 1:
        raise InvalidParameter("Give exactly one of --body, --file or --input-location.")
    workspace = _ctx(ctx)
    if input_location is not None:
        ticket = invoke_async(
            workspace,
            name,
            input_location=input_location,
            content_type=content_type or "application/json",
        )
    else:
        payload, guessed = _payload(body, file)
        ticket = invoke_async(workspace, name, payload, content_type or guessed)
    if wait > 0:
        _print_result(name, get_async_result(workspace, name, ticket["inference_id"], wait=wait))
    else:
        print_json(ticket)


def _print_result(name: str, answer: dict[str, Any]) -> None:
    """Print an inference's record; a Failed one also fails the command (exit status 1), so
    scripts that ``--wait`` see the failure instead of a success with a failure inside."""
    print_json(answer)
    if answer.get("status") == "Failed":
        reason = str(answer.get("failure_reason") or "no reason recorded").rstrip(".")
        raise JobFailed(f"Inference {answer.get('inference_id')} on {name} Failed: {reason}.")


@async_app.command("result")
def async_result(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    inference_id: str = typer.Argument(..., help="The id `invoke` printed."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait until it is done."),
) -> None:
    """Show an inference's status (Queued/InProgress/Completed/Failed) and its result."""
    from siklus.serving.asynchronous import get_async_result

    _print_result(name, get_async_result(_ctx(ctx), name, inference_id, wait=wait))


@async_app.command("list")
def async_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List async endpoints (a dead front process shows as Failed)."""
    from siklus.serving.asynchronous import list_async_endpoints

    rows = list_async_endpoints(_ctx(ctx))
    print_table(rows, ASYNC_COLUMNS, as_json=as_json, title="Async endpoints")


@async_app.command("describe")
def async_describe(
    ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show one async endpoint with its live worker count and queue counts."""
    from siklus.serving.asynchronous import describe_async_endpoint

    print_record(describe_async_endpoint(_ctx(ctx), name), as_json=as_json)


@async_app.command("delete")
def async_delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Stop the endpoint's front and workers and mark it Deleted (results stay on disk)."""
    from siklus.serving.asynchronous import delete_async_endpoint

    delete_async_endpoint(_ctx(ctx), name)
    console.print(f"Async endpoint [bold]{name}[/] deleted.")


# -- serverless ------------------------------------------------------------------------------
@serverless_app.command("create")
def serverless_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = MODEL_OPTION,
    idle_timeout: float = typer.Option(
        300.0, "--idle-timeout", help="Seconds without requests before the model is unloaded."
    ),
    max_concurrency: int = typer.Option(
        8, "--max-concurrency", help="Requests in flight at once; more get HTTP 429."
    ),
    port: int = PORT_OPTION,
    force: bool = FORCE_OPTION,
    runtime: str = RUNTIME_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a serverless endpoint; its model loads on the first request."""
    from siklus.registry import parse_package_ref
    from siklus.serving.serverless import create_serverless_endpoint

    group, version = parse_package_ref(model)
    with console.status(f"Starting serverless endpoint {name} …", spinner="dots"):
        record = create_serverless_endpoint(
            _ctx(ctx),
            name,
            group,
            version,
            idle_timeout=idle_timeout,
            max_concurrency=max_concurrency,
            port=port,
            force=force,
            runtime=runtime,
        )
    if as_json:
        print_json(record)
        return
    console.print(
        f"Serverless endpoint [bold]{name}[/] is {record['status']} at {record['url']} "
        f"(runtime {record.get('runtime', 'native')})"
    )
    console.print(f"Try: siklus serverless invoke {name} --body '[{{...}}]'")


@serverless_app.command("invoke")
def serverless_invoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str = typer.Option(None, "--body", "-b", help="Request body text (JSON or CSV)."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the body from a file ('-': stdin)."),
    content_type: str = typer.Option(None, "--content-type", help="Override the guessed type."),
) -> None:
    """Send one request; prints the answer with cold_start_ms (null when warm)."""
    from siklus.serving.serverless import invoke_serverless

    if (body is None) == (file is None):
        raise InvalidParameter("Give exactly one of --body TEXT or --file PATH.")
    payload, guessed = _payload(body, file)
    print_json(invoke_serverless(_ctx(ctx), name, payload, content_type or guessed))


@serverless_app.command("describe")
def serverless_describe(
    ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show one serverless endpoint with its cold-start statistics."""
    from siklus.serving.serverless import describe_serverless_endpoint

    print_record(describe_serverless_endpoint(_ctx(ctx), name), as_json=as_json)


@serverless_app.command("list")
def serverless_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List serverless endpoints (a dead server process shows as Failed)."""
    from siklus.serving.serverless import list_serverless_endpoints

    rows = list_serverless_endpoints(_ctx(ctx))
    print_table(rows, SERVERLESS_COLUMNS, as_json=as_json, title="Serverless endpoints")


@serverless_app.command("delete")
def serverless_delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Stop the endpoint's server and mark it Deleted."""
    from siklus.serving.serverless import delete_serverless_endpoint

    delete_serverless_endpoint(_ctx(ctx), name)
    console.print(f"Serverless endpoint [bold]{name}[/] deleted.")
