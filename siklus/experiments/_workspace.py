"""Which workspace the tracking functions use when the caller passes no ``ctx``.

A training script calls ``log_metric("loss", x)`` without naming a workspace, so the
workspace comes from the ``SIKLUS_*`` environment and the current folder, exactly as
``WorkspaceContext.open()`` resolves it. Opening a store costs a migration check, so
the context is cached per process, keyed by what it was resolved from: a test (or a
script) that changes ``SIKLUS_WORKSPACE`` or the folder gets the matching workspace.
"""

from __future__ import annotations

import os
import threading

from siklus.store import WorkspaceContext

_ENV = ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT")

_lock = threading.Lock()
_contexts: dict[tuple[str | None, ...], WorkspaceContext] = {}


def workspace(ctx: WorkspaceContext | None = None) -> WorkspaceContext:
    """Return ``ctx``, or the process's default workspace (opened once per location)."""
    if ctx is not None:
        return ctx
    key = (os.getcwd(), *(os.environ.get(name) for name in _ENV))
    with _lock:
        found = _contexts.get(key)
        if found is None:
            found = _contexts[key] = WorkspaceContext.open()
        return found


__all__ = ["workspace"]
