"""Bring a model fitted outside siklus (a notebook, another tool) into the workspace.

A training job stores its model with a manifest: the input signature every request is
checked against, an input example, the task and classes, the library versions. A model
fitted elsewhere needs the same to be registered, approved, served and batch-scored like
one siklus trained, so :func:`log_model` writes exactly that, from the fitted estimator
and a few example rows. The model is stored as skops; it must hold only allow-listed
types (:mod:`siklus.training._trust`), because every later load checks them and a model
that cannot be loaded back is no use stored.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from siklus.exceptions import InvalidInput, InvalidParameter, UntrustedModel
from siklus.store import Model, WorkspaceContext
from siklus.training._artifact import save_estimator, skops_manifest, untrusted_types
from siklus.training._estimators import task_of
from siklus.training._signature import conform, infer_signature

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_EXAMPLE_ROWS = 3
#: Example rows kept for checking the ONNX export when no training dataset is on record.
VERIFICATION_ROWS = 256


def _check_fitted(estimator: Any) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not callable(getattr(estimator, "predict", None)):
        raise InvalidParameter(
            f"{type(estimator).__name__} has no predict method; log a fitted estimator or "
            "pipeline (scikit-learn, LightGBM or XGBoost)."
        )
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InvalidParameter(
            f"The {type(estimator).__name__} is not fitted; call fit before logging it."
        ) from None
    except TypeError:  # not a scikit-learn estimator: predicting the example tells
        pass


def _final_step(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _input_columns(estimator: Any, example: pd.DataFrame, target: str | None) -> pd.DataFrame:
    """The example's model input: the columns the estimator was fitted on, in its order.

    A scikit-learn model fitted on a DataFrame knows its columns (``feature_names_in_``)
    and refuses others or another order; the example may be a wider frame (the training
    data with an id column, the target) or list them in another order, so they are taken
    from it by name. Without recorded names, every column but ``target`` is the input.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return example.drop(columns=[target]) if target in example.columns else example
    names = [str(n) for n in names]
    columns = {str(c): c for c in example.columns}
    missing = [n for n in names if n not in columns]
    if missing:
        raise InvalidInput(
            f"The example rows lack column(s) {missing} that the {type(estimator).__name__} "
            f"was fitted on (it expects {names}). Give rows with all of them."
        )
    if target is not None and target in names:
        raise InvalidParameter(
            f"target {target!r} is one of the columns the {type(estimator).__name__} was "
            "fitted on, so it cannot be the column it predicts."
        )
    return example[[columns[n] for n in names]]


def _positive_label(classes: list[Any] | None, label: Any, task: str) -> Any:
    """``label`` as the classifier holds it (1, not "1"), or an error naming the classes.

    Metrics look the positive class up among the labels; a label that is not one of them
    fails only later, in ``siklus evaluate``. Text from the command line ("1", "true",
    "yes") matches the class it spells.
    """
    if label is None:
        return None
    if classes is None:
        raise InvalidParameter(
            f"positive_label {label!r} was given, but the model is a {task.replace('_', ' ')} "
            "model without classes; leave positive_label out."
        )
    label = label.item() if hasattr(label, "item") else label
    for cls in classes:
        if type(cls) is type(label) and cls == label:
            return cls
    text = str(label).strip().lower()
    matches = [cls for cls in classes if str(cls).lower() == text]
    if not matches:  # "1" for the class 1.0
        try:
            number = float(text)
            matches = [
                cls for cls in classes
                if isinstance(cls, (int, float)) and not isinstance(cls, bool) and cls == number
            ]  # fmt: skip
        except ValueError:
            pass
    if len(matches) != 1:
        raise InvalidParameter(
            f"positive_label {label!r} is not one of the model's classes {classes}; give one "
            "of them."
        )
    return matches[0]


