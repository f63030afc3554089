"""The tracking API for any script: :func:`start_run` and module-level ``log_*`` functions.

Each thread has its own stack of active runs (a tuning job may run trials in threads);
the module-level functions act on the top of the calling thread's stack.

**Inside a siklus job.** A process started by siklus for a run has ``SIKLUS_RUN_ID`` in
its environment. When no run is active in the thread, the module-level functions attach
to that run, and so does ``start_run()`` called with neither ``job_id`` nor ``ctx`` (the
arguments siklus' own job code passes when it creates runs): a script written for plain
Python logs into its job's run unchanged. An attached run belongs to the process that
created it: ending it here only flushes what was logged.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from siklus.exceptions import InvalidState, NotFound
from siklus.experiments._active_run import ActiveRun
from siklus.experiments._flusher import flusher, install_hooks
from siklus.experiments._workspace import workspace
from siklus.store import RunStatus, WorkspaceContext

#: The environment variable naming the run a siklus job process logs into.
RUN_ID_ENV = "SIKLUS_RUN_ID"

_local = threading.local()
_lock = threading.Lock()
_attached: dict[tuple[str, str], ActiveRun] = {}
_experiment_ids: dict[tuple[str, str], str] = {}
_env_run: ActiveRun | None = None


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _forget(run: ActiveRun) -> None:
    """Called when a run ends: drop it from the flusher, its thread's stack, the cache."""
    flusher.unregister(run)
    stack = run._stack
    if stack is not None and run in stack:
        stack.remove(run)
    with _lock:
        for key, attached in list(_attached.items()):
            if attached is run:
                del _attached[key]


def _track(run: ActiveRun) -> ActiveRun:
    install_hooks()
    stack = _stack()
    run._stack = stack
    run._on_end.append(_forget)
    stack.append(run)
    flusher.register(run)
    return run


def attach_run(run_id: str, ctx: WorkspaceContext | None = None) -> ActiveRun:
    """Log into an existing ``Running`` run from this process (another process owns it).

    The returned :class:`ActiveRun` buffers and flushes like any other, but ending it
    only flushes: the run's status is its owner's to set. One object per run and
    workspace per process, shared by the threads that ask.

    Raises:
        NotFound: No such run.
        InvalidState: The run has ended.
    """
    ctx = workspace(ctx)
    key = (ctx.database_url, run_id)
    with _lock:
        found = _attached.get(key)
    if found is not None:
        return found
    record = ctx.store.get_run(run_id)
    if record.status.is_final:
        raise InvalidState(
            f"Run {run_id} has ended ({record.status.value}); nothing more can be logged "
            "into it. Start a new run with start_run()."
        )
    with _lock:
        found = _attached.get(key)
        if found is not None:
            return found
        run = _attached[key] = ActiveRun(record, ctx, owned=False)
    run._on_end.append(_forget)
    install_hooks()
    flusher.register(run)
    return run


def _attach_env(run_id: str) -> ActiveRun:
    """:func:`attach_run` for ``SIKLUS_RUN_ID``, with an error that names the variable."""
    try:
        return attach_run(run_id)
    except NotFound:
        raise NotFound(
            f"{RUN_ID_ENV}={run_id!r} names no run in the workspace {workspace().root}; "
            "siklus sets it for job processes. Unset it to start your own runs."
        ) from None
    except InvalidState as exc:
        raise InvalidState(f"{RUN_ID_ENV}={run_id!r}: {exc.message}") from None


def _experiment_id(ctx: WorkspaceContext, name: str) -> str:
    key = (ctx.database_url, name)
    found = _experiment_ids.get(key)
    if found is None:
        found = _experiment_ids[key] = ctx.store.ensure_experiment(name).id
    return found


def _input_ids(ctx: WorkspaceContext, inputs: Mapping[str, Any] | None) -> dict[str, str]:
    """Dataset version ids for ``inputs`` given as ids, ``name[:version]`` refs or records."""
    ids = {}
    for channel, value in (inputs or {}).items():
        if hasattr(value, "id"):
            ids[channel] = str(value.id)
        elif isinstance(value, str) and value.startswith("ds-"):
            ids[channel] = value
        else:
            from siklus.data import resolve  # pyarrow is heavy: only for refs

            ids[channel] = resolve(ctx, str(value)).id
    return ids


