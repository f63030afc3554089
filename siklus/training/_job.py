"""The training job: what runs inside the job's own process.

Submitted by :func:`siklus.training.train`; the ``siklus.jobs`` runner imports
``siklus.training._job:run`` by name, so ``jobs`` never imports ``training``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from siklus.data import read_frame
from siklus.evaluation import classification_metrics, regression_metrics
from siklus.exceptions import InvalidParameter
from siklus.jobs import JobContext
from siklus.store import WorkspaceContext
from siklus.training._artifact import save_estimator, skops_manifest
from siklus.training._epochs import OnEpoch, fit_epochs, fit_native
from siklus.training._estimators import make_estimator, task_of
from siklus.training._pipeline import build_pipeline
from siklus.training._signature import conform, infer_signature
from siklus.training._stopping import Stopping, plan_stopping
from siklus.training._tracking import Tracker, run_id_of

_STOPPING_OUTPUTS = ("history", "stopped_at", "reason", "best_iteration", "stopping_mode")


def split_features(frame: pd.DataFrame, target: str, where: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the target column; refuse rows whose target is missing."""
    if target not in frame.columns:
        raise InvalidParameter(
            f"Target column {target!r} is not in {where}; columns: {list(frame.columns)}."
        )
    y = frame[target]
    if y.isna().any():
        rows = np.flatnonzero(y.isna().to_numpy())[:5].tolist()
        raise InvalidParameter(
            f"Target column {target!r} in {where} has missing values (rows {rows}); drop or "
            "fill them before training."
        )
    return frame.drop(columns=[target]), y


def score(model: Any, task: str, x: pd.DataFrame, y: pd.Series, positive_label: Any) -> dict:
    """Evaluation metrics of a fitted pipeline on (x, y)."""
    predictions = model.predict(x)
    if task == "regression":
        return regression_metrics(y.to_numpy(), predictions)
    proba = model.predict_proba(x) if hasattr(model, "predict_proba") else None
    labels = model.classes_.tolist()
    return classification_metrics(
        y.to_numpy(), predictions, proba, labels=labels, positive_label=positive_label
    )


def _read_channel(
    ws: WorkspaceContext, version_id: str, target: str, signature: list[dict[str, Any]] | None
) -> tuple[Any, pd.DataFrame, pd.Series]:
    version, frame = read_frame(ws, ws.store.get_dataset_version_by_id(version_id))
    x, y = split_features(frame, target, f"dataset {version.ref}")
    return version, (x if signature is None else conform(x, signature)), y


def _use_allocated_cpus(estimator: Any, hyperparameters: dict[str, Any], cpus: int | None) -> None:
    """Give ``n_jobs`` the job's CPUs, unless the user chose it: never more than reserved."""
    if cpus and cpus > 1 and "n_jobs" in estimator.get_params() and "n_jobs" not in hyperparameters:
        estimator.set_params(n_jobs=cpus)


def _epoch_logger(log: Any, max_epochs: int, tracker: Tracker | None) -> OnEpoch:
    """Report each epoch's losses to the job log and, as step series, to the run."""

    def on_epoch(epoch: int, losses: dict[str, float | None]) -> None:
        shown = ", ".join(
            f"{key} {'n/a' if v is None else f'{v:.5g}'}" for key, v in losses.items()
        )
        log.info("epoch %d/%d: %s", epoch, max_epochs, shown)
        if tracker is not None:
            for key, value in losses.items():
                tracker.log_metric(key, value, epoch)

    return on_epoch


