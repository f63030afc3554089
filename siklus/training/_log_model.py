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
from siklus.training._signature import infer_signature

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_EXAMPLE_ROWS = 3


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
            column among them is dropped.
        name: The model's name (letters, digits, ``_.-``).
        target: The column the model predicts, recorded in the manifest.
        positive_label: The positive class of a binary classifier, for metrics.
        training_dataset: A dataset reference (``name`` or ``name:version``) the model
            was trained on: recorded, and linked in the lineage.
        tags: Tags of the model (over the workspace's).

    Returns:
        The stored model (``training_job_id`` None).

    Raises:
        InvalidParameter: A bad name, an unfitted estimator, no example rows.
        InvalidInput: The estimator cannot predict its example rows.
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
    features = example.drop(columns=[target]) if target in example.columns else example
    try:
        estimator.predict(features.head(_EXAMPLE_ROWS))
    except Exception as exc:  # whatever the estimator raises, the user must see it
        raise InvalidInput(
            f"The {type(estimator).__name__} cannot predict its example rows (columns "
            f"{list(features.columns)}): {type(exc).__name__}: {exc}. Give rows with the "
            "columns it was fitted on."
        ) from None
    version = None
    if training_dataset is not None:
        from siklus.data import resolve

        version = resolve(ctx, training_dataset)
    classes = getattr(_final_step(estimator), "classes_", None)
    classes = None if classes is None else pd.Series(classes).tolist()
    task = task_of(estimator, n_classes=len(classes) if classes is not None else None)
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
        signature=infer_signature(features),
        features=features,
        training_dataset=version.ref if version is not None else None,
        metrics={},
    )
    manifest["source"] = "logged"
    model = ctx.store.create_model(
        name=name, sha256=sha, manifest=manifest, training_job_id=None,
        tags=ctx.with_tags(tags),
    )  # fmt: skip
    if version is not None:
        ctx.store.add_lineage(("dataset", version.id), ("model", model.id), "training-data")
    return model


__all__ = ["log_model"]
