"""No oversubscription, end to end: real job processes queue for capacity, in order.

Overlap is read from the records (``started_at`` / ``ended_at``), which the job processes
stamp themselves; capacity is given back only after the final stamp.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from siklus.exceptions import InvalidParameter
from siklus.jobs import JobSpec, LocalExecutor, process_alive, reconcile
from siklus.store import Job, JobStatus, WorkspaceContext

WaitUntil = Callable[..., None]


def spec(function: str, **kwargs: Any) -> JobSpec:
    return JobSpec(kind="test", entrypoint=f"_job_fixtures:{function}", **kwargs)


def overlap(a: Job, b: Job) -> bool:
    assert a.started_at and a.ended_at and b.started_at and b.ended_at
    return a.started_at < b.ended_at and b.started_at < a.ended_at


@pytest.mark.parametrize(
    ("capacity", "resources"),
    [({"cpus": 1}, {"cpus": 1}), ({"cpus": 2, "memory_mb": 1000}, {"memory_mb": 600})],
    ids=["cpus", "memory"],
)
def test_jobs_beyond_capacity_wait_their_turn(
    workspace: WorkspaceContext, capacity: dict[str, int], resources: dict[str, int]
) -> None:
    executor = LocalExecutor(workspace, capacity=capacity)
    jobs = [
        executor.submit(spec("sleep_for", parameters={"seconds": 0.3}, resources=resources))
        for _ in range(2)
    ]
    first, second = (executor.wait(job.id, timeout=30) for job in jobs)

    assert first.status == second.status == JobStatus.COMPLETED
    assert not overlap(first, second)
    queued = [job for job in (first, second) if "queued: needs" in executor.logs(job.id)]
    assert len(queued) == 1


def test_jobs_within_capacity_run_side_by_side(workspace: WorkspaceContext, tmp_path: Path) -> None:
    executor = LocalExecutor(workspace, capacity={"cpus": 2})
    folder = tmp_path / "met"
    folder.mkdir()
    jobs = [executor.submit(spec("meet", parameters={"folder": str(folder), "count": 2}))
            for _ in range(2)]  # fmt: skip
    first, second = (executor.wait(job.id, timeout=60) for job in jobs)

    # Each job returns only once both are running, so completing proves they overlapped.
    assert first.status == second.status == JobStatus.COMPLETED, first.failure_reason
    assert overlap(first, second)


def test_request_larger_than_capacity_is_refused_at_submit(workspace: WorkspaceContext) -> None:
    executor = LocalExecutor(workspace, capacity={"cpus": 2, "gpus": 0})

    with pytest.raises(InvalidParameter, match=r"asks for 3 CPU\(s\) \(cpus\) but the local"):
        executor.submit(spec("succeed", resources={"cpus": 3}))
    with pytest.raises(InvalidParameter, match=r"1 GPU\(s\) but this machine has no GPU"):
        executor.submit(spec("succeed", resources={"gpus": 1}))
    assert workspace.store.list_jobs() == []


def test_queued_job_proceeds_when_the_holder_is_killed(
    workspace: WorkspaceContext, wait_until: WaitUntil
) -> None:
    executor = LocalExecutor(workspace, capacity={"cpus": 1})
    holder = executor.submit(spec("sleep_forever"))
    wait_until(lambda: executor.describe(holder.id).status == JobStatus.IN_PROGRESS)
    queued = executor.submit(spec("succeed", parameters={"x": 1}))
    wait_until(lambda: "queued: needs 1 CPU(s)" in executor.logs(queued.id))

    # Queued, with a live process: never failed, however long it waits.
    record = executor.store.get_job(queued.id)
    assert reconcile(executor.store, record, pending_timeout=0.0).status == JobStatus.PENDING
    running, waiting = executor.queue()
    assert [h.job_id for h in running] == [holder.id]
    assert [h.job_id for h in waiting] == [queued.id]

    assert holder.pid is not None
    os.killpg(holder.pid, signal.SIGKILL)  # its lock goes with it

    done = executor.wait(queued.id, timeout=30)
    assert done.status == JobStatus.COMPLETED and done.outputs["doubled"] == 2
    assert executor.describe(holder.id).status == JobStatus.FAILED


def test_queued_jobs_start_in_submission_order(
    workspace: WorkspaceContext, wait_until: WaitUntil, tmp_path: Path
) -> None:
    executor = LocalExecutor(workspace, capacity={"cpus": 1})
    release = tmp_path / "release"
    holder = executor.submit(spec("hold_until_released", parameters={"release": str(release)}))
    wait_until(lambda: "holding" in executor.logs(holder.id))
    later = [executor.submit(spec("sleep_for", parameters={"seconds": 0.05})) for _ in range(3)]
    for job in later:
        wait_until(lambda job=job: "queued" in executor.logs(job.id))

    release.touch()
    done = [executor.wait(job.id, timeout=30) for job in later]

    assert all(job.status == JobStatus.COMPLETED for job in done)
    starts = [job.started_at for job in done]
    assert starts == sorted(starts)  # type: ignore[type-var]


def test_jobs_submitted_by_another_process_share_the_machine(
    workspace: WorkspaceContext, wait_until: WaitUntil, tmp_path: Path, monkeypatch: Any
) -> None:
    # What two `siklus` commands in two terminals do: separate submitting processes.
    monkeypatch.setenv("SIKLUS_EXECUTOR_CPUS", "1")
    executor = LocalExecutor(workspace)
    release = tmp_path / "release"
    holder = executor.submit(spec("hold_until_released", parameters={"release": str(release)}))
    wait_until(lambda: "holding" in executor.logs(holder.id))
    submit = (
        "from siklus.jobs import JobSpec, LocalExecutor\n"
        "from siklus.store import WorkspaceContext\n"
        "spec = JobSpec(kind='test', entrypoint='_job_fixtures:succeed', parameters={'x': 3})\n"
        f"print(LocalExecutor(WorkspaceContext.open({str(workspace.root)!r})).submit(spec).id)\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", submit], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    wait_until(lambda: "queued: needs 1 CPU(s)" in executor.logs(other))

    release.touch()
    done, held = executor.wait(other, timeout=30), executor.wait(holder.id, timeout=30)

    assert done.status == held.status == JobStatus.COMPLETED
    assert done.outputs["doubled"] == 6 and not overlap(held, done)


def test_stopping_a_queued_job(workspace: WorkspaceContext, wait_until: WaitUntil) -> None:
    executor = LocalExecutor(workspace, capacity={"cpus": 1})
    holder = executor.submit(spec("sleep_forever"))
    wait_until(lambda: executor.describe(holder.id).status == JobStatus.IN_PROGRESS)
    queued = executor.submit(spec("succeed", parameters={"x": 1}))
    wait_until(lambda: "queued" in executor.logs(queued.id))

    stopped = executor.stop(queued.id)

    assert stopped.status == JobStatus.STOPPED
    assert stopped.failure_reason == "stopped by user before it started"
    wait_until(lambda: not process_alive(queued.pid, queued.pid_started_at))
    assert "left the queue" in executor.logs(queued.id)
    assert executor.queue()[1] == []
    executor.stop(holder.id)


def test_a_job_sees_its_allocation(workspace: WorkspaceContext, monkeypatch: Any) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    # Two GPUs declared (whatever the machine has) to see the indices handed out.
    executor = LocalExecutor(workspace, capacity={"cpus": 2, "gpus": 2})

    job = executor.run(spec("report_allocation", resources={"cpus": 2, "gpus": 1}), timeout=30)

    assert job.status == JobStatus.COMPLETED, job.failure_reason
    assert job.outputs == {
        "env": {
            "SIKLUS_NUM_CPUS": "2", "SIKLUS_NUM_GPUS": "1", "CUDA_VISIBLE_DEVICES": "0",
            "OMP_NUM_THREADS": "2", "SIKLUS_EXECUTOR_CPUS": "2",
        },
        "gpu_ids": [0],
        "cpus": 2,
        "lease_fds": 1,
    }  # fmt: skip
