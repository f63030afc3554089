"""Loads and streams as jobs: validate in the caller, run in a job process, raise its error.

A connection URL with a password is never written into the job's parameters (they are
stored): it reaches the job process through an environment variable that exists only
while the job is being started.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from siklus import exceptions
from siklus.data._datasets import check_dataset_name
from siklus.data.etl._job import ERROR_FILE
from siklus.data.etl._locate import filesystem, format_of, is_remote, list_files, normalize
from siklus.data.etl._sql import absolute_sqlite
from siklus.data.etl._state import check_source_name
from siklus.exceptions import InvalidParameter, JobFailed, SiklusError
from siklus.jobs import JobSpec, LocalExecutor, job_dir_for
from siklus.store import DatasetVersion, Job, JobStatus, WorkspaceContext

ENTRYPOINT = "siklus.data.etl._job:run"
LOAD_KIND = "etl-load"
STREAM_KIND = "etl-stream"
_RESOURCES = {"cpus": 1, "memory_mb": 1536}
_MEMORY_LIMIT = "1GB"


def _without_password(url: str) -> str | None:
    """``url`` with its password replaced by ``***``; None when it has no password."""
    scheme, sep, rest = url.partition("://")
    authority = rest.split("/", 1)[0]
    if not sep or "@" not in authority:
        return None
    credentials, host = authority.rsplit("@", 1)
    if ":" not in credentials:
        return None
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}{rest[len(authority) :]}"


@contextmanager
def _url_parameters(url: str) -> Iterator[dict[str, Any]]:
    """Job parameters naming ``url``; a password travels only in the child's environment."""
    shown = _without_password(url)
    if shown is None:
        yield {"url": url}
        return
    variable = f"SIKLUS_ETL_URL_{uuid.uuid4().hex}"
    os.environ[variable] = url
    try:
        yield {"url": shown, "url_env": variable}
    finally:
        os.environ.pop(variable, None)


def job_error(ctx: WorkspaceContext, job: Job) -> Exception:
    """The error a failed or stopped load job raises in its caller."""
    where = f" (job {job.id}; log: {job.log_path})"
    path = job_dir_for(ctx, job.id) / ERROR_FILE
    if job.status == JobStatus.FAILED and path.is_file():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            cls = getattr(exceptions, str(record["type"]), None)
            if isinstance(cls, type) and issubclass(cls, SiklusError):
                return cls(str(record["message"]) + where)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    reason = job.failure_reason or "no reason was recorded"
    return JobFailed(f"Job {job.id} ({job.name}) ended {job.status.value}: {reason}{where}.")


def _finish(ctx: WorkspaceContext, job: Job) -> tuple[Job, DatasetVersion | None]:
    if job.status != JobStatus.COMPLETED:
        raise job_error(ctx, job)
    version = None
    if job.outputs.get("version_id"):
        version = ctx.store.get_dataset_version_by_id(str(job.outputs["version_id"]))
    return job, version


def _submit(
    ctx: WorkspaceContext, spec: JobSpec, wait: bool, on_poll: Callable[[Job], None] | None
) -> tuple[Job, DatasetVersion | None]:
    executor = LocalExecutor(ctx)
    if not wait:
        return executor.submit(spec), None
    return _finish(ctx, executor.run(spec, on_poll=on_poll))


