"""The liveness rule: a job whose process died is marked ended the next time anyone looks.

A job process records its own result, but a process killed by SIGKILL, the kernel's
out-of-memory killer or a reboot cannot. Rather than a watchdog daemon, every read through
the executor (``describe``, ``list``, ``wait``) passes the record through :func:`reconcile`,
which compares it with the operating system and writes down what must have happened.
"""

from __future__ import annotations

from datetime import UTC, datetime

from siklus.exceptions import InvalidState
from siklus.jobs._process import probe_process, this_host
from siklus.store import BaseStore, Job, JobStatus

#: A Pending job with no recorded process after this long was never launched.
PENDING_TIMEOUT_S = 60.0

_CAUSES = "killed by a signal such as SIGKILL, out of memory, or a machine restart"


def _log_hint(job: Job) -> str:
    return f"; see log {job.log_path}" if job.log_path else ""


def _verdict(job: Job, pending_timeout: float) -> tuple[JobStatus, str] | None:
    """The status and reason ``job`` should move to, or None when it may still be fine."""
    if job.status == JobStatus.PENDING and job.pid is None:
        age = (datetime.now(UTC) - job.created_at).total_seconds()
        if age <= pending_timeout:
            return None  # the submitter is still between creating the record and spawning
        if job.stop_requested:
            return JobStatus.STOPPED, "stopped by user before it started"
        return JobStatus.FAILED, (
            f"job process never started: no process was recorded {age:.0f} s after the job "
            "was created (the submitting process probably crashed); submit it again"
        )
    if job.host is not None and job.host != this_host():
        return None  # another machine's process table is not ours to judge
    probe = probe_process(job.pid, job.pid_started_at)
    if probe.alive:
        return None
    if job.stop_requested:
        return JobStatus.STOPPED, (
            f"stopped by user (job process {job.pid} ended without recording it: "
            f"{probe.detail}){_log_hint(job)}"
        )
    if job.status == JobStatus.PENDING:
        return JobStatus.FAILED, (
            f"job process {job.pid} ended before the job started ({probe.detail}); check "
            f"that siklus is importable by the job's Python and the workspace database is "
            f"reachable{_log_hint(job)}"
        )
    return JobStatus.FAILED, (
        f"job process {job.pid} died without reporting a result ({_CAUSES}; "
        f"{probe.detail}){_log_hint(job)}"
    )


def reconcile(store: BaseStore, job: Job, *, pending_timeout: float = PENDING_TIMEOUT_S) -> Job:
    """Return ``job`` as it really is: mark it ended if its process is gone.

    Applies to jobs that are not final and that run on this host (or never got a
    process). InProgress/Stopping jobs whose process is dead (or whose pid now
    belongs to a different process) become Failed, or Stopped when a stop was
    requested; Pending jobs whose process died, or that never got one within
    ``pending_timeout`` seconds, become Failed. A Pending job whose process lives is
    queued for capacity and is left alone however long it has waited: the timeout
    applies only to jobs without a process. The move is a compare-and-set, so a
    job that recorded its own result in the meantime keeps it.

    Example:
        >>> job = reconcile(store, store.get_job(job_id))  # doctest: +SKIP

    Args:
        store: The metadata store holding the job.
        job: A record of the job (possibly stale).
        pending_timeout: Seconds a Pending job may go without a recorded process.

    Returns:
        The up-to-date record (the same one when nothing changed).
    """
    if job.status.is_final:
        return job
    verdict = _verdict(job, pending_timeout)
    if verdict is None:
        return job
    status, reason = verdict
    try:
        return store.transition_job(job.id, status, expected=job.status, failure_reason=reason)
    except InvalidState:
        # The job moved while we looked (it finished, or another reader reconciled it):
        # that newer record is the truth, and it gets the same check.
        # Statuses only move forward, so this recursion is at most a few levels deep.
        fresh = store.get_job(job.id)
        if fresh.status == job.status:
            return fresh
        return reconcile(store, fresh, pending_timeout=pending_timeout)


__all__ = ["PENDING_TIMEOUT_S", "reconcile"]
