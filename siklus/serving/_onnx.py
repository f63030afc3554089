"""The ONNX fast path: serve a registered package through onnxruntime.

:func:`load_onnx_model` gives an :class:`OnnxModel` with the interface of
:class:`siklus.training.LoadedModel` (``predict``, ``signature``, ``classes``,
``conform``), so an endpoint with ``"runtime": "onnx"`` swaps one for the other. Every
request is still checked against the manifest's input signature first; only the
arithmetic moves from scikit-learn to onnxruntime. The graph comes from
:func:`siklus.registry.export_onnx` (made at registration, or now if it is missing).

Example:
    >>> model = load_onnx_model(ctx, get_package(ctx, "breast-cancer:1"))  # doctest: +SKIP
    >>> model.predict(frame)["predictions"]  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from siklus.exceptions import InvalidInput, InvalidParameter
from siklus.registry import onnx_outputs, require_onnx_file, unverified_missing
from siklus.store import ModelPackage, WorkspaceContext
from siklus.training import conform

_NO_ONNXRUNTIME = (
    "The ONNX runtime needs onnxruntime: pip install 'siklus[onnx]', or serve with the "
    "native runtime."
)


@dataclass
class OnnxModel:
    """A model package ready to predict with onnxruntime.

    Attributes:
        model_id: The packaged model.
        manifest: The model's manifest (signature, classes, task).
        export: The ``model-onnx`` record: input layout and output names.
        session: The onnxruntime ``InferenceSession`` (thread-safe for ``run``).
    """

    model_id: str
    manifest: dict[str, Any]
    export: dict[str, Any]
    session: Any = field(repr=False)

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
        """Predictions (and class probabilities for classifiers) as JSON-ready lists.

        Raises:
            InvalidInput: The rows do not match the input signature.
        """
        data = self.conform(frame, allow_extra=allow_extra)
        reason = unverified_missing(self.export, self.signature, data)
        if reason is not None:
            raise InvalidInput(reason)
        return self.predict_conformed(data)

    def predict_conformed(self, data: pd.DataFrame) -> dict[str, Any]:
        """``predict`` for rows already returned by :meth:`conform` and checked for
        missing values where the signature does not allow them (no second check).

        For callers that validate rows themselves (an endpoint checks each request as it
        arrives, then predicts a micro-batch): the signature check costs more than the
        ONNX run for a single row.
        """
        out = onnx_outputs(self.export, self.session, data, classes=self.classes)
        if "probabilities" in out and self.classes is not None:
            out["classes"] = self.classes
        else:
            out.pop("probabilities", None)
        return out


def load_onnx_model(ctx: WorkspaceContext, package: ModelPackage, *, threads: int = 1) -> OnnxModel:
    """Load ``package``'s ONNX export into an onnxruntime session.

    Exports the package first when it has no export record yet.

    Args:
        ctx: The workspace.
        package: The registered version to serve.
        threads: onnxruntime's intra-op threads. One by default: an endpoint worker is
            one CPU (scale with workers), and a single row gains nothing from more.

    Raises:
        InvalidParameter: The pipeline does not convert to ONNX (the reason is quoted), or
            onnxruntime is not installed.
        CorruptArtifact: The ``.onnx`` file does not match its recorded hash.
    """
    if importlib.util.find_spec("onnxruntime") is None:  # before any export work
        raise InvalidParameter(_NO_ONNXRUNTIME)
    export, path = require_onnx_file(ctx, package)
    model = ctx.store.get_model(package.model_id)
    return onnx_model_from_file(model.id, dict(model.manifest), export, path, threads=threads)


def onnx_model_from_file(
    model_id: str,
    manifest: dict[str, Any],
    export: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    threads: int = 1,
) -> OnnxModel:
    """An :class:`OnnxModel` over an ``.onnx`` file already resolved and hash-checked.

    What a batch-transform worker uses: the job process resolves the export once (with
    :func:`~siklus.registry.require_onnx_file`), and the workers it spawns open the file
    without importing the store or querying it (a third of a second each).
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise InvalidParameter(_NO_ONNXRUNTIME) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxModel(model_id, manifest, export, session)
