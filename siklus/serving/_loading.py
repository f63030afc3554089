"""Loading the model behind a variant: native (skops, scikit-learn) or ONNX.

The ONNX runtime path lives in ``siklus.serving._onnx`` (``load_onnx_model(ctx, package)``,
an object with the same ``predict``/``signature``/``classes`` as
:class:`siklus.training.LoadedModel`). It is looked up when needed, so an installation
without it still serves native variants and refuses ``runtime="onnx"`` with a clear error.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from siklus.exceptions import InvalidParameter
from siklus.store import WorkspaceContext

_ONNX_MODULE = "siklus.serving._onnx"


def onnx_available() -> bool:
    """True when the ONNX runtime module of serving is installed."""
    try:
        return importlib.util.find_spec(_ONNX_MODULE) is not None
    except ImportError:
        return False


def load_variant_model(ctx: WorkspaceContext, package_id: str, runtime: str) -> Any:
    """The loaded model of a package: ``LoadedModel`` (native) or the ONNX model object.

    Raises:
        InvalidParameter: ``runtime`` is "onnx" and the ONNX module is not available.
        NotFound, UntrustedModel, CorruptArtifact: from loading the stored model.
    """
    package = ctx.store.get_model_package_by_id(package_id)
    if runtime == "onnx":
        if not onnx_available():
            raise InvalidParameter(
                "runtime 'onnx' is not available: siklus.serving._onnx is not installed; "
                "use runtime 'native'."
            )
        module = importlib.import_module(_ONNX_MODULE)
        return module.load_onnx_model(ctx, package)
    # Imported here: scikit-learn and skops cost about a second, which an endpoint that
    # serves only ONNX variants never pays.
    from siklus.training import load_model

    return load_model(ctx, ctx.store.get_model(package.model_id))


__all__ = ["load_variant_model", "onnx_available"]
