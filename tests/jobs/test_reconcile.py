"""The liveness rule and the state machine it relies on, without running jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import psutil
import pytest

from siklus.exceptions import InvalidState
from siklus.jobs import process_alive, process_create_time, reconcile
from siklus.jobs._process import this_host
from siklus.store import BaseStore, Job, JobStatus, WorkspaceContext


@pytest.fixture
def store(workspace: WorkspaceContext) -> BaseStore:
    return workspace.store


def _job(store: BaseStore) -> Job:
    return store.create_job(
        name="j", kind="test", entrypoint="_job_fixtures:succeed",
        inputs={}, parameters={}, resources={}, tags={},
    )  # fmt: skip


def _claimed(
    store: BaseStore,
    pid: int,
    started_at: float | None,
    *,
    host: str | None = None,
    status: JobStatus = JobStatus.IN_PROGRESS,
) -> Job:
    """A job as its process would leave it after claiming it."""
    job = store.transition_job(
        _job(store).id, JobStatus.IN_PROGRESS,
        pid=pid, pid_started_at=started_at, host=host or this_host(),
    )  # fmt: skip
    if status != JobStatus.IN_PROGRESS:
        job = store.transition_job(job.id, status)
    return job


def _dead_pid() -> tuple[int, float]:
    """The pid and start time of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started_at = process_create_time(proc.pid)
    proc.wait()
    assert started_at is not None
    return proc.pid, started_at


def _me() -> tuple[int, float]:
    pid = os.getpid()
    started_at = process_create_time(pid)
    assert started_at is not None
    return pid, started_at


def test_live_process_keeps_job_running(store: BaseStore) -> None:
    job = _claimed(store, *_me())

    assert reconcile(store, job) == job


def test_dead_process_fails_job(store: BaseStore) -> None:
    pid, started_at = _dead_pid()
    job = _claimed(store, pid, started_at)
    store.update_job(job.id, log_path="/tmp/ws/.siklus/jobs/x/log.txt")

    result = reconcile(store, store.get_job(job.id))

    assert result.status == JobStatus.FAILED
    assert result.ended_at is not None
    assert result.failure_reason is not None
    assert result.failure_reason.startswith(
        f"job process {pid} died without reporting a result (killed by a signal such as "
        "SIGKILL, out of memory, or a machine restart;"
    )
    assert result.failure_reason.endswith("; see log /tmp/ws/.siklus/jobs/x/log.txt")


def test_reused_pid_fails_job(store: BaseStore) -> None:
    # The pid is alive (it is this test process) but started at another time: the job's
    # own process died and the number was handed to someone else.
    pid, started_at = _me()
    job = _claimed(store, pid, started_at - 1000.0)

    result = reconcile(store, job)

    assert result.status == JobStatus.FAILED
    assert result.failure_reason is not None
    assert f"pid {pid} now belongs to another process" in result.failure_reason
    assert process_alive(pid, started_at)
    assert not process_alive(pid, started_at - 1000.0)


def test_zombie_counts_as_dead_and_is_reaped(
    store: BaseStore, wait_until: Callable[..., None]
) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started_at = process_create_time(proc.pid)
    wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE)
    job = _claimed(store, proc.pid, started_at)

    result = reconcile(store, job)

    assert result.status == JobStatus.FAILED
    assert result.failure_reason is not None
    assert "it exited with code 0" in result.failure_reason
    assert not psutil.pid_exists(proc.pid) or (psutil.Process(proc.pid).create_time() != started_at)
    proc.wait()  # already reaped by reconcile: Popen copes and records the exit


@pytest.mark.parametrize("status", [JobStatus.IN_PROGRESS, JobStatus.STOPPING])
def test_dead_process_after_stop_request_is_stopped(store: BaseStore, status: JobStatus) -> None:
    job = _claimed(store, *_dead_pid(), status=status)
    job = store.update_job(job.id, stop_requested=True)

    result = reconcile(store, job)

    assert result.status == JobStatus.STOPPED
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("stopped by user")


def test_other_hosts_are_not_judged(store: BaseStore) -> None:
    job = _claimed(store, *_dead_pid(), host="some-other-machine")

    assert reconcile(store, job).status == JobStatus.IN_PROGRESS


def test_pending_job_without_process(store: BaseStore) -> None:
    job = _job(store)

    assert reconcile(store, job) == job  # young: the submitter may be about to spawn it
    result = reconcile(store, job, pending_timeout=0.0)
    assert result.status == JobStatus.FAILED
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("job process never started")


def test_queued_job_with_a_live_process_is_left_pending(store: BaseStore) -> None:
    # A job process waiting for capacity has recorded its pid but not claimed the job.
    job = store.update_job(_job(store).id, pid=os.getpid(), pid_started_at=_me()[1],
                           host=this_host())  # fmt: skip

    assert reconcile(store, job, pending_timeout=0.0) == job


def test_pending_job_whose_process_died(store: BaseStore) -> None:
    pid, started_at = _dead_pid()
    job = store.update_job(_job(store).id, pid=pid, pid_started_at=started_at, host=this_host())

    result = reconcile(store, job)

    assert result.status == JobStatus.FAILED
    assert result.failure_reason is not None
    assert f"job process {pid} ended before the job started" in result.failure_reason


def test_stale_record_yields_to_the_stored_result(store: BaseStore) -> None:
    # The job finished (and its process exited) after the caller read its record.
    stale = _claimed(store, *_dead_pid())
    store.transition_job(stale.id, JobStatus.COMPLETED, outputs={"ok": True})

    result = reconcile(store, stale)

    assert result.status == JobStatus.COMPLETED
    assert result.outputs == {"ok": True}


def test_final_jobs_are_left_alone(store: BaseStore) -> None:
    job = _claimed(store, *_dead_pid(), status=JobStatus.COMPLETED)

    assert reconcile(store, job) is job


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], JobStatus.COMPLETED),
        ([], JobStatus.STOPPING),
        ([JobStatus.IN_PROGRESS, JobStatus.COMPLETED], JobStatus.IN_PROGRESS),
        ([JobStatus.IN_PROGRESS, JobStatus.FAILED], JobStatus.STOPPED),
        ([JobStatus.STOPPED], JobStatus.FAILED),
        ([JobStatus.IN_PROGRESS, JobStatus.STOPPING], JobStatus.IN_PROGRESS),
    ],
)
def test_illegal_transitions_raise_invalid_state(
    store: BaseStore, path: list[JobStatus], illegal: JobStatus
) -> None:
    job = _job(store)
    for status in path:
        store.transition_job(job.id, status)

    with pytest.raises(InvalidState, match="cannot go from"):
        store.transition_job(job.id, illegal)


def test_compare_and_set_refuses_unexpected_state(store: BaseStore) -> None:
    job = _job(store)

    with pytest.raises(InvalidState, match="is Pending, not InProgress"):
        store.transition_job(job.id, JobStatus.COMPLETED, expected=JobStatus.IN_PROGRESS)
