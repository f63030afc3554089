"""Model registry: package groups, versions, approval with who/when/why and its history,
model cards, lineage links and the ONNX export of each version.

Example:
    >>> package = register_model(ctx, model.id, "breast-cancer")  # doctest: +SKIP
    >>> approve(ctx, package.ref, reason="recall 0.97 on test", by="ana")  # doctest: +SKIP
    >>> print(render_model_card(get_model_card(ctx, package), "markdown"))  # doctest: +SKIP
"""

from siklus.registry._cards import (
    CARD_KIND,
    SECTIONS,
    build_model_card,
    get_model_card,
    parse_assignments,
    read_card_file,
    render_model_card,
    update_model_card,
)
from siklus.registry._history import EVENT_KIND, package_history
from siklus.registry._lineage import package_lineage
from siklus.registry._onnx_export import (
    MISSING_TEXT,
    ONNX_KIND,
    export_onnx,
    get_onnx_export,
    onnx_feed,
    onnx_outputs,
    require_onnx_file,
)
from siklus.registry._refs import get_package, parse_package_ref, resolve_package
from siklus.registry._registry import approve, register_model, reject

__all__ = [
    "CARD_KIND",
    "EVENT_KIND",
    "MISSING_TEXT",
    "ONNX_KIND",
    "SECTIONS",
    "approve",
    "build_model_card",
    "export_onnx",
    "get_model_card",
    "get_onnx_export",
    "get_package",
    "onnx_feed",
    "onnx_outputs",
    "package_history",
    "package_lineage",
    "parse_assignments",
    "parse_package_ref",
    "read_card_file",
    "register_model",
    "reject",
    "render_model_card",
    "require_onnx_file",
    "resolve_package",
    "update_model_card",
]
