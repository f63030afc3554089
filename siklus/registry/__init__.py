"""Model registry: package groups, versions, approval with who/when/why and its history,
model cards, lineage links and the ONNX export of each version.

Example:
    >>> package = register_model(ctx, model.id, "breast-cancer")  # doctest: +SKIP
    >>> approve(ctx, package.ref, reason="recall 0.97 on test", by="ana")  # doctest: +SKIP
    >>> print(render_model_card(get_model_card(ctx, package), "markdown"))  # doctest: +SKIP
"""

from __future__ import annotations

from siklus._lazy import lazy_exports

# Names resolve on first use: an endpoint serving an ONNX export needs its file and its
# output layout, not the exporter (skl2onnx, scikit-learn, skops).
_EXPORTS: dict[str, str] = {
    "CARD_KIND": "siklus.registry._cards",
    "EVENT_KIND": "siklus.registry._history",
    "MISSING_TEXT": "siklus.registry._onnx_export",
    "ONNX_KIND": "siklus.registry._onnx_export",
    "SECTIONS": "siklus.registry._cards",
    "approve": "siklus.registry._registry",
    "build_model_card": "siklus.registry._cards",
    "export_onnx": "siklus.registry._onnx_export",
    "get_model_card": "siklus.registry._cards",
    "get_onnx_export": "siklus.registry._onnx_export",
    "get_package": "siklus.registry._refs",
    "onnx_feed": "siklus.registry._onnx_export",
    "onnx_arrays": "siklus.registry._onnx_export",
    "onnx_outputs": "siklus.registry._onnx_export",
    "package_history": "siklus.registry._history",
    "package_lineage": "siklus.registry._lineage",
    "parse_assignments": "siklus.registry._cards",
    "parse_package_ref": "siklus.registry._refs",
    "read_card_file": "siklus.registry._cards",
    "register_model": "siklus.registry._registry",
    "reject": "siklus.registry._registry",
    "render_model_card": "siklus.registry._cards",
    "require_onnx_file": "siklus.registry._onnx_export",
    "unverified_missing": "siklus.registry._onnx_export",
    "resolve_package": "siklus.registry._refs",
    "update_model_card": "siklus.registry._cards",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
