"""``siklus endpoints``: create, update, invoke, describe, metrics, list, delete; warm host."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import JSON_OPTION, console, print_json, print_record, print_table
from siklus.exceptions import InvalidParameter, NotFound

app = typer.Typer(help="Real-time HTTP endpoints serving approved models.", no_args_is_help=True)

ENDPOINT_COLUMNS = ("name", "status", "url", "model_package_id", "pid", "updated_at")
METRIC_COLUMNS = (
    "variant",
    "role",
    "invocations",
    "errors_4xx",
    "errors_5xx",
    "error_rate",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "rows_per_call",
)

VARIANT_HELP = (
    "Production variant GROUP:VERSION[,name=N,weight=W,workers=K,min=A,max=B,"
    "runtime=auto|native|onnx]; repeat for several. runtime auto (the default) serves the "
    "version's verified ONNX export when it has one, else scikit-learn."
)


def _serving() -> Any:
    from siklus import serving

    return serving


def _config(
    model: str | None,
    variants: list[str] | None,
    shadow: str | None,
    capture_percent: float | None,
    config_file: Path | None,
) -> dict[str, Any]:
    """The endpoint config the options describe (a --config file, then the other options)."""
    serving = _serving()
    config: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.is_file():
            raise NotFound(f"Config file {str(config_file)!r} does not exist.")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidParameter(f"Config file {config_file} is not valid JSON: {exc}.") from None
        if not isinstance(config, dict):
            raise InvalidParameter(f"Config file {config_file} must hold a JSON object.")
    specs = [serving.parse_variant_option(v) for v in variants or []]
    if model is not None:
        specs.insert(0, {"model": model})
    if specs:
        config["variants"] = specs
    if shadow is not None:
        config["shadow"] = serving.parse_variant_option(shadow)
    if capture_percent is not None:
        config["capture_percent"] = capture_percent
    if not config.get("variants"):
        raise InvalidParameter(
            "Say what to serve: --model GROUP:VERSION, one or more --variant GROUP:VERSION[,...], "
            "or --config FILE.json with a 'variants' list."
        )
    return config


MODEL_OPTION = typer.Option(
    None, "--model", "-m", help="Model package GROUP[:VERSION] (one variant, one worker)."
)
VARIANT_OPTION = typer.Option(None, "--variant", "-v", help=VARIANT_HELP)
SHADOW_OPTION = typer.Option(
    None, "--shadow", help="Shadow variant GROUP:VERSION[,...]: gets a copy of live traffic."
)
CAPTURE_OPTION = typer.Option(
    None, "--capture-percent", help="Share of requests recorded for monitoring (0-100)."
)
CONFIG_OPTION = typer.Option(
    None, "--config", help="Endpoint config JSON (variants, shadow, autoscaling, ...)."
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = MODEL_OPTION,
    variant: list[str] = VARIANT_OPTION,
    shadow: str = SHADOW_OPTION,
    capture_percent: float = CAPTURE_OPTION,
    config_file: Path = CONFIG_OPTION,
    port: int = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    force: bool = typer.Option(False, "--force", help="Deploy even if not Approved."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start serving Approved model versions over HTTP (POST /invocations, GET /ping)."""
    config = _config(model, variant, shadow, capture_percent, config_file)
    ws = open_workspace(ctx)
    with console.status(f"Starting endpoint {name} …", spinner="dots"):
        endpoint = _serving().create_endpoint(ws.ctx, name, config=config, port=port, force=force)
    if as_json:
        print_json({**endpoint.to_dict(), "url": endpoint.url})
        return
    console.print(f"Endpoint [bold]{name}[/] is {endpoint.status.value} at {endpoint.url}")
    console.print(f"Try: siklus endpoints invoke {name} --body '[{{...}}]'")


