"""``siklus reproduce GROUP:VERSION``: rebuild a registered model and compare its hash."""

from __future__ import annotations

import typer

from siklus.cli._app import open_workspace
from siklus.cli._output import console, print_json
from siklus.exceptions import InvalidState


def reproduce(
    ctx: typer.Context,
    package: str = typer.Argument(..., help="Model package, e.g. breast-cancer:1."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-run the training behind a model version from its stored inputs; same hash?"""
    from siklus.pipelines import reproduce as run

    with console.status(f"Reproducing {package} …", spinner="dots"):
        result = run(open_workspace(ctx).ctx, package)
    if as_json:
        print_json(result)
    else:
        for item in result["inputs"]:
            console.print(f"  input {item['channel']}: {item['dataset']} sha256 "
                          f"{item['sha256'][:12]}… verified")  # fmt: skip
        console.print(f"  original   model {result['model_id']} sha256 {result['original_sha256']}")
        console.print(f"  reproduced model {result['reproduced_model_id']} sha256 "
                      f"{result['reproduced_sha256']} (job {result['job_id']})")  # fmt: skip
    if not result["identical"]:
        raise InvalidState(f"{package} did not reproduce: the content hashes differ.")
    console.print(f"[green]{package} reproduced: identical sha256.[/]")