def start_run(
    experiment: str = "default",
    *,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    ctx: WorkspaceContext | None = None,
) -> ActiveRun:
    """Start a run in ``experiment`` (created when missing) and make it the active run.

    Use it as a context manager: the run ends ``Completed``, or ``Failed`` (``Killed``
    for Ctrl-C or a job stop) when the block raises, and what was logged is written
    either way.

    In a process started by siklus for a run (``SIKLUS_RUN_ID`` set), with no run active
    in the thread and neither ``job_id`` nor ``ctx`` given, it continues that run instead
    (``params`` and ``tags`` are added to it) and ending it only flushes.

    Example:
        >>> from siklus.experiments import start_run, log_metric
        >>> with start_run("churn", params={"C": 1.0}, tags={"model": "lr"}):  # doctest: +SKIP
        ...     log_metric("accuracy", 0.93)

    Args:
        experiment: The experiment's name.
        name: The run's name (default ``<experiment>-<UTC timestamp>``).
        tags: Text labels, merged over the workspace's tags.
        params: Settings of the run; numbers stay numbers (see ``search_runs``).
        job_id: The siklus job this run records.
        inputs: Channel → dataset version (an id such as ``ds-…``, a ``name[:version]``
            reference, or a ``DatasetVersion``).
        ctx: The workspace (default: from ``SIKLUS_*`` and the current folder).

    Returns:
        The :class:`ActiveRun`.

    Raises:
        NotFound: The job or a dataset version does not exist.
        InvalidParameter: A name, key or value is not allowed.
    """
    env_run = os.environ.get(RUN_ID_ENV)
    if env_run and job_id is None and ctx is None and not _stack():
        run = _attach_env(env_run)
        if params:
            run.log_params(params)
        if tags:
            run.set_tags(tags)
        stack = _stack()
        run._stack = stack
        stack.append(run)
        return run
    ctx = workspace(ctx)
    record = ctx.store.create_run(
        _experiment_id(ctx, experiment),
        name=name,
        params=params,
        tags=ctx.with_tags({k: str(v) for k, v in (tags or {}).items()}),
        job_id=job_id,
        inputs=_input_ids(ctx, inputs),
    )
    return _track(ActiveRun(record, ctx))


def active_run() -> ActiveRun | None:
    """The calling thread's active run; else the run of ``SIKLUS_RUN_ID``; else None."""
    global _env_run
    stack = _stack()
    if stack:
        return stack[-1]
    env_run = os.environ.get(RUN_ID_ENV)
    if not env_run:
        return None
    cached = _env_run  # the fast path of log_metric() in a job's script
    if cached is not None and cached.run_id == env_run and not cached.ended:
        return cached
    _env_run = _attach_env(env_run)
    return _env_run


def _current() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidState(
            "No active run: call siklus.experiments.start_run() first (or use `with "
            "start_run(...) as run:`), then log."
        )
    return run


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point into the active run (see :meth:`ActiveRun.log_metric`)."""
    _current().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _current().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_artifact(path: str | os.PathLike[str], *, name: str | None = None) -> str:
    """Store a file and attach it to the active run; returns its sha256."""
    return _current().log_artifact(path, name=name)


def set_model(model_id: str) -> None:
    _current().set_model(model_id)


def flush() -> None:
    """Write what every active run of this process has buffered."""
    flusher.flush_all()


def end_run(status: RunStatus | str = RunStatus.COMPLETED) -> None:
    """End the active run (a no-op without one)."""
    run = active_run()
    if run is not None:
        run.end(status)


__all__ = [
    "RUN_ID_ENV",
    "active_run",
    "attach_run",
    "end_run",
    "flush",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_model",
    "set_tag",
    "set_tags",
    "start_run",
]
