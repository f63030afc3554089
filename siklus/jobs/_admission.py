"""Admission: a job process waits here until the machine has room for it, in its turn.

Every job process (not the submitter) admits itself before it moves from Pending to
InProgress, so admission works whichever process or terminal submitted the job. The
state is a folder of small files, each held with an exclusive ``flock`` by the process it
belongs to, under ``<workspace>/.siklus/slots/<host>/``:

``admission.lock``
    Taken exclusively while one process decides; decisions are therefore serial.
``leases/<job id>.json``
    One per admitted job: the CPUs, MiB and GPU indices it holds.
``queue/<created-at µs>-<job id>.json``
    One per waiting job; the name sorts in submission order.

A file counts only while its ``flock`` is held. The kernel drops the lock when the holder
dies, however it dies (SIGKILL, out of memory), so a crashed job never keeps capacity or
its place in line: the next decision sees the file unlocked and deletes it. Locks are
``flock`` (per open file, inherited by forked children and by the script subprocess the
lease is passed to), not ``fcntl`` record locks (per process, lost on any ``close``).

Order is first come, first served by the job's ``created_at``, with reservations: every
older waiting job reserves its whole request out of what is free, and a job may start
only with what is left after those reservations. Jobs that compete for the same resource
therefore start strictly in submission order, and a large job is never starved by small
ones behind it; a younger job that needs none of what an older one waits for (a CPU-only
job behind one waiting for a GPU) starts at once instead of idling the machine. Jobs that
ask for nothing (``cpus=0``, no memory, no GPU) skip the queue. A job that has not yet
written its ticket (its process is still starting) cannot hold back an older one already
queued; process start-up order follows submission order in practice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from siklus.jobs._resources import Capacity, ResourceRequest

_POLL_S = 0.2
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def slots_dir(state_dir: Path, host: str) -> Path:
    """``<state_dir>/slots/<host>/``: one folder per machine, in case the workspace is shared."""
    return state_dir / "slots" / (_UNSAFE.sub("_", host) or "host")


@dataclass(frozen=True)
class Allocation:
    """What an admitted job holds, and how it is told (environment variables).

    Attributes:
        cpus: CPU cores reserved.
        memory_mb: MiB reserved (0: not accounted).
        gpu_ids: Indices of the GPUs reserved for the job alone.
        machine_gpus: GPUs the executor manages; when > 0 the job's
            ``CUDA_VISIBLE_DEVICES`` is narrowed to ``gpu_ids`` (empty if it asked for none).
    """

    cpus: int = 0
    memory_mb: int = 0
    gpu_ids: tuple[int, ...] = ()
    machine_gpus: int = 0

    def env(self) -> dict[str, str]:
        """``SIKLUS_NUM_CPUS``, ``SIKLUS_NUM_GPUS`` and (GPUs managed) ``CUDA_VISIBLE_DEVICES``."""
        env = {"SIKLUS_NUM_CPUS": str(self.cpus), "SIKLUS_NUM_GPUS": str(len(self.gpu_ids))}
        if self.machine_gpus > 0:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in self.gpu_ids)
        return env


class Lease:
    """Capacity held by one job until :meth:`release` (or until its holder dies).

    Pass :meth:`fileno` to subprocesses that do the job's work (``pass_fds``): the lock
    then lasts while any of them lives, so work outliving a killed job process still
    counts against the machine.
    """

    def __init__(self, allocation: Allocation, path: Path | None, handle: IO[str] | None) -> None:
        self.allocation = allocation
        self._path = path
        self._handle = handle

    def fileno(self) -> int | None:
        return None if self._handle is None else self._handle.fileno()

    def release(self) -> None:
        """Give the capacity back (idempotent)."""
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class Ticket:
    """A job's place in line, held (locked) until it is admitted or gives up."""

    def __init__(self, job_id: str, request: ResourceRequest, path: Path, handle: IO[str]) -> None:
        self.job_id = job_id
        self.request = request
        self.path = path
        self._handle: IO[str] | None = handle

    def close(self) -> None:
        """Leave the line (idempotent)."""
        if self._handle is not None:
            self.path.unlink(missing_ok=True)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Waiting:
    """Why a job cannot start yet (for its log)."""

    request: ResourceRequest
    capacity: Capacity
    used: ResourceRequest
    running: int
    ahead: int
    reserved: ResourceRequest

    def describe(self) -> str:
        cap, used = self.capacity, self.used
        in_use = f"{used.cpus}/{cap.cpus} CPU(s)"
        if self.request.memory_mb:
            in_use += f", {used.memory_mb}/{cap.memory_mb} MiB"
        if self.request.gpus:
            in_use += f", {used.gpus}/{cap.gpus} GPU(s)"
        text = (
            f"queued: needs {self.request.describe()}; in use {in_use} by {self.running} "
            f"running job(s)"
        )
        if self.ahead:
            text += f"; {self.ahead} older waiting job(s) reserve {self.reserved.describe()}"
        return text


