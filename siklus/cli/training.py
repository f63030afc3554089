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


def _parse_pairs(items: list[str] | None, what: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameter(f"{what} {item!r} is not NAME=VALUE; write e.g. {example}.")
        out[key.strip()] = value.strip()
    return out


def _stopping(
    max_iterations: int | None, patience: int | None, min_delta: float | None, metric: str | None
) -> dict[str, Any] | None:
    stopping: dict[str, Any] = {}
    if max_iterations is not None:
        stopping["max_iterations"] = max_iterations
    early = {
        key: value
        for key, value in (("patience", patience), ("min_delta", min_delta), ("metric", metric))
        if value is not None
    }
    if early:
        stopping["early_stopping"] = early
    return stopping or None


def train(
    ctx: typer.Context,
    estimator: str = typer.Option(
        None,
        "--estimator",
        "-e",
        help="Dotted scikit-learn class, e.g. sklearn.ensemble.RandomForestClassifier.",
    ),
    script: str = typer.Option(
        None, "--script", help="Your own training script instead (script mode, any framework)."
    ),
    source_dir: str = typer.Option(
        None, "--source-dir", help="Folder with the script and the code it imports."
    ),
    data: str = typer.Option(
        None,
        "--data",
        "-d",
        help="Dataset NAME whose NAME.train / NAME.validation splits are the channels.",
    ),
    train_channel: str = typer.Option(None, "--train", help="Training dataset (NAME[:VERSION])."),
    validation: str = typer.Option(None, "--validation", help="Validation dataset."),
    channel: list[str] = typer.Option(
        None, "--channel", help="Script mode: another channel NAME=DATASET (repeatable)."
    ),
    target: str = typer.Option(None, "--target", "-t", help="Target column (default: project)."),
    hp: list[str] = typer.Option(None, "--hp", help="Hyperparameter KEY=VALUE (repeatable)."),
    max_iterations: int = typer.Option(
        None, "--max-iterations", help="Stop after N epochs / boosting rounds / iterations."
    ),
    patience: int = typer.Option(
        None, "--patience", help="Early stopping: epochs without improvement before stopping."
    ),
    min_delta: float = typer.Option(
        None, "--min-delta", help="Early stopping: smallest loss decrease that counts."
    ),
    stopping_metric: str = typer.Option(
        None, "--stopping-metric", help="Early stopping watches validation_loss or train_loss."
    ),
    cpus: int = typer.Option(None, "--cpus", help="CPUs the job holds (default 1)."),
    memory_mb: int = typer.Option(None, "--memory-mb", help="Memory the job holds, in MiB."),
    gpus: int = typer.Option(None, "--gpus", help="GPUs the job holds."),
    run_id: str = typer.Option(None, "--run-id", help="Experiment run to report metrics to."),
    model_name: str = typer.Option(None, "--model-name", help="Name of the produced model."),
    seed: int = typer.Option(42, help="random_state given to the estimator when it has one."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a training job: a built-in estimator (--estimator) or your script (--script).

    The job waits (Pending, "queued") until the CPUs, memory and GPUs it asks for are free.
    """
    ws = open_workspace(ctx)
    if data is None and train_channel is None:
        raise InvalidParameter("Give --data NAME (after `siklus data split`) or --train DATASET.")
    if (estimator is None) == (script is None):
        raise InvalidParameter(
            "Give exactly one of --estimator CLASS (a built-in algorithm) and --script FILE "
            "(your own training script)."
        )
    stopping_flags = (max_iterations, patience, min_delta, stopping_metric)
    if script is not None and any(flag is not None for flag in stopping_flags):
        raise InvalidParameter(
            "--max-iterations/--patience/--min-delta/--stopping-metric apply to --estimator; "
            "a script reads its own stopping settings from --hp."
        )
    train_ref = train_channel or split_name(data, "train")
    validation_ref = validation or (split_name(data, "validation") if data else None)
    resources = {
        key: value
        for key, value in (("cpus", cpus), ("memory_mb", memory_mb), ("gpus", gpus))
        if value is not None
    }
    request: dict[str, Any] = {
        "train": train_ref,
        "validation": validation_ref,
        "hyperparameters": parse_hyperparameters(hp),
        "model_name": model_name,
        "seed": seed,
        "resources": resources or None,
        "run_id": run_id,
    }
    if script is not None:
        request.update(script=script, source_dir=source_dir)
        extra = _parse_pairs(channel, "--channel", "--channel test=bc.test")
        if extra:
            request["channels"] = extra
    else:
        request["estimator"] = estimator
        stopping = _stopping(max_iterations, patience, min_delta, stopping_metric)
        if stopping is not None:
            request["stopping"] = stopping
    if target is not None:
        request["target"] = target
    elif ws.project is None and script is None:
        raise InvalidParameter("Give --target COLUMN (there is no siklus.yaml to take it from).")
    label = script or estimator
    started = time.monotonic()
    with console.status(f"Training {label} …", spinner="dots") as status:

        def on_poll(job: Any) -> None:
            state = "queued for resources" if job.status.value == "Pending" else "running"
            status.update(f"Training {label} … {state} (job {job.id})")

        job, model = ws.training.train(on_poll=on_poll, **request)
    if as_json:
        print_json({"job": job, "model": model})
        return
    console.print(
        f"Model [bold]{model.id}[/] from job {job.id} in {time.monotonic() - started:.1f}s "
        f"(cpu {job.cpu_seconds or 0:.1f}s, peak RSS {(job.peak_rss_bytes or 0) / 2**20:.0f} MiB)"
    )
    if "stopped_at" in job.outputs:
        console.print(
            f"Stopped after {job.outputs['stopped_at']} iteration(s): {job.outputs['reason']}"
            + (
                f" (kept iteration {job.outputs['best_iteration']})"
                if job.outputs.get("best_iteration")
                else ""
            )
        )
    if model.manifest.get("format") == "directory":
        console.print(
            f"Model folder: {model.manifest['file_count']} file(s), "
            f"{model.manifest['total_bytes'] / 2**20:.1f} MiB, sha256 {model.sha256}"
        )
        if model.manifest.get("metrics"):
            console.print(metrics_table(model.manifest["metrics"], title="final metrics"))
        return
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
