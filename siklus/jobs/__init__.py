"""Jobs: the one abstraction for long-running work.

ETL, profiling, training, tuning trials, batch transform and monitoring all run as jobs:
a :class:`JobSpec` naming an entrypoint (``"package.module:function"``), a state machine
(``Pending → InProgress → Completed | Failed | Stopped``), a log, metered usage and
outputs, and the resources it holds while it runs (CPUs, memory, GPUs: a job waits,
Pending, until they are free, so the machine is never oversubscribed). Stages plug in
work by naming their entrypoint, so this package imports none of them.

Example:
    >>> from siklus.jobs import JobSpec, LocalExecutor, raise_for_status
    >>> executor = LocalExecutor(WorkspaceContext.open())  # doctest: +SKIP
    >>> job = executor.run(JobSpec(kind="etl", entrypoint="my_pkg.etl:run"))  # doctest: +SKIP
    >>> raise_for_status(job).outputs  # doctest: +SKIP
"""

from __future__ import annotations

from siklus.jobs._admission import Allocation, Holder
from siklus.jobs._context import JobContext, StopFlag, job_dir_for
from siklus.jobs._entrypoint import load_entrypoint, parse_entrypoint
from siklus.jobs._errors import JobStopped, JobTimeout, raise_for_status
from siklus.jobs._local import LocalExecutor
from siklus.jobs._metering import Meter
from siklus.jobs._process import process_alive, process_create_time, signal_group
from siklus.jobs._reconcile import PENDING_TIMEOUT_S, reconcile
from siklus.jobs._resources import RESOURCE_KEYS, Capacity, ResourceRequest
from siklus.jobs._spec import JobSpec

__all__ = [
    "PENDING_TIMEOUT_S",
    "RESOURCE_KEYS",
    "Allocation",
    "Capacity",
    "Holder",
    "JobContext",
    "JobSpec",
    "JobStopped",
    "JobTimeout",
    "LocalExecutor",
    "Meter",
    "ResourceRequest",
    "StopFlag",
    "job_dir_for",
    "load_entrypoint",
    "parse_entrypoint",
    "process_alive",
    "process_create_time",
    "raise_for_status",
    "reconcile",
    "signal_group",
]