@dataclass(frozen=True)
class Holder:
    """A live lease or ticket, as :meth:`Admission.snapshot` reports it."""

    job_id: str
    request: ResourceRequest
    gpu_ids: tuple[int, ...] = field(default=())


def _lock(handle: IO[str], *, shared: bool = False, block: bool = True) -> bool:
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if block else fcntl.LOCK_NB)
    try:
        fcntl.flock(handle.fileno(), mode)
    except BlockingIOError:
        return False
    return True


def _hold(path: Path, content: dict[str, Any]) -> IO[str]:
    """Create ``path`` with ``content`` and keep it locked (callers hold the admission lock)."""
    handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - the lock lives as long as it
    handle.write(json.dumps(content))
    handle.flush()
    _lock(handle)
    return handle


def _live(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Files in ``folder`` whose holder lives, oldest name first; the rest are deleted."""
    for path in sorted(folder.glob("*.json")):
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            continue  # released while we listed
        with handle:
            if _lock(handle, shared=True, block=False):
                path.unlink(missing_ok=True)  # nobody holds it: its process is gone
                continue
            try:
                content = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                content = {}
        yield path, content


def _request_of(content: dict[str, Any]) -> ResourceRequest:
    gpus = content.get("gpu_ids")
    return ResourceRequest(
        cpus=int(content.get("cpus", 0)),
        memory_mb=int(content.get("memory_mb", 0)),
        gpus=len(gpus) if isinstance(gpus, list) else int(content.get("gpus", 0)),
    )


class Admission:
    """Admits jobs within a :class:`Capacity`, first come first served, across processes.

    Safe to use from any number of processes and threads: every decision is made under
    one exclusive file lock. Requires ``fcntl.flock`` (Linux, macOS) and a local folder
    (``flock`` on network file systems is unreliable).

    Example:
        >>> capacity = Capacity(cpus=2, memory_mb=4096, gpus=0)
        >>> admission = Admission(folder, capacity)  # doctest: +SKIP
        >>> lease = admission.acquire("job-1", created_at, ResourceRequest())  # doctest: +SKIP
        >>> lease.release()  # doctest: +SKIP

    Args:
        folder: The per-machine state folder (:func:`slots_dir`).
        capacity: What may be handed out at once.
    """

    def __init__(self, folder: Path, capacity: Capacity) -> None:
        self.folder = folder
        self.capacity = capacity
        self._leases = folder / "leases"
        self._queue = folder / "queue"
        self._leases.mkdir(parents=True, exist_ok=True)
        self._queue.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _deciding(self) -> Iterator[None]:
        with open(self.folder / "admission.lock", "a", encoding="utf-8") as handle:
            _lock(handle)
            yield

    def _used(self) -> tuple[ResourceRequest, set[int], int]:
        cpus = memory = 0
        gpu_ids: set[int] = set()
        running = 0
        for _path, content in _live(self._leases):
            held = _request_of(content)
            cpus, memory, running = cpus + held.cpus, memory + held.memory_mb, running + 1
            gpu_ids.update(int(i) for i in content.get("gpu_ids") or [])
        return ResourceRequest(cpus, memory, len(gpu_ids)), gpu_ids, running

    def _fits(
        self, used: ResourceRequest, reserved: ResourceRequest, request: ResourceRequest
    ) -> bool:
        """Whether ``request`` fits in what is neither used nor reserved by older jobs.

        Reservations are taken out per resource, down to zero at most: an older job
        short of GPUs reserves the GPUs, not the CPUs a CPU-only job could use meanwhile
        beyond what that older job itself asks for.
        """
        for key in ("cpus", "memory_mb", "gpus"):
            free = getattr(self.capacity, key) - getattr(used, key)
            left = max(0, free - getattr(reserved, key))
            if getattr(request, key) > left:
                return False
        return True

    def _grant(self, job_id: str, request: ResourceRequest, busy_gpus: set[int]) -> Lease:
        free = [i for i in range(self.capacity.gpus) if i not in busy_gpus]
        allocation = Allocation(
            cpus=request.cpus,
            memory_mb=request.memory_mb,
            gpu_ids=tuple(free[: request.gpus]),
            machine_gpus=self.capacity.gpus,
        )
        path = self._leases / f"{job_id}.json"
        content = {
            "job_id": job_id, "pid": os.getpid(), "cpus": allocation.cpus,
            "memory_mb": allocation.memory_mb, "gpu_ids": list(allocation.gpu_ids),
        }  # fmt: skip
        return Lease(allocation, path, _hold(path, content))

    def enqueue(self, job_id: str, created_at: datetime, request: ResourceRequest) -> Ticket:
        """Take a place in line (by ``created_at``); hold it until admitted or closed."""
        micros = int(created_at.timestamp() * 1_000_000)
        path = self._queue / f"{micros:020d}-{job_id}.json"
        with self._deciding():
            handle = _hold(path, {"job_id": job_id, **request.to_dict()})
        return Ticket(job_id, request, path, handle)

    def try_admit(self, ticket: Ticket) -> Lease | Waiting:
        """One decision: a lease if the request fits beside what older waiting jobs reserve.

        On success the ticket leaves the queue in the same decision, so no younger job
        can see the queue empty before the capacity is taken.
        """
        request = ticket.request
        with self._deciding():
            used, busy_gpus, running = self._used()
            older = [
                _request_of(content)
                for path, content in _live(self._queue)
                if path.name < ticket.path.name
            ]
            reserved = ResourceRequest(
                sum(r.cpus for r in older),
                sum(r.memory_mb for r in older),
                sum(r.gpus for r in older),
            )
            if not self._fits(used, reserved, request):
                return Waiting(request, self.capacity, used, running, len(older), reserved)
            lease = self._grant(ticket.job_id, request, busy_gpus)
            ticket.close()
            return lease

    def acquire(
        self,
        job_id: str,
        created_at: datetime,
        request: ResourceRequest,
        *,
        keep_waiting: Callable[[], bool] = lambda: True,
        on_queued: Callable[[Waiting], None] = lambda _waiting: None,
        poll_interval: float = _POLL_S,
    ) -> Lease | None:
        """Wait in line until ``request`` fits; return the lease, or None if told to give up.

        Args:
            job_id: The job (names its lease and ticket).
            created_at: When the job was submitted; fixes its place in line.
            request: What it needs.
            keep_waiting: Asked between attempts; False gives up (the job was stopped).
            on_queued: Called once, with the reason, if the job has to wait.
            poll_interval: Seconds between attempts.

        Raises:
            InvalidParameter: ``request`` exceeds the whole capacity (it would wait forever).
        """
        self.capacity.check(request)
        if request.is_zero:
            return Lease(Allocation(machine_gpus=self.capacity.gpus), None, None)
        announced = False
        with self.enqueue(job_id, created_at, request) as ticket:
            while True:
                outcome = self.try_admit(ticket)
                if isinstance(outcome, Lease):
                    return outcome
                if not announced:
                    on_queued(outcome)
                    announced = True
                if not keep_waiting():
                    return None
                time.sleep(poll_interval)

    def snapshot(self) -> tuple[list[Holder], list[Holder]]:
        """``(running, waiting)``: live leases, and live tickets in the order they will start."""
        with self._deciding():
            running = [
                Holder(
                    str(content.get("job_id", path.stem)),
                    _request_of(content),
                    tuple(int(i) for i in content.get("gpu_ids") or []),
                )
                for path, content in _live(self._leases)
            ]
            waiting = [
                Holder(str(content.get("job_id", path.stem)), _request_of(content))
                for path, content in _live(self._queue)
            ]
        return running, waiting


__all__ = ["Admission", "Allocation", "Holder", "Lease", "Ticket", "Waiting", "slots_dir"]
