"""The root ``siklus`` command: global options and error handling.

Errors a user can cause (:class:`SiklusError`) are printed as one line on stderr without
a traceback and exit with the error's code (2 for bad input, 1 otherwise).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from siklus.exceptions import SiklusError

app = typer.Typer(
    name="siklus",
    help="The machine-learning development lifecycle on your machine: business goal, data, "
    "training, evaluation, registry, deployment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: str = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="SIKLUS_WORKSPACE",
        help="Workspace folder (default: nearest folder upward with siklus.yaml or .siklus/).",
    ),
) -> None:
    ctx.obj = {"workspace": workspace}


def open_workspace(ctx: typer.Context) -> Any:
    """The :class:`~siklus.workspace.Workspace` named by ``--workspace`` (or found)."""
    from siklus.workspace import Workspace

    root = (ctx.obj or {}).get("workspace")
    return Workspace(root)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from rich.markup import escape

    from siklus.cli import _register_commands
    from siklus.cli._output import err_console

    _register_commands()
    try:
        app(args=argv, prog_name="siklus")
    except SiklusError as exc:
        # escape: a message quoting "pip install 'siklus[redis]'" must print its brackets.
        message = escape(exc.message)
        err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/]")
        sys.exit(130)
