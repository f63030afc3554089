"""The process-wide writer behind buffered logging: a timer thread and an exit hook.

One daemon thread per process wakes every ``FLUSH_INTERVAL_S / 4`` seconds and writes
the runs whose oldest pending value has waited ``FLUSH_INTERVAL_S``. At interpreter exit
(``atexit``) every live run is flushed, and each run this process started but did not
end is ended: ``Failed`` when the program is dying of an uncaught exception (seen by a
chained ``sys.excepthook``), ``Killed`` for an uncaught ``KeyboardInterrupt``, else
``Completed``. After ``fork()`` the child starts with its own empty registry and thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from types import TracebackType

from siklus.exceptions import SiklusError
from siklus.experiments._active_run import FLUSH_INTERVAL_S, ActiveRun, log
from siklus.store import RunStatus


class _Flusher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, ActiveRun] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.exit_status = RunStatus.COMPLETED

    def register(self, run: ActiveRun) -> None:
        with self._lock:
            self._runs[id(run)] = run
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="siklus-run-flusher", daemon=True
                )
                self._thread.start()

    def unregister(self, run: ActiveRun) -> None:
        with self._lock:
            self._runs.pop(id(run), None)

    def runs(self) -> list[ActiveRun]:
        with self._lock:
            return list(self._runs.values())

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S / 4):
            now = time.monotonic()
            for run in self.runs():
                if not run.due(now):
                    continue
                try:
                    run.flush()
                except SiklusError as exc:  # kept buffered (or dropped) by flush; go on
                    log.warning("Background flush of run %s failed: %s", run.run_id, exc)
                except Exception:
                    log.exception("Background flush of run %s failed", run.run_id)

    def flush_all(self) -> None:
        """Write every live run's buffer now (so this process reads its own writes)."""
        for run in self.runs():
            run.flush()

    def at_exit(self) -> None:
        self._stop.set()
        for run in self.runs():
            try:
                if run.owned:
                    run.end(self.exit_status)
                else:
                    run.flush()
            except Exception as exc:  # at exit nobody can catch it: say what was lost
                print(
                    f"siklus: could not save run {run.run_id} at exit: {exc}",
                    file=sys.stderr,
                )

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        inherited = list(self._runs.values())
        self._runs = {}
        for run in inherited:
            run._after_fork_in_child()
            self.register(run)


flusher = _Flusher()

_previous_excepthook = sys.excepthook


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    # Runs before atexit when the main thread dies of an exception.
    flusher.exit_status = (
        RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
    )
    _previous_excepthook(exc_type, exc, tb)


_installed = False
_install_lock = threading.Lock()


def install_hooks() -> None:
    """Hook into interpreter exit once, when the first run starts (not at import)."""
    global _installed, _previous_excepthook
    with _install_lock:
        if _installed:
            return
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(flusher.at_exit)
        _installed = True


def _after_fork_in_child() -> None:
    global _install_lock
    _install_lock = threading.Lock()
    with contextlib.suppress(Exception):
        flusher.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["flusher", "install_hooks"]
