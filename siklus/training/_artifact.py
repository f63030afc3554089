"""Model artifacts: a scikit-learn pipeline in skops format plus a manifest.

skops, unlike pickle, refuses to build types it has not been told to trust. siklus trusts
an allow-list (scikit-learn, NumPy, SciPy and plain Python containers) and refuses any
other type with a clear error, so a model file from elsewhere cannot run arbitrary code
on load.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import platform
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio

from siklus.exceptions import InvalidInput, InvalidParameter, UntrustedModel
from siklus.store import Model, WorkspaceContext
from siklus.training._signature import conform
from siklus.training._trust import check_tree_indices, refused_types

#: Libraries whose versions a model manifest records.
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "skops", "pyarrow")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on (for the manifest)."""
    versions = {"python": platform.python_version()}
    for name in (*_LIBRARIES, "siklus"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def skops_manifest(
    *,
    task: str,
    target: str | None,
    classes: list[Any] | None,
    positive_label: Any,
    estimator: str,
    hyperparameters: dict[str, Any],
    signature: list[dict[str, Any]],
    features: Any,
    training_dataset: str | None,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a skops model: one schema for trained and logged models alike.

    ``features`` are rows of the model's input; the first three become the input example
    (missing values as None, times as ISO 8601 text: the manifest is plain JSON).
    """
    head = features.head(3)
    example = [
        {str(column): json_value(value) for column, value in row.items()}
        for row in head.to_dict(orient="records")
    ]
    return {
        "format": "skops",
        "task": task,
        "target": target,
        "classes": classes,
        "positive_label": positive_label,
        "estimator": estimator,
        "hyperparameters": hyperparameters,
        "input_signature": signature,
        "input_example": example,
        "library_versions": library_versions(),
        "training_dataset": training_dataset,
        "metrics": metrics,
    }


def json_value(value: Any) -> Any:
    """One input-example cell as plain JSON: missing as None, a time as ISO 8601 text.

    The manifest is stored as JSON; a ``Timestamp`` or a NumPy scalar would make storing it
    fail, and ISO text is what a request sends and the signature check reads back.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a NumPy scalar
        value = value.item()
        return value.isoformat() if isinstance(value, (datetime.date, datetime.time)) else value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def untrusted_types(path: str | os.PathLike[str], extra_trusted: Iterable[str] = ()) -> list[str]:
    """Types in a skops file that are outside the allow-list."""
    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises several types for a non-skops file
        raise InvalidInput(
            f"{path} is not a readable skops model file ({exc.__class__.__name__}: {exc})."
        ) from exc
    return refused_types(found, extra_trusted)


def load_estimator(path: str | os.PathLike[str], extra_trusted: Iterable[str] = ()) -> Any:
    """Load a skops file, refusing types outside the allow-list.

    Raises:
        UntrustedModel: The file contains a type siklus does not trust.
        InvalidInput: The file is not a skops model file.
    """
    extra = list(extra_trusted)
    refused = untrusted_types(path, extra)
    if refused:
        raise UntrustedModel(
            f"Model file {Path(path).name} contains types outside siklus' allow-list: "
            f"{refused}. Only classes of scikit-learn, NumPy, SciPy, LightGBM and XGBoost "
            "load by default (no functions, nothing that opens files). If you wrote this "
            "file and trust it, pass these names as extra trusted types."
        )
    found = sio.get_untrusted_types(file=path)
    estimator = sio.load(path, trusted=found)
    check_tree_indices(estimator)
    return estimator


def canonical_skops(raw: bytes) -> bytes:
    """Rewrite a skops file so the same estimator always gives the same bytes.

    skops names array members and ``__id__`` fields after ``id()`` (memory addresses) and
    stamps each zip member with the current time, so two identical fits hash differently.
    Here ids are renumbered in the (deterministic) order they appear in ``schema.json``,
    member names follow, and every member gets the zip epoch (1980-01-01) as its time.
    skops loads the result unchanged: ids only pair references within the file.
    """
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        schema = json.loads(source.read("schema.json"))
        members = {name: source.read(name) for name in source.namelist() if name != "schema.json"}
    numbers: dict[int, int] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    value = numbers.setdefault(value, len(numbers) + 1)
                elif key == "file" and isinstance(value, str) and value in members:
                    stem, dot, ext = value.partition(".")
                    if stem.isdigit():
                        value = f"{numbers.setdefault(int(stem), len(numbers) + 1)}{dot}{ext}"
                out[key] = renumber(value)
            return out
        if isinstance(node, list):
            return [renumber(item) for item in node]
        return node

    canonical = renumber(schema)
    renamed: dict[str, bytes] = {}
    for name, data in members.items():
        stem, dot, ext = name.partition(".")
        new = f"{numbers[int(stem)]}{dot}{ext}" if stem.isdigit() and int(stem) in numbers else name
        renamed[new] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as target:
        entries = [("schema.json", json.dumps(canonical, indent=2).encode())]
        entries += sorted(renamed.items())
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return buffer.getvalue()


def save_estimator(ctx: WorkspaceContext, estimator: Any) -> str:
    """Write ``estimator`` as skops into the artifact store; return its sha256.

    The file is canonical (:func:`canonical_skops`): refitting with the same data, code
    and seed gives the same sha256, which is what ``siklus reproduce`` checks.
    """
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        path = Path(tmp) / "model.skops"
        path.write_bytes(canonical_skops(sio.dumps(estimator)))
        return ctx.artifacts.put_file(path)


@dataclass
class LoadedModel:
    """A model ready to predict: the fitted pipeline and its manifest.

    ``predict`` validates input against the manifest's signature first, so callers get
    :class:`InvalidInput` for bad rows rather than a scikit-learn traceback.
    """

    model_id: str | None
    estimator: Any
    manifest: dict[str, Any]

    @property
    def signature(self) -> list[dict[str, Any]]:
        return list(self.manifest["input_signature"])

    @property
    def classes(self) -> list[Any] | None:
        classes = self.manifest.get("classes")
        return list(classes) if classes is not None else None

    def conform(self, frame: pd.DataFrame, *, allow_extra: bool = False) -> pd.DataFrame:
        return conform(frame, self.signature, allow_extra=allow_extra)

    def predict(self, frame: pd.DataFrame, *, allow_extra: bool = False) -> dict[str, Any]:
        """Predictions (and class probabilities for classifiers) as JSON-ready lists."""
        data = self.conform(frame, allow_extra=allow_extra)
        out: dict[str, Any] = {"predictions": self.estimator.predict(data).tolist()}
        if self.classes is not None and hasattr(self.estimator, "predict_proba"):
            proba = self.estimator.predict_proba(data)
            out["probabilities"] = proba.tolist()
            out["classes"] = self.classes
        return out


def load_model(ctx: WorkspaceContext, model: Model) -> LoadedModel:
    """Load a stored model (hash verified, types allow-listed).

    Raises:
        InvalidParameter: The model is a folder written by a training script
            (``"format": "directory"``), which siklus stores but cannot load or serve.
    """
    fmt = model.manifest.get("format", "skops")
    if fmt != "skops":
        raise InvalidParameter(
            f"Model {model.id} ({model.name}) has format {fmt!r}: a folder written by a "
            "training script, stored as a tar.gz artifact (sha256 "
            f"{model.sha256}). siklus evaluates and serves only its own skops models; "
            "unpack the archive and load it with the framework that wrote it."
        )
    path = ctx.artifacts.local_path(model.sha256)
    return LoadedModel(model.id, load_estimator(path), dict(model.manifest))