def run_load(
    ctx: WorkspaceContext,
    source: str,
    dataset: str,
    *,
    table: str | None = None,
    query: str | None = None,
    watermark: str | None = None,
    format: str | None = None,
    incremental: bool = False,
    name: str | None = None,
    chunk_size: int = 10_000,
    memory_limit: str | None = None,
    tags: dict[str, str] | None = None,
    wait: bool = True,
    on_poll: Callable[[Job], None] | None = None,
) -> tuple[Job, DatasetVersion | None]:
    """Load files (``source`` a path/glob/URL) or SQL (``table``/``query`` given) as a job.

    The job runs :func:`~siklus.data.etl.load_files` or :func:`~siklus.data.etl.load_sql`
    with these arguments; its outputs hold the :class:`LoadResult` as JSON.

    Example:
        >>> job, version = run_load(ctx, "raw/*.csv", "events", incremental=True)  # doctest: +SKIP

    Returns:
        ``(job, version)``; ``version`` is None when nothing was loaded yet or ``wait``
        is False.

    Raises:
        The same errors as the in-process functions (rebuilt from the job), or
        :class:`~siklus.exceptions.JobFailed` for anything else.
    """
    check_dataset_name(dataset)
    if name is not None:
        check_source_name(name)
    params: dict[str, Any] = {"dataset": dataset, "incremental": incremental, "source": name,
                              "memory_limit": memory_limit or _MEMORY_LIMIT,
                              "tags": dict(tags or {})}  # fmt: skip
    if table is not None or query is not None:
        if (table is None) == (query is None):
            raise InvalidParameter("Give exactly one of table= or query= for a SQL load.")
        if incremental and watermark is None:
            raise InvalidParameter("An incremental SQL load needs watermark=COLUMN.")
        params.update({"connector": "sql", "table": table, "query": query,
                       "watermark": watermark, "chunk_size": chunk_size})  # fmt: skip
        with _url_parameters(absolute_sqlite(source)) as url:
            spec = JobSpec(kind=LOAD_KIND, entrypoint=ENTRYPOINT, name=f"load-{dataset}"[:200],
                           inputs=dict(url), parameters={**params, **url},
                           resources=_RESOURCES, tags=dict(tags or {}))  # fmt: skip
            return _submit(ctx, spec, wait, on_poll)
    if is_remote(filesystem(source)) and source.startswith("memory://"):
        raise InvalidParameter(
            "memory:// files exist only inside one process, so a job cannot read them; "
            "call load_files() in this process instead."
        )
    source = normalize(source)
    format_of("x", format)  # validates the name
    list_files(source, format)  # a missing location fails here, before any job exists
    params.update({"connector": "files", "location": source, "format": format})
    spec = JobSpec(kind=LOAD_KIND, entrypoint=ENTRYPOINT, name=f"load-{dataset}"[:200],
                   inputs={"location": source}, parameters=params, resources=_RESOURCES,
                   tags=dict(tags or {}))  # fmt: skip
    return _submit(ctx, spec, wait, on_poll)


def run_stream_job(
    ctx: WorkspaceContext,
    source: str,
    dataset: str,
    *,
    stream: str | None = None,
    group: str | None = None,
    json_field: str | None = None,
    batch_size: int = 1000,
    max_batches: int | None = None,
    idle_timeout: float | None = None,
    poll_interval: float = 1.0,
    name: str | None = None,
    tags: dict[str, str] | None = None,
    wait: bool = True,
    on_poll: Callable[[Job], None] | None = None,
) -> tuple[Job, DatasetVersion | None]:
    """Run :func:`stream_redis` (``source`` a ``redis://`` URL, ``stream`` its key) or
    :func:`stream_jsonl` (``source`` a file) as a job; stop it with
    ``LocalExecutor(ctx).stop(job.id)`` (the batch in progress is finished first).

    Raises:
        InvalidParameter: A Redis URL without ``stream``, or bad limits.
    """
    check_dataset_name(dataset)
    if name is not None:
        check_source_name(name)
    if max_batches is not None and max_batches < 1:
        raise InvalidParameter(f"max_batches must be at least 1, got {max_batches}.")
    params: dict[str, Any] = {"dataset": dataset, "source": name, "batch_size": batch_size,
                              "max_batches": max_batches, "idle_timeout": idle_timeout,
                              "poll_interval": poll_interval, "tags": dict(tags or {})}  # fmt: skip
    if source.startswith(("redis://", "rediss://", "unix://")):
        if not stream:
            raise InvalidParameter("Reading a Redis URL needs the stream key: stream=KEY.")
        params.update({"connector": "redis", "stream": stream, "group": group,
                       "json_field": json_field})  # fmt: skip
        with _url_parameters(source) as url:
            spec = JobSpec(kind=STREAM_KIND, entrypoint=ENTRYPOINT,
                           name=f"stream-{dataset}"[:200], inputs={**url, "stream": stream},
                           parameters={**params, **url}, resources=_RESOURCES,
                           tags=dict(tags or {}))  # fmt: skip
            return _submit(ctx, spec, wait, on_poll)
    path = os.path.abspath(os.path.expanduser(source))
    params.update({"connector": "jsonl", "location": path})
    spec = JobSpec(kind=STREAM_KIND, entrypoint=ENTRYPOINT, name=f"stream-{dataset}"[:200],
                   inputs={"location": path}, parameters=params, resources=_RESOURCES,
                   tags=dict(tags or {}))  # fmt: skip
    return _submit(ctx, spec, wait, on_poll)


__all__ = ["LOAD_KIND", "STREAM_KIND", "job_error", "run_load", "run_stream_job"]
