"""The training job: what runs inside the job's own process.

Submitted by :func:`siklus.training.train`; the ``siklus.jobs`` runner imports
``siklus.training._job:run`` by name, so ``jobs`` never imports ``training``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from siklus.data import read_frame
from siklus.evaluation import classification_metrics, regression_metrics
from siklus.exceptions import InvalidParameter
from siklus.jobs import JobContext
from siklus.store import WorkspaceContext
from siklus.training._artifact import library_versions, save_estimator
from siklus.training._estimators import make_estimator, task_of
from siklus.training._pipeline import build_pipeline
from siklus.training._signature import conform, infer_signature


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


def fit_model(
    ws: WorkspaceContext, parameters: dict[str, Any], inputs: dict[str, Any], log: Any
) -> dict[str, Any]:
    """Fit, score and store a model; return the job outputs."""
    target = parameters["target"]
    train_version, train_frame = read_frame(ws, ws.store.get_dataset_version_by_id(inputs["train"]))
    x_train, y_train = split_features(train_frame, target, f"dataset {train_version.ref}")
    signature = infer_signature(x_train)
    x_train = conform(x_train, signature)
    estimator = make_estimator(parameters["estimator"], parameters.get("hyperparameters"))
    if parameters.get("seed") is not None and "random_state" in estimator.get_params():
        estimator.set_params(random_state=parameters["seed"])
    n_classes = int(y_train.nunique()) if is_classifier(estimator) else None
    task = task_of(estimator, n_classes)
    pipeline = build_pipeline(signature, estimator, scale_numeric=parameters.get("scale", True))
    log.info(
        "fitting %s on %s (%d rows, %d features)",
        parameters["estimator"],
        train_version.ref,
        len(x_train),
        x_train.shape[1],
    )
    pipeline.fit(x_train, y_train)
    positive_label = parameters.get("positive_label")
    metrics = {"train": score(pipeline, task, x_train, y_train, positive_label)}
    if inputs.get("validation"):
        val_version, val_frame = read_frame(
            ws, ws.store.get_dataset_version_by_id(inputs["validation"])
        )
        x_val, y_val = split_features(val_frame, target, f"dataset {val_version.ref}")
        metrics["validation"] = score(
            pipeline, task, conform(x_val, signature), y_val, positive_label
        )
    sha = save_estimator(ws, pipeline)
    classes = pipeline.classes_.tolist() if task != "regression" else None
    example = x_train.head(3).astype(object).where(x_train.head(3).notna(), None)
    manifest = {
        "format": "skops",
        "task": task,
        "target": target,
        "classes": classes,
        "positive_label": positive_label,
        "estimator": parameters["estimator"],
        "hyperparameters": parameters.get("hyperparameters") or {},
        "input_signature": signature,
        "input_example": example.to_dict(orient="records"),
        "library_versions": library_versions(),
        "training_dataset": train_version.ref,
        "metrics": metrics,
    }
    return {"sha256": sha, "manifest": manifest, "metrics": metrics}


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: fit the model, store it and link it to its data and job."""
    ws = job.workspace
    outputs = fit_model(ws, dict(job.parameters), dict(job.inputs), job.log)
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
    return {"model_id": model.id, "sha256": outputs["sha256"], "metrics": outputs["metrics"]}
