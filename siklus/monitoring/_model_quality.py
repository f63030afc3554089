"""Model quality: the baseline metrics of a model, ground truth uploaded later, and the
metrics of each window of captured predictions joined with it.

Ground truth arrives after the fact (a loan defaults months later), keyed by the row id
that data capture gave every scored row (``CaptureRecord.row_ids``). Each upload is
stored as a Parquet artifact of ``row_id, label`` plus a ``monitoring-ground-truth``
resource; when the same row id is labelled twice the later upload wins. Concept drift is
a window's metric crossing its constraint in ``constraints.json`` (e.g. ``recall``
``LessThanThreshold`` 0.85).
"""

from __future__ import annotations

import io
import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from siklus.evaluation import classification_metrics, regression_metrics
from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.monitoring._checks import violation
from siklus.monitoring._constraints import Constraints
from siklus.store import WorkspaceContext

GROUND_TRUTH_KIND = "monitoring-ground-truth"
OPERATORS = {
    "LessThanThreshold": lambda v, t: v < t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
}


def compute_metrics(
    task: str,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    y_score: Any = None,
    labels: Sequence[Any] | None = None,
    positive_label: Any = None,
) -> dict[str, Any]:
    """The evaluation metrics of ``siklus.evaluation`` for ``task``."""
    if task == "regression":
        return regression_metrics(np.asarray(y_true, float), np.asarray(y_pred, float))
    return classification_metrics(
        list(y_true), list(y_pred), y_score, labels=labels, positive_label=positive_label
    )


def baseline_model_quality(
    ctx: WorkspaceContext, package_ref: str, label: str, dataset: str
) -> dict[str, Any]:
    """Score model package ``package_ref`` on ``dataset`` (which holds column ``label``)."""
    from siklus.data import read_frame
    from siklus.registry import get_package
    from siklus.training import load_model

    package = get_package(ctx, package_ref)
    model = ctx.store.get_model(package.model_id)
    loaded = load_model(ctx, model)
    version, frame = read_frame(ctx, dataset)
    if label not in frame.columns:
        raise InvalidParameter(
            f"Label column {label!r} is not in dataset {version.ref}; columns: "
            f"{list(frame.columns)}."
        )
    y = frame[label]
    x = loaded.conform(frame.drop(columns=[label]), allow_extra=True)
    task = loaded.manifest["task"]
    predictions = loaded.estimator.predict(x)
    labels = loaded.classes
    score = None
    if task != "regression" and hasattr(loaded.estimator, "predict_proba"):
        score = loaded.estimator.predict_proba(x)
    positive = loaded.manifest.get("positive_label")
    metrics = compute_metrics(
        task,
        y.tolist(),
        predictions.tolist(),
        y_score=score,
        labels=labels,
        positive_label=positive,
    )
    return {
        "task": task,
        "labels": labels,
        "positive_label": metrics.get("positive_label", positive),
        "model_id": model.id,
        "model_package": f"{package.group}:{package.version}",
        "dataset": version.ref,
        "dataset_id": version.id,
        "metrics": metrics,
    }


