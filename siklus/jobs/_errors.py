"""Errors and control-flow signals specific to jobs.

:class:`JobTimeout` is what a caller sees when it stops waiting; :class:`JobStopped` is
what an entrypoint sees when someone stops its job. :func:`raise_for_status` turns a final
job record into an exception for callers that prefer one (``wait`` itself never raises
on a failed job: a failure is a result worth inspecting, not a crash of the waiter).
"""

from __future__ import annotations

from siklus.exceptions import InvalidState, JobFailed, SiklusError
from siklus.store import Job, JobStatus


class JobTimeout(SiklusError, TimeoutError):
    """Waiting for a job took longer than the caller's ``timeout``.

    The job itself keeps running: a timeout ends the wait, not the work.
    """


class JobStopped(BaseException):
    """Raised inside a running entrypoint when its job is asked to stop (SIGTERM).

    It derives from :class:`BaseException`, like :class:`KeyboardInterrupt`, so that an
    entrypoint's broad ``except Exception`` does not swallow the stop request. Catch it
    only to clean up, then re-raise. Entrypoints that poll
    :meth:`~siklus.jobs.JobContext.should_stop` never see it (unless stopped twice).
    """


def raise_for_status(job: Job) -> Job:
    """Return ``job`` if it completed; raise :class:`~siklus.exceptions.JobFailed` otherwise.

    Example:
        >>> job = raise_for_status(executor.wait(job_id))  # doctest: +SKIP

    Args:
        job: A record returned by the executor (``wait``, ``describe``, ``run``).

    Returns:
        The same record, so calls chain.

    Raises:
        JobFailed: The job ended Failed or Stopped; the message carries its reason and
            the log to read.
        InvalidState: The job has not ended yet, so it has no verdict.
    """
    if job.status == JobStatus.COMPLETED:
        return job
    if not job.status.is_final:
        raise InvalidState(
            f"Job {job.id} ({job.name}) is still {job.status.value}; wait for it to end "
            f"(executor.wait({job.id!r})) before checking its result."
        )
    reason = job.failure_reason or "no reason was recorded"
    log = f" See the log: {job.log_path}" if job.log_path else ""
    raise JobFailed(f"Job {job.id} ({job.name}) ended {job.status.value}: {reason}.{log}")


__all__ = ["JobStopped", "JobTimeout", "raise_for_status"]
