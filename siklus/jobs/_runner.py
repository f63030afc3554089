"""The job process: ``python -m siklus.jobs._runner JOB_ID``.

Started by :class:`~siklus.jobs.LocalExecutor` with the workspace in its environment and
its output going to the job log. It first waits, still Pending, until the machine has
room for the job's ``resources`` (:mod:`siklus.jobs._admission`; the log says "queued"),
then claims the job (Pending → InProgress, compare-and-set, so a job stopped before it
started is never run), calls the entrypoint, and records the result together with the
metered usage in one final transition. The capacity is given back only after that
transition, so a queued job never starts before the record of its predecessor ends.

Stopping: SIGTERM sets the stop flag. An entrypoint that polls ``ctx.should_stop()`` is
left to return on its own; any other is interrupted by :class:`~siklus.jobs.JobStopped`
raised at the next bytecode, but only while the entrypoint is on the stack, so the
bookkeeping around it is never cut in half.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

from siklus.exceptions import InvalidState, SiklusError
from siklus.jobs._admission import Admission, Lease, Waiting, slots_dir
from siklus.jobs._context import JobContext, StopFlag, job_dir_for
from siklus.jobs._entrypoint import load_entrypoint
from siklus.jobs._errors import JobStopped
from siklus.jobs._metering import Meter
from siklus.jobs._process import process_create_time, this_host
from siklus.jobs._resources import Capacity, ResourceRequest
from siklus.store import BaseStore, Job, JobStatus, WorkspaceContext

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MAX_REASON = 2000
_STORE_LOOK_S = 1.0  # how often a queued job checks whether it was stopped


@dataclass(frozen=True)
class _Outcome:
    status: JobStatus
    reason: str | None = None
    #: None keeps whatever the job recorded while running (``store.update_job(outputs=)``),
    #: e.g. the progress of a job that failed or was stopped half-way.
    outputs: dict[str, Any] | None = None


def _on_sigterm(flag: StopFlag, _signum: int, _frame: FrameType | None) -> None:
    repeated = flag.requested
    flag.request()
    if flag.running and (repeated or not flag.cooperative):
        # Interrupt once: the entrypoint's own clean-up (finally blocks) must not be
        # cut short by a later signal.
        flag.running = False
        flag.interrupted = True
        raise JobStopped("the job was asked to stop (SIGTERM)")


def describe_exception(exc: BaseException) -> str:
    """The failure reason for ``exc``: a SiklusError's message already says it all."""
    text = exc.message if isinstance(exc, SiklusError) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _check_outputs(entrypoint: str, result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise TypeError(
            f"entrypoint {entrypoint} returned a {type(result).__name__}; it must return "
            "a dict of JSON values (the job's outputs) or None"
        )
    try:
        return json.loads(json.dumps(result, allow_nan=False))  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"entrypoint {entrypoint} returned outputs that are not JSON-serialisable "
            f"({exc}); return ids or paths of large objects instead of the objects"
        ) from None


def _execute(ctx: JobContext, flag: StopFlag) -> _Outcome:
    """Run the entrypoint and classify how it ended; never raises."""
    stopped = _Outcome(JobStatus.STOPPED)
    if flag.requested:
        return stopped
    entrypoint = ctx.job.entrypoint
    try:
        try:
            flag.running = True  # a stop while importing interrupts the import too
            result = load_entrypoint(entrypoint)(ctx)
        finally:
            flag.running = False
        outputs = _check_outputs(entrypoint, result)
    except JobStopped:
        ctx.log.info("Stopped while running %s.", entrypoint)
        return stopped
    except BaseException as exc:  # the entrypoint is user code: any error is its failure
        ctx.log.error("Job failed: %s", describe_exception(exc), exc_info=True)
        return _Outcome(JobStatus.FAILED, describe_exception(exc))
    if flag.requested and (flag.observed or flag.interrupted):
        ctx.log.info("The entrypoint returned after being asked to stop.")
        return _Outcome(JobStatus.STOPPED, outputs=outputs)
    return _Outcome(JobStatus.COMPLETED, outputs=outputs)


def _finish(
    store: BaseStore, job_id: str, outcome: _Outcome, meter: Meter, log: logging.Logger
) -> int:
    reason = outcome.reason
    if outcome.status == JobStatus.STOPPED:
        by_user = store.get_job(job_id).stop_requested
        reason = "stopped by user" if by_user else (
            "stopped by SIGTERM from outside siklus (e.g. a system shutdown)"
        )  # fmt: skip
    usage = meter.usage()
    try:
        # Usage goes in the same transaction as the final status: a finished job always
        # has its metering, and nobody sees one without the other.
        final = {} if outcome.outputs is None else {"outputs": outcome.outputs}
        store.transition_job(job_id, outcome.status, failure_reason=reason, **final, **usage)
    except InvalidState as exc:
        log.warning("Could not record the result (%s): %s", outcome.status.value, exc)
        return 1
    log.info(
        "Job %s %s: wall %.2f s, cpu %.2f s, peak RSS %.1f MiB.",
        job_id, outcome.status.value, usage["wall_seconds"], usage["cpu_seconds"],
        usage["peak_rss_bytes"] / 2**20,
    )  # fmt: skip
    return 0 if outcome.status != JobStatus.FAILED else 1


