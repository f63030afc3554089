"""``siklus quickstart``: the whole lifecycle on real data, in a fresh workspace.

Business goal (``siklus.yaml``) → the project's pipeline: ingest → recipe → quality check
→ split → tune → evaluate against the success criteria → register and approve → deploy
→ monitoring baseline and schedule; then an invocation, on scikit-learn's bundled
breast-cancer data (the Wisconsin diagnostic set), with a live table of the steps.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel

from siklus.cli._output import console, metrics_table, verdict_table
from siklus.exceptions import InvalidParameter

GROUP = "breast-cancer"
ENDPOINT = "breast-cancer"


def write_breast_cancer_csv(path: Path) -> Path:
    """The Wisconsin diagnostic data with a readable target: ``diagnosis`` = malignant/benign."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names)))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _prepare(folder: Path, fresh: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        looks_like_workspace = (folder / ".siklus").exists() or (folder / "siklus.yaml").exists()
        if not fresh:
            if looks_like_workspace:
                return
            raise InvalidParameter(
                f"{folder} is not empty and is not a siklus workspace; choose another "
                "--workspace folder."
            )
        if not looks_like_workspace:
            raise InvalidParameter(
                f"Refusing to empty {folder}: it is not a siklus workspace (no siklus.yaml or "
                ".siklus/). Choose an empty or new folder."
            )
        _stop_endpoints(folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _stop_endpoints(folder: Path) -> None:
    """Stop servers of a workspace about to be deleted, so none is left orphaned."""
    from siklus.workspace import Workspace

    if not (folder / ".siklus" / "siklus.db").exists():
        return
    ws = Workspace(folder)
    for endpoint in ws.endpoints.list():
        ws.endpoints.delete(endpoint.name)


def quickstart(
    workspace: Path = typer.Option(
        Path("siklus-quickstart"), "--workspace", "-w", help="Folder for the demo workspace."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Delete a previous demo workspace first."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Leave the endpoint running."),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="Pipeline parameter NAME=VALUE, e.g. max_tuning_jobs=8."
    ),
) -> None:
    """Run the project's pipeline on the bundled breast-cancer data and deploy the model.

    The lifecycle is the ``pipeline:`` of the generated ``siklus.yaml`` — ingest →
    recipe → quality check → split → tune → evaluate → condition on the success
    criteria → register → deploy → monitoring baseline → monitoring schedule — run
    exactly as ``siklus run`` runs it.
    """
    from siklus.cli.pipelines import _finish, _parameters, _run_live
    from siklus.pipelines import parse_definition, start_execution
    from siklus.project import breast_cancer_project
    from siklus.workspace import Workspace

    folder = workspace.resolve()
    _prepare(folder, fresh)
    spec = breast_cancer_project()
    (folder / "siklus.yaml").write_text(spec.dump_yaml())
    console.print(
        Panel.fit(
            f"[bold]{spec.name}[/]: {spec.problem.statement.strip()}\n"
            f"[bold]Business goal[/]: {spec.business_goal.strip()}\n"
            f"[bold]Success criteria[/]: "
            + "; ".join(
                f"{c.metric} {c.op} {c.threshold} on {c.split}" for c in spec.success_criteria
            ),
            title=f"siklus quickstart — {folder}",
        )
    )
    ws = Workspace(folder)
    write_breast_cancer_csv(folder / "data" / "breast_cancer.csv")
    data = ws.project.pipeline_definition() if ws.project else None
    assert data is not None  # breast_cancer_project() declares its pipeline
    if not serve:
        serving_steps = ("deploy", "monitoring_schedule")  # the schedule monitors the endpoint
        data = {**data, "steps": [s for s in data["steps"] if s["type"] not in serving_steps]}
    else:
        _stop_endpoints(folder)
    definition = parse_definition(data, source="pipeline in siklus.yaml")
    values = _parameters(definition, param)
    started = time.monotonic()
    body = _run_live(
        lambda on_change: start_execution(
            ws.ctx, definition, values, on_change=on_change, trigger={"type": "siklus quickstart"}
        )
    )
    steps = body["steps"]
    if "evaluate" in steps and steps["evaluate"]["outputs"]:
        metrics = steps["evaluate"]["outputs"]["metrics"]
        console.print(metrics_table(metrics, title="Test metrics (positive class: malignant)"))
        evaluation = ws.ctx.store.list_evaluations(steps["tune"]["outputs"]["model_id"])[0]
        console.print(verdict_table(evaluation.verdict or {"passed": False, "criteria": []}))
    _finish(body, as_json=False)
    console.print(f"Pipeline {body['pipeline']} ran in {time.monotonic() - started:.1f}s "
                  f"(execution {body['id']}).")  # fmt: skip
    package = steps["register"]["outputs"]["package"]
    start_cmd = f"siklus -w {folder} endpoints create {ENDPOINT} --model {package}"
    if not serve:
        console.print(f"[bold]Start the endpoint with:[/] {start_cmd}", soft_wrap=True)
        return
    endpoint = ws.endpoints.get(ENDPOINT)
    console.print(f"    serving at {endpoint.url}  (POST /invocations, GET /ping)")
    test_rows = ws.data.read(steps["split"]["outputs"]["test"]).head(3)
    truth = test_rows.pop("diagnosis").tolist()
    body_bytes = json.dumps(test_rows.to_dict(orient="records")).encode()
    (folder / "rows.json").write_bytes(body_bytes)  # an example payload for the user to send
    answer: dict[str, Any] = ws.endpoints.invoke(ENDPOINT, body_bytes)
    console.print(f"    invoked with 3 test rows: predicted {answer['predictions']}  "
                  f"(true: {truth})")  # fmt: skip
    console.print(f"[bold green]Done.[/] Endpoint [bold]{ENDPOINT}[/] is running at {endpoint.url}")
    console.print(
        f"Invoke:  siklus -w {folder} endpoints invoke {ENDPOINT} --file {folder / 'rows.json'}",
        soft_wrap=True,
    )
    console.print(f"Lineage: siklus -w {folder} lineage {ENDPOINT} --provenance", soft_wrap=True)
    console.print(f"Again:   siklus -w {folder} run   (unchanged steps come from the cache)",
                  soft_wrap=True)  # fmt: skip
    console.print(f"Stop:    siklus -w {folder} endpoints delete {ENDPOINT}", soft_wrap=True)
