"""``ActiveRun``: a run this process is logging into, with a write buffer.

Logging a metric appends to memory (about a microsecond); the buffer reaches the store
as one transaction when it holds :data:`FLUSH_EVERY` points, every
:data:`FLUSH_INTERVAL_S` seconds (the background flusher), at :meth:`ActiveRun.end`, when
a ``with`` block exits (an exception included) and at interpreter exit. So a tight
training loop costs no database round trip per call and a clean exit loses nothing.
What a ``SIGKILL`` interrupts is at most the last second of points.

A failed write keeps the batch in the buffer (in order, ahead of newer points) when the
store was unreachable, so the next flush retries it; a batch the store refuses for good
(the run was ended elsewhere) is dropped with the error.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState, NotFound, StoreError
from siklus.store import (
    MetricTuple,
    Run,
    RunStatus,
    WorkspaceContext,
    check_key,
    metric_step,
    metric_value,
    param_value,
    tag_value,
)

#: Points buffered before a flush is forced (one transaction writes them all).
FLUSH_EVERY = 5000
#: Seconds a logged value may wait in memory before the background flusher writes it.
FLUSH_INTERVAL_S = 1.0
#: Tag holding why a run failed (the exception that ended its ``with`` block).
FAILURE_TAG = "siklus.failure_reason"
_MAX_REASON = 1000

log = logging.getLogger("siklus.experiments")


@dataclass
class _Pending:
    """What was logged since the last flush."""

    points: list[MetricTuple] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    model_id: str | None = None
    since: float | None = None  # monotonic time of the oldest pending entry

    def __bool__(self) -> bool:
        return bool(self.points or self.params or self.tags or self.artifacts or self.model_id)


def _status_for(exc_type: type[BaseException] | None, exc: BaseException | None) -> RunStatus:
    if exc_type is None:
        return RunStatus.COMPLETED
    if issubclass(exc_type, SystemExit):
        return RunStatus.COMPLETED if getattr(exc, "code", None) in (0, None) else RunStatus.FAILED
    # Ctrl-C and a job's stop request (BaseExceptions) interrupt the code, not fail it.
    return RunStatus.FAILED if issubclass(exc_type, Exception) else RunStatus.KILLED


class ActiveRun:
    """A run this process logs into. Use it as a context manager, or call :meth:`end`.

    Thread-safe: several threads may log into one run; each call is atomic.

    Example:
        >>> with start_run("churn", params={"C": 1.0}) as run:  # doctest: +SKIP
        ...     for step, loss in enumerate(losses):
        ...         run.log_metric("loss", loss, step=step)
        ...     run.log_metric("accuracy", 0.93)

    Attributes:
        run_id: The run's id.
        experiment: The experiment's name.
        owned: True when this process started the run and so decides how it ends;
            False for a run attached through ``SIKLUS_RUN_ID`` (ending it only flushes).
    """

    def __init__(self, run: Run, ctx: WorkspaceContext, *, owned: bool = True) -> None:
        self.run_id = run.id
        self.experiment = run.experiment
        self.owned = owned
        self.flush_every = FLUSH_EVERY
        self._ctx = ctx
        self._store = ctx.store
        self._lock = threading.Lock()  # guards the buffer
        self._flush_lock = threading.Lock()  # one write at a time, in logging order
        self._pending = _Pending()
        self._next_step: dict[str, int] = {}
        self._ended = False
        # Set by the tracking functions: the thread stack it sits on, what to undo at end.
        self._stack: list[ActiveRun] | None = None
        self._on_end: list[Callable[[ActiveRun], None]] = []

    def __repr__(self) -> str:
        return (
            f"<ActiveRun {self.run_id} of {self.experiment!r}{'' if self.owned else ' attached'}>"
        )

    @property
    def ended(self) -> bool:
        """True once :meth:`end` has run (logging into the run then raises)."""
        return self._ended

    # -- logging ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._ended:
            raise InvalidState(
                f"Run {self.run_id} has ended; start a new run with start_run() to log more."
            )

    def _touch(self) -> None:
        if self._pending.since is None:
            self._pending.since = time.monotonic()

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Append one point to metric ``key``'s series.

        Args:
            value: Any number (NumPy scalars included); NaN and ±inf are kept.
            step: Position in the series; default: one after this key's last step in
                this process (0 for the first).
        """
        number = value if type(value) is float else metric_value(key, value)
        now = time.time()
        with self._lock:
            self._check_open()
            if key not in self._next_step:
                check_key("metric", key)
                self._next_step[key] = 0
            point_step = self._next_step[key] if step is None else metric_step(key, step)
            self._next_step[key] = point_step + 1
            self._pending.points.append((key, number, point_step, now))
            self._touch()
            full = len(self._pending.points) >= self.flush_every
        if full:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Append one point to each metric, all at the same ``step`` when given."""
        numbers = [(k, v if type(v) is float else metric_value(k, v)) for k, v in metrics.items()]
        now = time.time()
        with self._lock:
            self._check_open()
            points = self._pending.points
            for key, number in numbers:
                if key not in self._next_step:
                    check_key("metric", key)
                    self._next_step[key] = 0
                point_step = self._next_step[key] if step is None else metric_step(key, step)
                self._next_step[key] = point_step + 1
                points.append((key, number, point_step, now))
            self._touch()
            full = len(points) >= self.flush_every
        if full:
            self.flush()

    def log_param(self, key: str, value: Any) -> None:
        """Record a setting of the run (numbers stay numbers, the rest becomes text)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        clean = {check_key("param", k): param_value(k, v) for k, v in params.items()}
        with self._lock:
            self._check_open()
            self._pending.params.update(clean)
            self._touch()

    def set_tag(self, key: str, value: Any) -> None:
        """Label the run (text; e.g. ``model=rf``). Tags can change after the run ends."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        clean = {check_key("tag", k): tag_value(k, v) for k, v in tags.items()}
        with self._lock:
            self._check_open()
            self._pending.tags.update(clean)
            self._touch()

    def log_artifact(self, path: str | os.PathLike[str], *, name: str | None = None) -> str:
        """Copy a file into the workspace's artifact store and attach it to the run.

        Args:
            path: A local file.
            name: The name it has in the run (default: the file's name).

        Returns:
            The file's sha256 (its address in the artifact store).

        Raises:
            InvalidParameter: ``path`` is not a file.
        """
        source = Path(path)
        if not source.is_file():
            raise InvalidParameter(
                f"log_artifact({str(path)!r}): not a file. Pass the path of one file "
                "(log each file of a folder separately)."
            )
        label = check_key("artifact", name or source.name)
        digest = self._ctx.artifacts.put_file(source)
        with self._lock:
            self._check_open()
            self._pending.artifacts[label] = digest
            self._touch()
        return digest

    def set_model(self, model_id: str) -> None:
        """Link the run to the model it produced (a ``Model.id`` of this workspace)."""
        if not isinstance(model_id, str) or not model_id:
            raise InvalidParameter(f"set_model() takes a Model.id string, got {model_id!r}.")
        with self._lock:
            self._check_open()
            self._pending.model_id = model_id
            self._touch()

    # -- writing ---------------------------------------------------------------------
    def due(self, now: float, interval: float = FLUSH_INTERVAL_S) -> bool:
        """Whether the oldest pending entry has waited ``interval`` seconds or more."""
        since = self._pending.since
        return since is not None and now - since >= interval

    def flush(self) -> None:
        """Write everything logged so far, in one transaction.

        Raises:
            StoreError: The store could not be reached; the data stays buffered and the
                next flush retries it.
        """
        with self._flush_lock:
            self._write(None)

    def _write(self, status: RunStatus | None) -> None:
        with self._lock:
            batch, self._pending = self._pending, _Pending()
        if not batch and status is None:
            return
        try:
            self._store.log_run_batch(
                self.run_id,
                metrics=batch.points,
                params=batch.params,
                tags=batch.tags,
                artifacts=batch.artifacts,
                model_id=batch.model_id,
                status=status,
            )
        except StoreError:
            with self._lock:  # keep it, ahead of what was logged meanwhile
                newer = self._pending
                batch.points.extend(newer.points)
                batch.params.update(newer.params)
                batch.tags.update(newer.tags)
                batch.artifacts.update(newer.artifacts)
                batch.model_id = newer.model_id or batch.model_id
                self._pending = batch
            raise
        except (InvalidState, NotFound) as exc:
            log.error("Run %s: dropped %d metric points: %s", self.run_id, len(batch.points), exc)
            raise

    def end(self, status: RunStatus | str = RunStatus.COMPLETED) -> None:
        """Flush, then end the run in ``status`` (the same transaction). Idempotent.

        A run attached through ``SIKLUS_RUN_ID`` belongs to the process that started it:
        ending it here only flushes.

        Args:
            status: ``"Completed"``, ``"Failed"`` or ``"Killed"``.
        """
        final = RunStatus(status)
        if final is RunStatus.RUNNING:
            raise InvalidParameter("end() takes a final status: Completed, Failed or Killed.")
        with self._flush_lock:
            if self._ended:
                return
            self._write(final if self.owned else None)
            with self._lock:
                self._ended = True
        for callback in self._on_end:
            callback(self)

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status = _status_for(exc_type, exc)
        try:
            if exc is not None and status is not RunStatus.COMPLETED and self.owned:
                reason = f"{exc_type.__name__ if exc_type else 'Error'}: {exc}"
                self.set_tag(FAILURE_TAG, reason[:_MAX_REASON])
            self.end(status)
        except Exception:
            if exc is None:
                raise
            # Never hide the exception that ended the block behind a logging error.
            log.exception("Run %s: could not record its end (%s)", self.run_id, status.value)

    # -- after fork --------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        """The child forgets the parent's pending data (the parent writes it) and never
        ends the parent's run."""
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending = _Pending()
        self.owned = False


__all__ = ["FAILURE_TAG", "FLUSH_EVERY", "FLUSH_INTERVAL_S", "ActiveRun"]