def _leave_queue(store: BaseStore, job_id: str, reason: str, status: JobStatus) -> None:
    """End a job that never started; a job already moved on by someone else keeps its state."""
    with contextlib.suppress(InvalidState):
        store.transition_job(job_id, status, expected=JobStatus.PENDING, failure_reason=reason)


def _wait_for_capacity(
    store: BaseStore, workspace: WorkspaceContext, job: Job, flag: StopFlag, log: logging.Logger
) -> tuple[Lease, float] | None:
    """Queue until the job's resources are free; ``(lease, seconds waited)`` or None.

    None means the job must not run: it was stopped while queued, or its request can
    never be met here (then it is marked Failed with the reason).
    """
    try:
        request = ResourceRequest.parse(job.resources)
        capacity = Capacity.resolve()
        capacity.check(request, f"Job {job.id}")
        admission = Admission(slots_dir(workspace.state_dir, this_host()), capacity)
    except SiklusError as exc:
        log.error("Job %s cannot be admitted: %s", job.id, exc.message)
        _leave_queue(store, job.id, describe_exception(exc), JobStatus.FAILED)
        return None
    last_look = time.monotonic()

    def keep_waiting() -> bool:
        nonlocal last_look
        if flag.requested:
            return False
        if time.monotonic() - last_look < _STORE_LOOK_S:
            return True
        last_look = time.monotonic()
        # A stop of a Pending job is recorded in the store, not signalled.
        return store.get_job(job.id).status == JobStatus.PENDING

    def on_queued(waiting: Waiting) -> None:
        log.info("Job %s %s.", job.id, waiting.describe())

    began = time.monotonic()
    lease = admission.acquire(
        job.id, job.created_at, request, keep_waiting=keep_waiting, on_queued=on_queued
    )
    waited = time.monotonic() - began
    if lease is None:
        if flag.requested:
            reason = "stopped by SIGTERM from outside siklus while queued for resources"
            _leave_queue(store, job.id, reason, JobStatus.STOPPED)
        log.info("Job %s left the queue after %.1f s without starting.", job.id, waited)
        return None
    if waited >= _STORE_LOOK_S:
        log.info("Job %s admitted after %.1f s in the queue.", job.id, waited)
    return lease, waited


def main(argv: Sequence[str] | None = None) -> int:
    """Run job ``argv[0]`` of the workspace named by the ``SIKLUS_*`` environment.

    Returns:
        The process exit code: 0 completed or stopped, 1 failed, 2 bad usage.
    """
    pid = os.getpid()
    started_at = process_create_time(pid)
    meter = Meter(process_started_at=started_at)
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m siklus.jobs._runner JOB_ID", file=sys.stderr)
        return 2
    job_id = args[0]
    # Root at WARNING keeps library chatter (migrations, HTTP clients) out of the log;
    # siklus' own loggers, including ctx.log, report progress at INFO.
    logging.basicConfig(level=logging.WARNING, format=_LOG_FORMAT, stream=sys.stderr, force=True)
    logging.getLogger("siklus").setLevel(logging.INFO)
    log = logging.getLogger(f"siklus.job.{job_id}")
    flag = StopFlag()
    # Installed before claiming the job, so no SIGTERM can fall between claim and handler.
    signal.signal(signal.SIGTERM, partial(_on_sigterm, flag))
    workspace = WorkspaceContext.open()
    store = workspace.store
    job = store.get_job(job_id)
    # What the job writes (datasets, models, trial jobs) carries the job's tags, e.g. the
    # project's cost-allocation tags the submitter attached.
    workspace = workspace.child(tags=workspace.with_tags(job.tags))
    if job.status != JobStatus.PENDING:
        log.info("Job %s is %s, not Pending (stopped before it started): not running it.",
                 job_id, job.status.value)  # fmt: skip
        return 0
    # The child records its own pid before queueing, so the record shows a live process
    # (and reconcile leaves the queued job alone) even if the submitter has not written it.
    store.update_job(job_id, pid=pid, pid_started_at=started_at, host=this_host())
    admitted = _wait_for_capacity(store, workspace, job, flag, log)
    if admitted is None:
        return 0
    lease, waited = admitted
    meter.exclude(waited)
    with lease:
        try:
            job = store.transition_job(
                job_id, JobStatus.IN_PROGRESS, expected=JobStatus.PENDING,
                pid=pid, pid_started_at=started_at, host=this_host(),
            )  # fmt: skip
        except InvalidState:
            status = store.get_job(job_id).status.value
            log.info("Job %s is %s, not Pending (stopped before it started): not running it.",
                     job_id, status)  # fmt: skip
            return 0
        allocation = lease.allocation
        # Libraries that read the environment (CUDA, thread pools) see the allocation.
        os.environ.update(allocation.env())
        log.info(
            "Job %s (%s) started: %s in process %d with %s.", job.id, job.name,
            job.entrypoint, pid, ResourceRequest(
                allocation.cpus, allocation.memory_mb, len(allocation.gpu_ids)
            ).describe(),
        )  # fmt: skip
        fd = lease.fileno()
        ctx = JobContext(
            job=job, workspace=workspace, log=log, job_dir=job_dir_for(workspace, job_id),
            stop_flag=flag, allocation=allocation, lease_fds=() if fd is None else (fd,),
        )  # fmt: skip
        outcome = _execute(ctx, flag)
        return _finish(store, job_id, outcome, meter, log)


if __name__ == "__main__":
    sys.exit(main())