def log_model(
    ctx: WorkspaceContext,
    estimator: Any,
    example: pd.DataFrame,
    *,
    name: str,
    target: str | None = None,
    positive_label: Any = None,
    training_dataset: str | None = None,
    tags: dict[str, str] | None = None,
) -> Model:
    """Store a fitted estimator as a siklus model, ready for ``register_model``.

    Args:
        ctx: The workspace.
        estimator: A fitted scikit-learn estimator or pipeline (LightGBM and XGBoost
            scikit-learn models too) that predicts from a DataFrame of the example's
            columns.
        example: Rows of the model's input (a few are enough; the training data is
            fine): the input signature is inferred from them (types, which columns may
            be missing) and the first three are kept as the input example. A ``target``
            column among them is dropped; when the estimator recorded the columns it was
            fitted on, exactly those are taken, in its order (others are ignored).
        name: The model's name (letters, digits, ``_.-``).
        target: The column the model predicts, recorded in the manifest.
        positive_label: The positive class of a binary classifier, for metrics: one of
            its classes, or text that spells one ("1" for 1, "true" for True).
        training_dataset: A dataset reference (``name`` or ``name:version``) the model
            was trained on: recorded, and linked in the lineage.
        tags: Tags of the model (over the workspace's).

    Returns:
        The stored model (``training_job_id`` None).

    Raises:
        InvalidParameter: A bad name, an unfitted estimator, no example rows, a
            ``positive_label`` that is not one of the classes (or given to a regressor).
        InvalidInput: The example lacks a column the estimator was fitted on, or the
            estimator cannot predict its example rows, as given or as siklus sends them
            (typed by the signature).
        UntrustedModel: It holds types outside the allow-list (custom classes or
            functions), so siklus could not load it back.
        NotFound: ``training_dataset`` does not exist.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"Model name {name!r} is not valid: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit."
        )
    _check_fitted(estimator)
    if not isinstance(example, pd.DataFrame) or example.empty:
        raise InvalidParameter(
            "example must be a pandas DataFrame with at least one row of the model's input."
        )
    features = _input_columns(estimator, example, target)
    try:
        estimator.predict(features.head(_EXAMPLE_ROWS))
    except Exception as exc:  # whatever the estimator raises, the user must see it
        raise InvalidInput(
            f"The {type(estimator).__name__} cannot predict its example rows (columns "
            f"{list(features.columns)}): {type(exc).__name__}: {exc}. Give rows with the "
            "columns it was fitted on."
        ) from None
    signature = infer_signature(features)
    # Serving, evaluation and batch scoring send rows as the signature types them (whole
    # numbers as floats, text as objects with NaN, pandas categories as text): the model
    # must predict those too, or it would be stored and fail at its first request.
    try:
        estimator.predict(conform(features.head(_EXAMPLE_ROWS), signature))
    except Exception as exc:
        raise InvalidInput(
            f"The {type(estimator).__name__} predicts the example rows as given but not as "
            f"siklus sends them (numbers as float64, text and categories as Python strings "
            f"with NaN for missing, times as UTC): {type(exc).__name__}: {exc}. Fit it on "
            "such columns, e.g. encode categories inside the pipeline (OneHotEncoder, "
            "OrdinalEncoder) instead of a pandas 'category' dtype."
        ) from None
    version = None
    if training_dataset is not None:
        from siklus.data import resolve

        version = resolve(ctx, training_dataset)
    classes = getattr(_final_step(estimator), "classes_", None)
    classes = None if classes is None else pd.Series(classes).tolist()
    task = task_of(estimator, n_classes=len(classes) if classes is not None else None)
    positive_label = _positive_label(classes, positive_label, task)
    sha = save_estimator(ctx, estimator)
    refused = untrusted_types(ctx.artifacts.local_path(sha))
    if refused:
        raise UntrustedModel(
            f"The model holds types outside siklus' allow-list: {refused}. siklus loads "
            "every model through that list, so it could not serve or evaluate this one. "
            "Build it from classes of scikit-learn, NumPy, SciPy, LightGBM or XGBoost "
            "(custom transformers and functions are not loadable)."
        )
    final = _final_step(estimator)
    manifest = skops_manifest(
        task=task,
        target=target,
        classes=classes,
        positive_label=positive_label,
        estimator=f"{type(final).__module__}.{type(final).__qualname__}",
        hyperparameters={},
        signature=signature,
        features=features,
        training_dataset=version.ref if version is not None else None,
        metrics={},
    )
    manifest["source"] = "logged"
    if version is None:
        manifest["verification_sample"] = _store_sample(ctx, features, signature)
    model = ctx.store.create_model(
        name=name, sha256=sha, manifest=manifest, training_job_id=None,
        tags=ctx.with_tags(tags),
    )  # fmt: skip
    if version is not None:
        ctx.store.add_lineage(("dataset", version.id), ("model", model.id), "training-data")
    return model


def _store_sample(ctx: WorkspaceContext, features: pd.DataFrame, signature: list) -> str:
    """Keep up to :data:`VERIFICATION_ROWS` example rows (in signature form) as a Parquet
    artifact; returns its sha256.

    With no training dataset on record, this is what the ONNX export is compared on
    beyond the three-row input example (``siklus.registry`` reads it).
    """
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    sample = conform(features.head(VERIFICATION_ROWS).reset_index(drop=True), signature)
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        path = Path(tmp) / "sample.parquet"
        pq.write_table(pa.Table.from_pandas(sample, preserve_index=False), path)
        return ctx.artifacts.put_file(path)


__all__ = ["VERIFICATION_ROWS", "log_model"]
