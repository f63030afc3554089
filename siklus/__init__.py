"""siklus: the machine-learning development lifecycle on your own machine.

Start with :class:`Workspace`::

    import siklus
    ws = siklus.Workspace("my-project")
    version, _ = ws.data.ingest("data.csv", name="customers")

Heavy modules load lazily, so ``import siklus`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from siklus.exceptions import SiklusError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from siklus.workspace import Workspace

__all__ = ["SiklusError", "Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Workspace":
        from siklus.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'siklus' has no attribute {name!r}")