def fit_model(
    ws: WorkspaceContext,
    parameters: dict[str, Any],
    inputs: dict[str, Any],
    log: Any,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    cpus: int | None = None,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """Fit, score and store a model; return the job outputs.

    With ``parameters["stopping"]`` the fit honours the stopping criteria (see
    :mod:`siklus.training._stopping`) and the outputs gain ``history``, ``stopped_at``,
    ``reason``, ``best_iteration`` and ``stopping_mode``.

    Args:
        ws: The workspace.
        parameters: The job parameters written by :func:`~siklus.training.training_spec`.
        inputs: Channel name → dataset version id (``train``, optional ``validation``).
        log: The job log.
        should_stop: Polled between epochs (epoch loop only).
        cpus: CPUs reserved for the job; sizes ``n_jobs`` when the user did not.
        tracker: Receives the per-epoch losses as step series.
    """
    target = parameters["target"]
    train_version, x_train, y_train = _read_channel(ws, inputs["train"], target, None)
    signature = infer_signature(x_train)
    x_train = conform(x_train, signature)
    x_val = y_val = None
    if inputs.get("validation"):
        _, x_val, y_val = _read_channel(ws, inputs["validation"], target, signature)
    hyperparameters = dict(parameters.get("hyperparameters") or {})
    estimator = make_estimator(parameters["estimator"], hyperparameters)
    if parameters.get("seed") is not None and "random_state" in estimator.get_params():
        estimator.set_params(random_state=parameters["seed"])
    _use_allocated_cpus(estimator, hyperparameters, cpus)
    stopping = Stopping.parse(parameters.get("stopping"), has_validation=x_val is not None)
    plan = None
    if stopping is not None:
        plan = plan_stopping(estimator, stopping, hyperparameters, has_validation=x_val is not None)
        estimator.set_params(**plan.params)
    n_classes = int(y_train.nunique()) if is_classifier(estimator) else None
    task = task_of(estimator, n_classes)
    pipeline = build_pipeline(signature, estimator, scale_numeric=parameters.get("scale", True))
    log.info(
        "fitting %s on %s (%d rows, %d features)%s",
        parameters["estimator"], train_version.ref, len(x_train), x_train.shape[1],
        "" if plan is None else f", stopping {plan.mode}: {parameters['stopping']}",
    )  # fmt: skip
    report = None
    if plan is None:
        pipeline.fit(x_train, y_train)
    elif plan.mode == "epochs":
        report = fit_epochs(
            pipeline, plan, x_train, y_train, x_val, y_val,
            should_stop=should_stop, on_epoch=_epoch_logger(log, plan.max_epochs, tracker),
        )  # fmt: skip
    else:
        report = fit_native(pipeline, plan, x_train, y_train, x_val, y_val)
        if tracker is not None:
            for key, values in report.history.items():
                tracker.log_series({key: list(enumerate(values))})
    if report is not None:
        log.info("stopped after %d iteration(s): %s", report.stopped_at, report.reason)
    positive_label = parameters.get("positive_label")
    metrics = {"train": score(pipeline, task, x_train, y_train, positive_label)}
    if x_val is not None:
        metrics["validation"] = score(pipeline, task, x_val, y_val, positive_label)
    sha = save_estimator(ws, pipeline)
    manifest = skops_manifest(
        task=task,
        target=target,
        classes=pipeline.classes_.tolist() if task != "regression" else None,
        positive_label=positive_label,
        estimator=parameters["estimator"],
        hyperparameters=hyperparameters,
        signature=signature,
        features=x_train,
        training_dataset=train_version.ref,
        metrics=metrics,
    )
    outputs: dict[str, Any] = {"sha256": sha, "manifest": manifest, "metrics": metrics}
    if report is not None:
        stopping_outputs = report.outputs()
        manifest["stopping"] = {
            "criteria": parameters["stopping"],
            **{k: v for k, v in stopping_outputs.items() if k != "history"},
        }
        outputs.update(stopping_outputs)
    return outputs


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: fit the model, store it and link it to its data and job."""
    ws = job.workspace
    tracker = Tracker(run_id_of(job.parameters), job.log)
    outputs = fit_model(
        ws, dict(job.parameters), dict(job.inputs), job.log,
        should_stop=job.should_stop, cpus=job.allocation.cpus, tracker=tracker,
    )  # fmt: skip
    name = job.parameters.get("model_name") or job.parameters["estimator"].rsplit(".", 1)[-1]
    model = ws.store.create_model(
        name=name,
        sha256=outputs["sha256"],
        manifest=outputs["manifest"],
        training_job_id=job.job.id,
        tags=dict(job.job.tags),
    )
    for channel, version_id in job.inputs.items():
        if version_id:
            ws.store.add_lineage(("dataset", version_id), ("job", job.job.id), f"input:{channel}")
    ws.store.add_lineage(("job", job.job.id), ("model", model.id), "output")
    job.log.info("stored model %s (sha256 %s)", model.id, outputs["sha256"])
    result = {"model_id": model.id, "sha256": outputs["sha256"], "metrics": outputs["metrics"]}
    result.update({k: outputs[k] for k in _STOPPING_OUTPUTS if k in outputs})
    if tracker.run_id is not None:
        result["tracking"] = tracker.status
    return result
