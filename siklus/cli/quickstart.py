"""``siklus quickstart``: the whole lifecycle on real data, in a fresh workspace.

Business goal → ingest → split → train → evaluate against the success criteria →
register → approve → deploy → invoke, on scikit-learn's bundled breast-cancer data
(the Wisconsin diagnostic set), each step shown as it runs.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.panel import Panel

from siklus.cli._output import console, metrics_table, verdict_table
from siklus.exceptions import InvalidParameter

T = TypeVar("T")

GROUP = "breast-cancer"
ENDPOINT = "breast-cancer"
ESTIMATOR = "sklearn.linear_model.LogisticRegression"


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


def _step(number: int, title: str, fn: Callable[[], T]) -> T:
    started = time.monotonic()
    with console.status(f"[{number}/9] {title} …", spinner="dots"):
        result = fn()
    console.print(f"[green]✓[/] [{number}/9] {title} [dim]({time.monotonic() - started:.1f}s)[/]")
    return result


def quickstart(
    workspace: Path = typer.Option(
        Path("siklus-quickstart"), "--workspace", "-w", help="Folder for the demo workspace."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Delete a previous demo workspace first."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Leave the endpoint running."),
) -> None:
    """Run the whole lifecycle on the bundled breast-cancer data and deploy the model."""
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
    csv = write_breast_cancer_csv(folder / "data" / "breast_cancer.csv")
    version, _ = _step(
        1, "Ingest data/breast_cancer.csv", lambda: ws.data.ingest(csv, name="breast_cancer")
    )
    console.print(
        f"    dataset {version.ref}: {version.row_count} rows, sha256 {version.sha256[:12]}…"
    )
    parts = _step(
        2,
        "Split 80/10/10, stratified on diagnosis",
        lambda: ws.data.split(version.ref, stratify="diagnosis"),
    )
    console.print("    " + ", ".join(f"{p.ref} ({p.row_count} rows)" for p in parts.values()))
    job, model = _step(
        3,
        f"Train {ESTIMATOR} (training job)",
        lambda: ws.training.train(
            estimator=ESTIMATOR,
            train=parts["train"],
            validation=parts["validation"],
            hyperparameters={"C": 1.0, "max_iter": 2000},
            model_name="breast-cancer-logreg",
        ),
    )
    console.print(
        f"    job {job.id}: {job.wall_seconds:.1f}s wall, {job.cpu_seconds:.1f}s cpu"
        f" → model {model.id}"
    )
    evaluation = _step(
        4,
        "Evaluate on the test split",
        lambda: ws.training.evaluate(model.id, parts["test"].ref, split="test"),
    )
    console.print(
        metrics_table(evaluation.metrics, title="Test metrics (positive class: malignant)")
    )
    verdict = evaluation.verdict or {"passed": False, "criteria": []}
    console.print(verdict_table(verdict))
    package = _step(
        5,
        f"Register in model package group {GROUP}",
        lambda: ws.models.register(
            model.id, group=GROUP, description="quickstart logistic regression"
        ),
    )
    if not verdict["passed"]:
        ws.models.reject(
            package.ref, reason="quickstart: success criteria not met", by="siklus quickstart"
        )
        console.print(
            "[red]The model did not meet the success criteria; it was rejected and not deployed.[/]"
        )
        raise typer.Exit(1)
    _step(
        6,
        f"Approve {package.ref} (criteria passed)",
        lambda: ws.models.approve(
            package.ref,
            reason="quickstart: all success criteria passed on test",
            by="siklus quickstart",
        ),
    )
    start_cmd = f"siklus -w {folder} endpoints create {ENDPOINT} --model {package.ref}"
    if not serve:
        console.print(f"[bold]Start the endpoint with:[/] {start_cmd}", soft_wrap=True)
        return
    _stop_endpoints(folder)
    endpoint = _step(
        7, f"Deploy endpoint {ENDPOINT}", lambda: ws.endpoints.create(ENDPOINT, package.ref)
    )
    console.print(f"    serving at {endpoint.url}  (POST /invocations, GET /ping)")
    test_rows = ws.data.read(parts["test"].ref).head(3)
    truth = test_rows.pop("diagnosis").tolist()
    body = json.dumps(test_rows.to_dict(orient="records")).encode()
    (folder / "rows.json").write_bytes(body)  # an example payload for the user to send
    answer: dict[str, Any] = _step(
        8, "Invoke it with 3 test rows", lambda: ws.endpoints.invoke(ENDPOINT, body)
    )
    console.print(f"    predicted {answer['predictions']}  (true: {truth})")
    _step(9, "Check the endpoint is healthy", lambda: ws.endpoints.get(ENDPOINT))
    console.print(f"[bold green]Done.[/] Endpoint [bold]{ENDPOINT}[/] is running at {endpoint.url}")
    console.print(
        f"Invoke:  siklus -w {folder} endpoints invoke {ENDPOINT} --file {folder / 'rows.json'}",
        soft_wrap=True,
    )
    console.print(f"Stop:    siklus -w {folder} endpoints delete {ENDPOINT}", soft_wrap=True)