def _read_upload(frame_or_csv: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(frame_or_csv, pd.DataFrame):
        return frame_or_csv.copy()
    path = Path(frame_or_csv)
    if not path.is_file():
        raise NotFound(f"Ground-truth file {str(path)!r} does not exist.")
    try:
        return pd.read_csv(path, dtype={"row_id": str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInput(
            f"Ground-truth file {str(path)!r} is not a readable CSV: {exc}"
        ) from None


def upload_ground_truth(
    ctx: WorkspaceContext,
    endpoint: str,
    frame_or_csv: pd.DataFrame | str | os.PathLike[str],
    *,
    label_column: str | None = None,
) -> dict[str, Any]:
    """Store true labels for rows an endpoint scored, keyed by their capture row id.

    Example:
        >>> upload_ground_truth(ctx, "churn", "labels.csv")  # doctest: +SKIP

    Args:
        ctx: The workspace.
        endpoint: The endpoint whose captured rows these labels belong to.
        frame_or_csv: A DataFrame or CSV file with a ``row_id`` column and a label column.
        label_column: The label column (default: ``label``, or the only other column).

    Returns:
        The stored upload: ``name``, ``sha256``, ``rows``, ``label_column``.

    Raises:
        InvalidInput: no ``row_id`` column, no label column, empty row ids, or one row id
            with two different labels.
        NotFound: ``endpoint`` neither exists nor has captured data.
    """
    from siklus.store.capture import capture_root

    if not capture_root(ctx.root, endpoint).exists():
        # Labels belong to rows an endpoint captured: an endpoint that neither exists nor
        # captured anything is a typo, and its labels would never join.
        ctx.store.get_endpoint(endpoint)  # NotFound names the known endpoints
    frame = _read_upload(frame_or_csv)
    if "row_id" not in frame.columns:
        raise InvalidInput(
            f"Ground truth needs a 'row_id' column (the capture row ids); got columns "
            f"{list(frame.columns)}."
        )
    others = [c for c in frame.columns if c != "row_id"]
    if label_column is None:
        label_column = "label" if "label" in others else (others[0] if len(others) == 1 else None)
    if label_column is None or label_column not in frame.columns:
        raise InvalidInput(
            f"Which column is the label? Got columns {list(frame.columns)}; pass label_column "
            "(CLI: --label) or name the column 'label'."
        )
    frame = frame[["row_id", label_column]].rename(columns={label_column: "label"})
    if frame["row_id"].isna().any() or frame["label"].isna().any():
        raise InvalidInput("Ground truth has empty row ids or labels; drop those rows first.")
    frame["row_id"] = frame["row_id"].astype(str)
    frame = frame.drop_duplicates()
    clash = frame["row_id"][frame["row_id"].duplicated()].unique().tolist()
    if clash:
        raise InvalidInput(
            f"Ground truth gives {len(clash)} row id(s) different labels, e.g. {clash[:5]}; "
            "keep one label per row id (a later upload replaces an earlier one)."
        )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    sha = ctx.artifacts.put_bytes(buffer.getvalue())
    now = time.time()
    name = f"{endpoint}:{int(now * 1000):013d}-{uuid.uuid4().hex[:6]}"
    body = {
        "endpoint": endpoint,
        "sha256": sha,
        "rows": len(frame),
        "label_column": label_column,
        "uploaded_at": now,
    }
    ctx.store.put_resource(GROUND_TRUTH_KIND, name, body, expected_revision=0)
    ctx.store.append_event(GROUND_TRUTH_KIND, endpoint, {"upload": name, **body})
    ctx.store.add_lineage(("artifact", sha), ("endpoint", endpoint), "ground-truth")
    return {"name": name, **body}


def ground_truth(ctx: WorkspaceContext, endpoint: str) -> dict[str, Any]:
    """All labels uploaded for ``endpoint``: row id → label (later uploads win)."""
    uploads = ctx.store.list_resources(GROUND_TRUTH_KIND, prefix=f"{endpoint}:")
    labels: dict[str, Any] = {}
    for upload in sorted(uploads, key=lambda r: r.body.get("uploaded_at", 0)):
        if upload.body.get("endpoint") != endpoint:
            continue
        table = pq.read_table(ctx.artifacts.local_path(upload.body["sha256"]))
        labels.update(zip(table["row_id"].to_pylist(), table["label"].to_pylist(), strict=True))
    return labels


def _cast_label(value: Any, sample: Any) -> Any:
    """``value`` as the type of ``sample`` (a model class); ValueError when it is not one."""
    if isinstance(sample, str):
        return str(value)
    if isinstance(sample, bool):
        text = str(value).strip().lower()
        if text in ("1", "1.0", "true"):
            return True
        if text in ("0", "0.0", "false"):
            return False
        raise ValueError(f"{value!r} is not a boolean")
    number = float(value)
    if isinstance(sample, int):
        if not number.is_integer():
            raise ValueError(f"{value!r} is not an integer")
        return int(number)
    return number


def like_labels(values: Sequence[Any], labels: Sequence[Any] | None) -> list[Any]:
    """Cast uploaded labels to the type of the model's classes (CSV gives text or numbers).

    Raises:
        InvalidInput: a value that is not of the classes' type (e.g. ``'cat'`` for 0/1).
    """
    if not labels:
        return list(values)
    out = []
    for value in values:
        try:
            out.append(_cast_label(value, labels[0]))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"Label {value!r} is not of the model's class type "
                f"({type(labels[0]).__name__}, classes {list(labels)[:10]})."
            ) from None
    return out


def usable_labels(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None, task: str | None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Pairs whose true label is one of the model's classes (a number for regression),
    cast to the classes' type; plus the true labels that were not.

    Ground truth is uploaded by people (a CSV typed by hand), so one bad value must not
    fail every later monitoring execution of the endpoint: it is left out and reported.
    """
    sample: Any = 0.0 if task == "regression" else (labels[0] if labels else None)
    if sample is None:
        return list(y_true), list(y_pred), []
    classes = set(labels or [])
    true_out, pred_out, bad = [], [], []
    for truth, prediction in zip(y_true, y_pred, strict=True):
        try:
            cast_truth = _cast_label(truth, sample)
            cast_pred = _cast_label(prediction, sample)
        except (TypeError, ValueError):
            bad.append(truth)
            continue
        if task == "regression":
            if not (math.isfinite(cast_truth) and math.isfinite(cast_pred)):
                bad.append(truth)
                continue
        elif cast_truth not in classes or cast_pred not in classes:
            bad.append(truth)
            continue
        true_out.append(cast_truth)
        pred_out.append(cast_pred)
    return true_out, pred_out, bad


def quality_violations(
    constraints: Constraints, metrics: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Concept drift: each model-quality constraint the window's metrics break."""
    found = []
    for name, rule in sorted(constraints.model_quality().items()):
        value = metrics.get(name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if OPERATORS[rule.comparison_operator](value, rule.threshold):
            entry = violation(
                "",
                rule.comparison_operator,
                f"Metric {name} with {value:.4g} was {rule.comparison_operator} "
                f"{rule.threshold:.4g}.",
            )
            entry.pop("feature_name")
            found.append({"metric_name": name, **entry})
    return found


__all__ = [
    "GROUND_TRUTH_KIND",
    "baseline_model_quality",
    "compute_metrics",
    "ground_truth",
    "like_labels",
    "quality_violations",
    "upload_ground_truth",
    "usable_labels",
]
