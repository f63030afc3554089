"""Package namespaces whose names load on first use (PEP 562).

A process that needs one small piece of a package (an endpoint worker serving ONNX needs
``siklus.training``'s signature check, not scikit-learn and skops) must not pay for
importing the rest. A package lists its public names and the module holding each;
``from package import name`` and ``package.name`` then import that module the first time.

Example:
    >>> exports = {"conform": "siklus.training._signature"}
    >>> __getattr__, __dir__ = lazy_exports("siklus.training", exports)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for names held in other modules.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level. A resolved name is
        stored in the package's namespace, so later lookups cost nothing.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
