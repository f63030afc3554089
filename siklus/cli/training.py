"""``siklus train`` and ``siklus evaluate``."""

from __future__ import annotations

import time
from typing import Any

import typer
import yaml

from siklus.cli._app import open_workspace
from siklus.cli._output import (
    JSON_OPTION,
    console,
    metrics_table,
    print_json,
    print_table,
    verdict_table,
)
from siklus.data import split_name
from siklus.exceptions import InvalidParameter


def parse_hyperparameters(items: list[str] | None) -> dict[str, Any]:
    """``["C=0.5", "penalty=l2"]`` → ``{"C": 0.5, "penalty": "l2"}`` (YAML-typed values)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameter(
                f"Hyperparameter {item!r} is not KEY=VALUE; write e.g. --hp n_estimators=200."
            )
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def train(
    ctx: typer.Context,
    estimator: str = typer.Option(
        ...,
        "--estimator",
        "-e",
        help="Dotted scikit-learn class, e.g. sklearn.ensemble.RandomForestClassifier.",
    ),
    data: str = typer.Option(
        None,
        "--data",
        "-d",
        help="Dataset NAME whose NAME.train / NAME.validation splits are the channels.",
    ),
    train_channel: str = typer.Option(None, "--train", help="Training dataset (NAME[:VERSION])."),
    validation: str = typer.Option(None, "--validation", help="Validation dataset."),
    target: str = typer.Option(None, "--target", "-t", help="Target column (default: project)."),
    hp: list[str] = typer.Option(None, "--hp", help="Hyperparameter KEY=VALUE (repeatable)."),
    model_name: str = typer.Option(None, "--model-name", help="Name of the produced model."),
    seed: int = typer.Option(42, help="random_state given to the estimator when it has one."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a training job: fit the estimator in its own process and store the model."""
    ws = open_workspace(ctx)
    if data is None and train_channel is None:
        raise InvalidParameter("Give --data NAME (after `siklus data split`) or --train DATASET.")
    train_ref = train_channel or split_name(data, "train")
    validation_ref = validation or (split_name(data, "validation") if data else None)
    request: dict[str, Any] = {
        "estimator": estimator,
        "train": train_ref,
        "validation": validation_ref,
        "hyperparameters": parse_hyperparameters(hp),
        "model_name": model_name,
        "seed": seed,
    }
    if target is not None:
        request["target"] = target
    elif ws.project is None:
        raise InvalidParameter("Give --target COLUMN (there is no siklus.yaml to take it from).")
    started = time.monotonic()
    with console.status(f"Training {estimator} …", spinner="dots"):
        job, model = ws.training.train(**request)
    if as_json:
        print_json({"job": job, "model": model})
        return
    console.print(
        f"Model [bold]{model.id}[/] from job {job.id} in {time.monotonic() - started:.1f}s "
        f"(cpu {job.cpu_seconds or 0:.1f}s, peak RSS {(job.peak_rss_bytes or 0) / 2**20:.0f} MiB)"
    )
    for split, values in model.manifest.get("metrics", {}).items():
        console.print(metrics_table(values, title=f"{split} metrics"))


def evaluate(
    ctx: typer.Context,
    model_id: str = typer.Argument(..., help="Model id (from `siklus train`)."),
    data: str = typer.Option(None, "--data", "-d", help="Dataset NAME; evaluates NAME.<split>."),
    dataset: str = typer.Option(None, "--dataset", help="Exact dataset reference instead."),
    split: str = typer.Option("test", "--split", help="Split name the criteria refer to."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate a model and judge it against the project's success criteria.

    Exits 0 whether or not the criteria pass; read the verdict (or `--json`).
    """
    ws = open_workspace(ctx)
    if dataset is None and data is None:
        raise InvalidParameter("Give --data NAME (evaluates NAME.test) or --dataset REF.")
    ref = dataset or split_name(data, split)
    evaluation = ws.training.evaluate(model_id, ref, split=split)
    if as_json:
        print_json(evaluation)
        return
    console.print(metrics_table(evaluation.metrics, title=f"{split} metrics of {model_id}"))
    matrix = evaluation.metrics.get("confusion_matrix")
    if matrix is not None:
        labels = [str(v) for v in evaluation.metrics.get("labels", [])]
        rows = [
            {"true \\ predicted": labels[i], **dict(zip(labels, map(str, row), strict=True))}
            for i, row in enumerate(matrix)
        ]
        print_table(rows, ["true \\ predicted", *labels], title="Confusion matrix", as_json=False)
    if evaluation.verdict is not None:
        console.print(verdict_table(evaluation.verdict))
        passed = evaluation.verdict.get("passed")
        console.print("[bold green]PASSED[/]" if passed else "[bold red]NOT PASSED[/]")