@app.command("update")
def update(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    model: str = MODEL_OPTION,
    variant: list[str] = VARIANT_OPTION,
    shadow: str = SHADOW_OPTION,
    capture_percent: float = CAPTURE_OPTION,
    config_file: Path = CONFIG_OPTION,
    force: bool = typer.Option(False, "--force", help="Deploy even if not Approved."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Switch to a new config blue/green: new workers first, then the old ones drain."""
    config = _config(model, variant, shadow, capture_percent, config_file)
    ws = open_workspace(ctx)
    with console.status(f"Updating endpoint {name} …", spinner="dots"):
        state = _serving().update_endpoint(ws.ctx, name, config, force=force)
    if as_json:
        print_json(state)
        return
    console.print(
        f"Endpoint [bold]{name}[/] serves config revision {state.get('revision')} with "
        f"{state.get('workers')} worker(s); old workers drain and exit."
    )


@app.command("invoke")
def invoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Endpoint name."),
    body: str = typer.Option(None, "--body", "-b", help="Request body text (JSON or CSV)."),
    file: Path = typer.Option(
        None, "--file", "-f", help="Read the body from a file ('-': stdin); .csv, .parquet or JSON."
    ),
    content_type: str = typer.Option(
        None,
        "--content-type",
        help="application/json, text/csv or application/x-parquet (default: by file suffix).",
    ),
    target_variant: str = typer.Option(
        None, "--variant", help="Send to this production variant instead of by weight."
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
        suffix = file.suffix.lower()
        guessed = {".csv": "text/csv", ".parquet": "application/x-parquet"}.get(
            suffix, "application/json"
        )
    else:
        payload = body.encode()
        guessed = "application/json" if body.lstrip()[:1] in "[{" else "text/csv"
    ws = open_workspace(ctx)
    print_json(
        _serving().invoke_endpoint(
            ws.ctx, name, payload, content_type or guessed, target_variant=target_variant
        )
    )


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List endpoints (a dead server process shows as Failed)."""
    rows = [{**e.to_dict(), "url": e.url} for e in open_workspace(ctx).endpoints.list()]
    print_table(rows, ENDPOINT_COLUMNS, as_json=as_json, title="Endpoints")


@app.command("describe")
def describe(
    ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPTION
) -> None:
    """Show one endpoint: its record, config (variants), live state and recent events."""
    ws = open_workspace(ctx)
    serving = _serving()
    endpoint = serving.describe_endpoint(ws.ctx, name)
    record: dict[str, Any] = {**endpoint.to_dict(), "url": endpoint.url}
    try:
        record["config"] = serving.endpoint_config(ws.ctx, name).to_dict()
    except NotFound:
        record["config"] = None
    record["state"] = serving.endpoint_state(ws.ctx, name)
    record["events"] = serving.endpoint_events(ws.ctx, name, limit=10)
    if as_json:
        print_json(record)
        return
    config = record.pop("config")
    print_record({k: v for k, v in record.items() if k != "events"}, as_json=False)
    if config:
        variants = [{**v, "role": "production"} for v in config["variants"]] + (
            [{**config["shadow"], "role": "shadow"}] if config.get("shadow") else []
        )
        print_table(
            variants,
            (
                "name",
                "role",
                "model",
                "weight",
                "initial_workers",
                "min_workers",
                "max_workers",
                "runtime",
            ),
            as_json=False,
            title=f"Variants (capture {config['capture_percent']:g} %)",
        )


@app.command("metrics")
def metrics(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    since: float = typer.Option(3600.0, "--since", help="Seconds back to summarise."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per-variant requests, errors and latency percentiles (from the endpoint's metrics)."""
    rows = _serving().endpoint_metrics(open_workspace(ctx).ctx, name, since_seconds=since)
    print_table(rows, METRIC_COLUMNS, as_json=as_json, title=f"Endpoint {name}: last {since:g} s")


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Stop the endpoint's server and mark it Deleted."""
    open_workspace(ctx).endpoints.delete(name)
    console.print(f"Endpoint [bold]{name}[/] deleted.")


host_app = typer.Typer(
    help="The warm host: one pre-imported process per workspace that starts endpoints fast.",
    no_args_is_help=True,
)
app.add_typer(host_app, name="host")


@host_app.command("start")
def host_start(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Start the warm host (nothing changes when it already runs)."""
    print_record(_serving().start_host(open_workspace(ctx).ctx), as_json=as_json)


@host_app.command("stop")
def host_stop(ctx: typer.Context) -> None:
    """Stop the warm host; the endpoints it started keep running."""
    stopped = _serving().stop_host(open_workspace(ctx).ctx)
    console.print("Warm host stopped." if stopped else "No warm host was running.")


@host_app.command("status")
def host_status(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Whether the warm host runs, its pid, socket, log and the endpoints it started."""
    print_record(_serving().host_status(open_workspace(ctx).ctx), as_json=as_json)
