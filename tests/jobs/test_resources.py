"""Resource requests, machine capacity and admission decisions, in this process.

Admission's locks are ``flock`` locks, which conflict between two open files even in one
process, so separate leases and tickets here behave as separate job processes would.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from siklus.exceptions import InvalidParameter
from siklus.jobs import Capacity, JobSpec, ResourceRequest
from siklus.jobs._admission import Admission, Lease, Waiting

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_request_defaults_to_one_cpu() -> None:
    assert ResourceRequest.parse({}) == ResourceRequest(cpus=1, memory_mb=0, gpus=0)
    assert ResourceRequest.parse(None) == ResourceRequest()
    assert ResourceRequest.parse({"cpus": 2.0, "memory_mb": 512, "gpus": 1}) == ResourceRequest(
        2, 512, 1
    )
    assert ResourceRequest.parse({"cpus": 0}).is_zero


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpu": 2}, "unknown key(s) ['cpu']; the known keys are cpus:"),
        ({"cpus": -1}, "JobSpec.resources['cpus'] must be >= 0, got -1"),
        ({"cpus": 1.5}, "must be a whole number, got 1.5; round it"),
        ({"memory_mb": "1G"}, "['memory_mb'] must be a whole number, got '1G' (str)"),
        ({"gpus": True}, "['gpus'] must be a whole number, got True (bool)"),
    ],
)
def test_bad_requests_say_what_is_wrong(resources: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        ResourceRequest.parse(resources)
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        JobSpec(kind="test", entrypoint="a:b", resources=resources)


def test_capacity_precedence_override_then_environment_then_machine() -> None:
    environ = {"SIKLUS_EXECUTOR_CPUS": "3", "SIKLUS_EXECUTOR_GPUS": "2"}

    capacity = Capacity.resolve({"cpus": 5}, environ=environ)

    assert capacity.cpus == 5
    assert capacity.gpus == 2
    assert capacity.memory_mb == psutil.virtual_memory().total // 2**20
    assert Capacity.resolve(environ={}).cpus == os.cpu_count()
    assert Capacity.resolve(environ=capacity.to_env()) == capacity


def test_bad_capacity_is_refused() -> None:
    with pytest.raises(InvalidParameter, match=r"SIKLUS_EXECUTOR_CPUS='many' is not a whole"):
        Capacity.resolve(environ={"SIKLUS_EXECUTOR_CPUS": "many"})
    with pytest.raises(InvalidParameter, match=r"unknown key\(s\) \['cores'\]"):
        Capacity.resolve({"cores": 2})


def test_requests_larger_than_the_machine_are_refused() -> None:
    capacity = Capacity(cpus=2, memory_mb=1000, gpus=0)
    capacity.check(ResourceRequest(2, 1000, 0))

    with pytest.raises(InvalidParameter, match=r"asks for 1 GPU\(s\) but this machine has no GPU"):
        capacity.check(ResourceRequest(gpus=1))
    with pytest.raises(InvalidParameter, match=r"asks for 3 CPU\(s\) \(cpus\) but the local"):
        capacity.check(ResourceRequest(cpus=3))
    with pytest.raises(InvalidParameter, match=r"2000 MiB \(memory_mb\).*SIKLUS_EXECUTOR_MEMORY"):
        capacity.check(ResourceRequest(memory_mb=2000))


@pytest.fixture
def admission(tmp_path: Path) -> Admission:
    return Admission(tmp_path / "slots", Capacity(cpus=2, memory_mb=1000, gpus=2))


def admit(admission: Admission, job_id: str, seconds: float, request: ResourceRequest) -> Lease:
    with admission.enqueue(job_id, at(seconds), request) as ticket:
        lease = admission.try_admit(ticket)
    assert isinstance(lease, Lease), lease
    return lease


def test_admits_while_it_fits_and_hands_out_distinct_gpus(admission: Admission) -> None:
    first = admit(admission, "a", 0, ResourceRequest(cpus=1, memory_mb=400, gpus=1))
    second = admit(admission, "b", 1, ResourceRequest(cpus=1, memory_mb=400, gpus=1))

    assert first.allocation.gpu_ids == (0,) and second.allocation.gpu_ids == (1,)
    assert second.allocation.env() == {
        "SIKLUS_NUM_CPUS": "1", "SIKLUS_NUM_GPUS": "1", "CUDA_VISIBLE_DEVICES": "1",
    }  # fmt: skip
    with admission.enqueue("c", at(2), ResourceRequest(cpus=0, memory_mb=300)) as ticket:
        waiting = admission.try_admit(ticket)
        assert isinstance(waiting, Waiting)
        assert "needs 0 CPU(s), 300 MiB; in use 2/2 CPU(s), 800/1000 MiB by 2 running" in (
            waiting.describe()
        )
        first.release()
        third = admission.try_admit(ticket)
    assert isinstance(third, Lease)
    assert third.allocation.env()["CUDA_VISIBLE_DEVICES"] == ""  # asked for no GPU
    second.release()
    third.release()


def test_first_come_first_served(admission: Admission) -> None:
    holder = admit(admission, "holder", 0, ResourceRequest(cpus=1))
    big = admission.enqueue("big", at(1), ResourceRequest(cpus=2))
    small = admission.enqueue("small", at(2), ResourceRequest(cpus=1))

    # One CPU is free and "small" would fit, but "big" came first: nobody overtakes.
    blocked = admission.try_admit(small)
    assert isinstance(blocked, Waiting) and blocked.ahead == 1
    assert isinstance(admission.try_admit(big), Waiting)
    running, waiting = admission.snapshot()
    assert [h.job_id for h in running] == ["holder"]
    assert [h.job_id for h in waiting] == ["big", "small"]

    holder.release()
    granted = admission.try_admit(big)
    assert isinstance(granted, Lease)
    assert [h.job_id for h in admission.snapshot()[1]] == ["small"]
    small.close()
    granted.release()


def test_a_job_that_needs_none_of_what_an_older_one_waits_for_starts(
    admission: Admission,
) -> None:
    gpu_holder = admit(admission, "a", 0, ResourceRequest(cpus=1, gpus=2))
    gpu_waiter = admission.enqueue("b", at(1), ResourceRequest(cpus=1, gpus=1))
    cpu_only = admission.enqueue("c", at(2), ResourceRequest(cpus=0, memory_mb=500))
    cpu_greedy = admission.enqueue("d", at(3), ResourceRequest(cpus=1))

    # "c" asks for memory only: it starts beside the waiting GPU job. "d" would take the
    # CPU that "b" has reserved, so it waits behind "b".
    started = admission.try_admit(cpu_only)
    assert isinstance(started, Lease)
    blocked = admission.try_admit(cpu_greedy)
    assert isinstance(blocked, Waiting)
    assert blocked.describe().endswith("1 older waiting job(s) reserve 1 CPU(s), 1 GPU(s)")
    for held in (gpu_holder, started):
        held.release()
    gpu_waiter.close()
    cpu_greedy.close()


def test_a_dead_holder_frees_its_capacity_and_its_place(admission: Admission) -> None:
    holder = admit(admission, "holder", 0, ResourceRequest(cpus=2))
    dead_ticket = admission.enqueue("dead", at(1), ResourceRequest(cpus=2))
    alive = admission.enqueue("alive", at(2), ResourceRequest(cpus=1))
    assert isinstance(admission.try_admit(alive), Waiting)

    # What the kernel does when a process dies: its files close, its locks go. The
    # files themselves stay behind.
    holder._handle.close()  # type: ignore[union-attr]
    dead_ticket._handle.close()  # type: ignore[union-attr]

    lease = admission.try_admit(alive)
    assert isinstance(lease, Lease)
    assert sorted(p.name for p in admission.folder.rglob("*.json")) == ["alive.json"]
    lease.release()


def test_empty_requests_skip_the_queue(admission: Admission) -> None:
    holder = admit(admission, "holder", 0, ResourceRequest(cpus=2))
    with admission.enqueue("waiting", at(1), ResourceRequest(cpus=1)):
        lease = admission.acquire("coordinator", at(2), ResourceRequest(cpus=0))

    assert lease is not None and lease.fileno() is None
    assert lease.allocation.env()["SIKLUS_NUM_CPUS"] == "0"
    holder.release()


def test_acquire_gives_up_when_told(admission: Admission) -> None:
    holder = admit(admission, "holder", 0, ResourceRequest(cpus=2))
    reasons: list[str] = []

    lease = admission.acquire(
        "late", at(1), ResourceRequest(cpus=1),
        keep_waiting=lambda: False, on_queued=lambda w: reasons.append(w.describe()),
    )  # fmt: skip

    assert lease is None
    assert len(reasons) == 1 and reasons[0].startswith("queued: needs 1 CPU(s)")
    assert admission.snapshot()[1] == []  # its ticket is gone
    holder.release()
