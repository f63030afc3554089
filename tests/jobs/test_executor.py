"""LocalExecutor end to end: real job processes, real signals, a SQLite workspace."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from siklus.exceptions import InvalidParameter, JobFailed, NotFound, SiklusError
from siklus.jobs import JobSpec, JobTimeout, LocalExecutor, process_alive, raise_for_status
from siklus.store import Job, JobStatus, WorkspaceContext

WaitUntil = Callable[..., None]


def spec(function: str, **kwargs: object) -> JobSpec:
    return JobSpec(kind="test", entrypoint=f"_job_fixtures:{function}", **kwargs)  # type: ignore[arg-type]


def start_running(executor: LocalExecutor, function: str, wait_until: WaitUntil) -> Job:
    job = executor.submit(spec(function))
    wait_until(lambda: executor.describe(job.id).status == JobStatus.IN_PROGRESS)
    return executor.describe(job.id)


def test_completed_job_records_outputs_timestamps_and_usage(
    executor: LocalExecutor, workspace: WorkspaceContext
) -> None:
    seen: list[JobStatus] = []
    job = executor.run(
        spec(
            "succeed",
            name="doubler",
            inputs={"dataset": "iris:1"},
            parameters={"x": 21},
            resources={"cpus": 1, "memory_mb": 512},
            tags={"owner": "ana"},
        ),
        timeout=30,
        on_poll=lambda j: seen.append(j.status),
    )

    assert job.status == JobStatus.COMPLETED, job.failure_reason
    assert job.outputs == {"doubled": 42, "inputs": {"dataset": "iris:1"}, "job_dir_exists": True}
    assert job.name == "doubler"
    assert job.resources == {"cpus": 1, "memory_mb": 512}
    assert job.tags == {"team": "ml", "owner": "ana"}
    assert job.failure_reason is None
    assert job.started_at is not None and job.ended_at is not None
    assert job.created_at <= job.started_at <= job.ended_at
    assert job.wall_seconds is not None and job.wall_seconds > 0
    assert job.cpu_seconds is not None and job.cpu_seconds > 0
    assert job.peak_rss_bytes is not None and job.peak_rss_bytes > 1024 * 1024
    assert job.pid is not None and job.pid_started_at is not None and job.host
    assert job.log_path == str(workspace.root / ".siklus" / "jobs" / job.id / "log.txt")
    log = executor.logs(job.id)
    assert "hello from succeed" in log and "a printed line" in log
    assert seen[-1] == JobStatus.COMPLETED
    assert raise_for_status(job) is job


def test_usage_is_metered_by_the_operating_system(executor: LocalExecutor) -> None:
    mb = 64
    # Submitted together so the three process start-ups overlap.
    baseline = executor.submit(spec("succeed", parameters={"x": 1}))
    burner = executor.submit(spec("burn_cpu", parameters={"seconds": 0.3}))
    hog = executor.submit(spec("allocate", parameters={"mb": mb}))
    baseline, burner, hog = (executor.wait(j.id, timeout=30) for j in (baseline, burner, hog))

    assert burner.status == hog.status == baseline.status == JobStatus.COMPLETED
    assert burner.cpu_seconds is not None and burner.cpu_seconds >= 0.3
    assert burner.wall_seconds is not None and burner.wall_seconds >= 0.3
    allocated = hog.outputs["allocated_bytes"]
    assert allocated == mb * 2**20
    assert hog.peak_rss_bytes is not None and baseline.peak_rss_bytes is not None
    assert hog.peak_rss_bytes > allocated
    assert hog.peak_rss_bytes - baseline.peak_rss_bytes > 0.9 * allocated


def test_failing_job_records_reason_and_traceback(executor: LocalExecutor) -> None:
    job = executor.run(spec("fail"), timeout=30)

    assert job.status == JobStatus.FAILED
    assert job.failure_reason == "ValueError: boom"
    assert job.wall_seconds is not None  # failures are metered too
    log = executor.logs(job.id)
    assert "Traceback (most recent call last)" in log
    assert 'raise ValueError("boom")' in log
    with pytest.raises(JobFailed, match="boom") as info:
        raise_for_status(job)
    assert str(job.log_path) in str(info.value)


def test_the_job_workspace_carries_the_job_tags(executor: LocalExecutor) -> None:
    job = executor.run(spec("report_tags", tags={"owner": "ana"}), timeout=30)

    assert job.outputs["tags"] == {"team": "ml", "owner": "ana"}


def test_outputs_recorded_while_running_survive_a_failure(executor: LocalExecutor) -> None:
    job = executor.run(spec("record_then_fail"), timeout=30)

    assert job.status == JobStatus.FAILED
    assert job.failure_reason == "ValueError: boom after progress"
    assert job.outputs == {"chunks_done": 3}


def test_siklus_error_reason_is_its_message(executor: LocalExecutor) -> None:
    job = executor.run(spec("fail_with_siklus_error"), timeout=30)

    assert job.status == JobStatus.FAILED
    assert job.failure_reason == "Column 'age' is missing; add it to the dataset."


@pytest.mark.parametrize(
    ("entrypoint", "expected"),
    [
        ("_no_such_module_here:run", "module '_no_such_module_here' cannot be found"),
        ("_job_fixtures:no_such_function", "has no attribute 'no_such_function'"),
        ("_job_fixtures:NOT_CALLABLE", "names a int, not a function"),
        ("_job_fixtures:return_list", "returned a list; it must return a dict"),
    ],
)
def test_bad_entrypoint_fails_with_clear_reason(
    executor: LocalExecutor, entrypoint: str, expected: str
) -> None:
    job = executor.run(JobSpec(kind="test", entrypoint=entrypoint), timeout=30)

    assert job.status == JobStatus.FAILED
    assert job.failure_reason is not None and expected in job.failure_reason


def test_sigkilled_job_is_marked_failed_on_next_look(
    executor: LocalExecutor, wait_until: WaitUntil
) -> None:
    job = start_running(executor, "sleep_forever", wait_until)
    assert job.pid is not None

    os.kill(job.pid, signal.SIGKILL)
    wait_until(lambda: executor.describe(job.id).status.is_final)

    job = executor.describe(job.id)
    assert job.status == JobStatus.FAILED
    assert job.failure_reason is not None
    assert f"job process {job.pid} died without reporting a result" in job.failure_reason
    assert str(job.log_path) in job.failure_reason
    assert job.ended_at is not None


def test_stop_running_job(executor: LocalExecutor, wait_until: WaitUntil) -> None:
    job = start_running(executor, "sleep_forever", wait_until)
    wait_until(lambda: "progress 1" in executor.logs(job.id))

    stopped = executor.stop(job.id)

    assert stopped.status == JobStatus.STOPPED
    assert stopped.stop_requested
    assert stopped.failure_reason == "stopped by user"
    assert stopped.wall_seconds is not None  # the job process recorded its own stop
    assert not process_alive(job.pid, job.pid_started_at)
    assert "SIGTERM" in executor.logs(job.id)


def test_stop_cooperative_job_keeps_its_outputs(
    executor: LocalExecutor, wait_until: WaitUntil
) -> None:
    job = start_running(executor, "sleep_until_stopped", wait_until)
    wait_until(lambda: "cooperative job running" in executor.logs(job.id))

    stopped = executor.stop(job.id)

    assert stopped.status == JobStatus.STOPPED
    assert stopped.outputs == {"stopped_cleanly": True}


def test_stop_kills_a_job_that_ignores_sigterm(
    executor: LocalExecutor, wait_until: WaitUntil
) -> None:
    job = start_running(executor, "ignore_sigterm", wait_until)
    wait_until(lambda: "ignoring SIGTERM" in executor.logs(job.id))

    stopped = executor.stop(job.id)  # grace is 1 s in the test workspace

    assert stopped.status == JobStatus.STOPPED
    assert stopped.failure_reason == "stopped by user (killed after the 1 s grace period)"
    assert "SIGKILL" in executor.logs(job.id)
    assert not process_alive(job.pid, job.pid_started_at)


def _pending_job(executor: LocalExecutor) -> Job:
    """A Pending job with no process: what a submitter leaves between record and spawn."""
    return executor.store.create_job(
        name="queued", kind="test", entrypoint="_job_fixtures:succeed",
        inputs={}, parameters={}, resources={}, tags={},
    )  # fmt: skip


def test_stop_pending_job(executor: LocalExecutor) -> None:
    job = _pending_job(executor)

    stopped = executor.stop(job.id)

    assert stopped.status == JobStatus.STOPPED
    assert stopped.stop_requested
    assert stopped.failure_reason == "stopped by user before it started"


def test_stop_right_after_submit_ends_stopped(
    executor: LocalExecutor, wait_until: WaitUntil
) -> None:
    # Whether the process has claimed the job yet or not, the result is the same.
    job = executor.submit(spec("sleep_forever"))

    stopped = executor.stop(job.id)

    assert stopped.status == JobStatus.STOPPED
    wait_until(lambda: not process_alive(job.pid, job.pid_started_at))
    assert executor.describe(job.id).status == JobStatus.STOPPED


def test_stop_ended_job_is_invalid_state(executor: LocalExecutor) -> None:
    job = executor.stop(_pending_job(executor).id)

    with pytest.raises(SiklusError, match=r"has already ended Stopped") as info:
        executor.stop(job.id)
    assert info.value.http_status == 409


def test_wait_times_out_without_stopping_the_job(executor: LocalExecutor) -> None:
    job = _pending_job(executor)

    with pytest.raises(JobTimeout, match=r"still Pending after 0\.2 s") as info:
        executor.wait(job.id, timeout=0.2, poll_interval=0.05)
    assert isinstance(info.value, TimeoutError)
    assert executor.describe(job.id).status == JobStatus.PENDING
    with pytest.raises(InvalidParameter, match="poll_interval"):
        executor.wait(job.id, poll_interval=0)


def test_run_without_wait_returns_the_submitted_job(
    executor: LocalExecutor, wait_until: WaitUntil
) -> None:
    job = executor.run(spec("succeed", parameters={"x": 2}), wait=False)

    assert job.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS)
    assert job.pid is not None
    assert executor.wait(job.id, timeout=30).outputs["doubled"] == 4


def test_list_reconciles_and_filters(executor: LocalExecutor, tmp_path: Path) -> None:
    store = executor.store
    dead = _pending_job(executor)
    # A job claimed by a process that is gone (pid 2**22 + 1 is above the Linux default
    # pid_max, so no process has it).
    store.transition_job(dead.id, JobStatus.IN_PROGRESS, pid=2**22 + 1, host=None)
    waiting = _pending_job(executor)

    in_progress = executor.list(status=JobStatus.IN_PROGRESS)
    everything = {job.id: job.status for job in executor.list(kind="test")}

    assert in_progress == []
    assert everything == {dead.id: JobStatus.FAILED, waiting.id: JobStatus.PENDING}
    assert executor.list(kind="other") == []


def test_describe_unknown_job_is_not_found(executor: LocalExecutor) -> None:
    with pytest.raises(NotFound, match="job-missing"):
        executor.describe("job-missing")
