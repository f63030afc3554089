"""Progress of long DuckDB queries in the job log, and stopping them on request.

DuckDB estimates how far a running query is (``query_progress()``); a daemon thread asks
every few seconds and logs one line, which ``siklus jobs logs`` and the CLI's status line
show. The same thread polls the job's stop flag: a query runs in C and would not notice
a stop until it ends, so the thread interrupts the connection instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PROGRESS_PREFIX = "progress:"
_TICK_S = 0.25


@contextmanager
def reporting(
    con: Any,
    log: logging.Logger | None,
    what: str,
    *,
    every: float = 2.0,
    stop: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Log ``progress: <what> NN% (elapsed s)`` every ``every`` seconds until the block ends.

    Args:
        con: The DuckDB connection running the query.
        log: Where to write; None reports nothing.
        what: What the query does, e.g. ``"writing output"``.
        every: Seconds between lines.
        stop: Polled a few times a second; when it returns True the query is interrupted
            (DuckDB then raises ``InterruptException`` in the caller).
    """
    if log is None and stop is None:
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        next_report = started + every
        while not done.wait(_TICK_S):
            try:
                if stop is not None and stop():
                    con.interrupt()
                    return
                if log is None or time.monotonic() < next_report:
                    continue
                next_report += every
                percent = float(con.query_progress())
            except Exception:  # the connection may be closing; progress is best effort
                return
            elapsed = time.monotonic() - started
            if percent >= 0:
                log.info("%s %s %.0f%% (%.0f s)", PROGRESS_PREFIX, what, percent, elapsed)
            else:
                log.info("%s %s (%.0f s)", PROGRESS_PREFIX, what, elapsed)

    thread = threading.Thread(target=watch, name="siklus-recipe-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=_TICK_S + 1)
        if log is not None:
            log.info("%s %s done in %.1f s", PROGRESS_PREFIX, what, time.monotonic() - started)


__all__ = ["PROGRESS_PREFIX", "reporting"]
