"""Pooled connections must not cross ``fork()``.

A child forked while its parent holds pooled connections (``multiprocessing`` with the
fork start method, a server's pre-fork workers) would otherwise share the parent's
sockets and SQLite file handles, and the two processes' statements would interleave on
one connection. The child instead forgets the parent's connections without closing
them (closing would end the parent's sessions) and opens its own, as SQLAlchemy
recommends (``Engine.dispose(close=False)``).
"""

from __future__ import annotations

import os
import weakref

import sqlalchemy as sa

_engines: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def forget_connections_after_fork(engine: sa.Engine) -> sa.Engine:
    """Register ``engine`` so a forked child starts with an empty pool; return it."""
    _engines.add(engine)
    return engine


__all__ = ["forget_connections_after_fork"]
