"""The load and stream jobs: what runs inside the job's own process.

Submitted by :func:`siklus.data.etl.run_load` / :func:`~siklus.data.etl.run_stream_job`;
the job runner imports ``siklus.data.etl._job:run`` by name.
"""

from __future__ import annotations

import json
import os
from typing import Any

from siklus.data.etl._files import LoadStopped, load_files
from siklus.data.etl._redis import stream_redis
from siklus.data.etl._sql import load_sql
from siklus.data.etl._tail import stream_jsonl
from siklus.exceptions import InvalidParameter, SiklusError
from siklus.jobs import JobContext

#: Written next to the job log when the job fails with a siklus error, so the caller
#: raises the same error class with the same message.
ERROR_FILE = "error.json"


def _secret(params: dict[str, Any]) -> str:
    """The connection URL: passed through the environment when it holds a password."""
    variable = params.get("url_env")
    if variable:
        value = os.environ.get(str(variable))
        if not value:
            raise InvalidParameter(
                f"The job's connection URL was not passed to it ({variable} is unset)."
            )
        return value
    return str(params["url"])


def _run(job: JobContext) -> dict[str, Any]:
    p = dict(job.parameters)
    ws = job.workspace
    common: dict[str, Any] = {
        "tags": p.get("tags") or None,
        "job_id": job.job_id,
        "log": job.log,
        "work_dir": job.job_dir,
    }
    connector = p["connector"]
    if connector == "files":
        result = load_files(
            ws, p["location"], p["dataset"], format=p.get("format"),
            incremental=bool(p.get("incremental")), source=p.get("source"),
            memory_limit=p.get("memory_limit"), stop=job.should_stop, **common,
        )  # fmt: skip
    elif connector == "sql":
        result = load_sql(
            ws, _secret(p), p["dataset"], table=p.get("table"), query=p.get("query"),
            watermark=p.get("watermark"), incremental=bool(p.get("incremental")),
            source=p.get("source"), chunk_size=int(p.get("chunk_size") or 10_000),
            memory_limit=p.get("memory_limit"), stop=job.should_stop, **common,
        )  # fmt: skip
    else:
        options: dict[str, Any] = {
            "max_batches": p.get("max_batches"),
            "idle_timeout": p.get("idle_timeout"),
            "poll_interval": float(p.get("poll_interval") or 1.0),
            "should_stop": job.should_stop,
            "batch_size": int(p.get("batch_size") or 1000),
            "source": p.get("source"),
            **common,
        }
        if connector == "jsonl":
            result = stream_jsonl(ws, p["location"], p["dataset"], **options)
        else:
            result = stream_redis(ws, _secret(p), p["stream"], p["dataset"], group=p.get("group"),
                                  json_field=p.get("json_field"), **options)  # fmt: skip
    out = result.to_dict()
    out.pop("version", None)
    out["dataset_version"] = result.version.ref if result.version else None
    return out


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: run one load or stream and report what it stored."""
    try:
        return _run(job)
    except LoadStopped as exc:
        job.log.info("%s; nothing was stored", exc)
        return {"stopped": True}
    except SiklusError as exc:
        record = {"type": type(exc).__name__, "message": exc.message}
        (job.job_dir / ERROR_FILE).write_text(json.dumps(record), encoding="utf-8")
        raise


__all__ = ["ERROR_FILE", "run"]
