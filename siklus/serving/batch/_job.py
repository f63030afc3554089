"""The batch-transform job entrypoint: what runs inside the job's own process.

Submitted by :func:`siklus.serving.batch.transform` and
:func:`~siklus.serving.batch.resume_transform`; the ``siklus.jobs`` runner imports
``siklus.serving.batch._job:run`` by name, so ``jobs`` never imports ``serving``.
"""

from __future__ import annotations

from typing import Any

from siklus.jobs import JobContext
from siklus.serving.batch._engine import execute
from siklus.serving.batch._transforms import KIND


def run(job: JobContext) -> dict[str, Any]:
    """Run one attempt of the transform named by ``parameters["transform_id"]``."""
    ws = job.workspace
    transform_id = str(job.parameters["transform_id"])
    record = dict(ws.store.get_resource(KIND, transform_id).body)
    job.log.info(
        "batch transform %s: model package %s over %s, %d rows per chunk, %d worker(s)",
        transform_id, record["model_package"], record["input"]["ref"], record["chunk_rows"],
        record["workers"],
    )  # fmt: skip
    return execute(ws, record, job_id=job.job_id, log=job.log, should_stop=job.should_stop)
