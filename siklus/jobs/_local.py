"""The default executor: each job is a subprocess of this machine.

The job process is a fresh ``python -m siklus.jobs._runner JOB_ID`` in its own session
(so a Ctrl-C in the submitting terminal does not kill it and a stop reaches everything it
spawned), with the workspace passed through the environment. The submitting process may
exit; the job runs on and records its own result. Whatever it cannot record (a SIGKILL,
an OOM kill) is settled by :func:`~siklus.jobs.reconcile` the next time anyone looks.

The machine is never oversubscribed: each job process waits, Pending, until its
``resources`` are free (:mod:`siklus.jobs._admission`), in submission order, whichever
process submitted it.
"""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState
from siklus.jobs._admission import Admission, Holder, slots_dir
from siklus.jobs._context import job_dir_for
from siklus.jobs._errors import JobTimeout
from siklus.jobs._logs import read_log
from siklus.jobs._process import process_alive, process_create_time, signal_group, this_host
from siklus.jobs._reconcile import reconcile
from siklus.jobs._resources import Capacity, ResourceRequest
from siklus.jobs._spec import JobSpec
from siklus.store import BaseStore, Job, JobStatus, WorkspaceContext

OnPoll = Callable[[Job], None]

_KILL_WAIT_S = 5.0  # after SIGKILL the kernel needs only moments; this is a safety net
_EXIT_POLL_S = 0.05
#: Thread-pool sizes read at import time by BLAS/OpenMP and joblib; set to the job's CPUs
#: (unless the caller set them) so a 1-CPU job does not spin up one thread per core.
_THREAD_ENV = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT",
)  # fmt: skip


class LocalExecutor:
    """Runs jobs as local subprocesses and answers for their state.

    Every method is safe to call from several threads and processes: state lives in the
    metadata store and changes by compare-and-set, never in this object. Two executors on
    the same workspace see the same jobs. Requires a POSIX system (process groups,
    signals, ``getrusage``).

    Example:
        >>> executor = LocalExecutor(WorkspaceContext.open())  # doctest: +SKIP
        >>> job = executor.run(JobSpec(kind="etl", entrypoint="my_pkg.etl:run"))  # doctest: +SKIP
        >>> job.status, job.outputs  # doctest: +SKIP

    Args:
        workspace: The workspace whose store records the jobs and whose
            ``.siklus/jobs/`` folder holds their logs.
        capacity: What jobs may use at once, any of ``{"cpus": n, "memory_mb": m,
            "gpus": g}``; the rest comes from ``SIKLUS_EXECUTOR_CPUS`` /
            ``SIKLUS_EXECUTOR_MEMORY_MB`` / ``SIKLUS_EXECUTOR_GPUS``, else from the
            machine (``os.cpu_count()``, total RAM, ``nvidia-smi -L``). Executors
            sharing a workspace should agree on it: each job is admitted against the
            capacity of the executor that submitted it.

    Raises:
        InvalidParameter: ``capacity`` has an unknown key or a bad value.
    """

    def __init__(
        self, workspace: WorkspaceContext, *, capacity: Mapping[str, Any] | None = None
    ) -> None:
        self.workspace = workspace
        self._capacity_overrides = dict(capacity or {})
        if self._capacity_overrides:
            self.capacity  # noqa: B018 - validate now, not at the first submit

    @cached_property
    def capacity(self) -> Capacity:
        """The resolved capacity (overrides, environment, then the machine)."""
        return Capacity.resolve(self._capacity_overrides)

    @property
    def store(self) -> BaseStore:
        return self.workspace.store

    # -- starting --------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> Job:
        """Record a Pending job and start its process; return without waiting.

        The job process waits (the job stays Pending, its log says "queued") until the
        job's ``resources`` are free, then starts.

        Returns:
            The job record, with ``pid``, ``host`` and ``log_path`` set; it is Failed
            (not raised) if the process could not be started, like any other failure.

        Raises:
            InvalidParameter: The job asks for more CPUs, memory or GPUs than the
                executor's whole capacity (it could never start); nothing is recorded.
        """
        request = ResourceRequest.parse(spec.resources)
        self.capacity.check(request, f"Job {spec.job_name()!r}")
        store = self.store
        job = store.create_job(
            name=spec.job_name(), kind=spec.kind, entrypoint=spec.entrypoint,
            inputs=spec.inputs, parameters=spec.parameters, resources=spec.resources,
            tags=self.workspace.with_tags(spec.tags),
        )  # fmt: skip
        log_path = job_dir_for(self.workspace, job.id) / "log.txt"
        store.update_job(job.id, log_path=str(log_path))
        env = {**os.environ, **self.workspace.to_env(), "PYTHONUNBUFFERED": "1"}
        env.update(self.capacity.to_env())
        if request.cpus > 0:
            for name in _THREAD_ENV:
                env.setdefault(name, str(request.cpus))
        try:
            with open(log_path, "ab") as log_file:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "siklus.jobs._runner", job.id],
                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    env=env, cwd=self.workspace.root, start_new_session=True,
                )  # fmt: skip
        except OSError as exc:
            return store.transition_job(
                job.id, JobStatus.FAILED, expected=JobStatus.PENDING,
                failure_reason=f"could not start the job process with {sys.executable}: {exc}",
            )  # fmt: skip
        started_at = process_create_time(proc.pid)
        # Reap the child as soon as it exits, so no zombie outlives it while this process
        # lives and Popen never warns about a process still running at collection time.
        threading.Thread(target=proc.wait, name=f"siklus-reap-{job.id}", daemon=True).start()
        return store.update_job(job.id, pid=proc.pid, pid_started_at=started_at, host=this_host())

    def run(
        self,
        spec: JobSpec,
        *,
        wait: bool = True,
        timeout: float | None = None,
        poll_interval: float = 0.1,
        on_poll: OnPoll | None = None,
    ) -> Job:
        """Submit ``spec`` and (by default) wait until it ends; see :meth:`wait`."""
        job = self.submit(spec)
        if not wait or job.status.is_final:
            return job
        return self.wait(job.id, timeout=timeout, poll_interval=poll_interval, on_poll=on_poll)

    # -- observing -------------------------------------------------------------------
    def describe(self, job_id: str) -> Job:
        """The job's record after applying the liveness rule (:func:`reconcile`).

        Raises:
            NotFound: No job has that id.
        """
        return reconcile(self.store, self.store.get_job(job_id))

    def refresh(self, job: Job | str) -> Job:
        """A fresh, reconciled record of ``job`` (a possibly stale record, or an id)."""
        return self.describe(job if isinstance(job, str) else job.id)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 0.1,
        on_poll: OnPoll | None = None,
    ) -> Job:
        """Poll until the job ends and return its final record; a failure is not raised.

        Use :func:`~siklus.jobs.raise_for_status` on the result to turn a Failed or
        Stopped job into an exception.

        Args:
            job_id: The job to wait for.
            timeout: Seconds to wait at most; None waits for as long as it takes.
            poll_interval: Seconds between looks at the store.
            on_poll: Called with the reconciled record on every look (progress bars).

        Raises:
            JobTimeout: The job had not ended after ``timeout`` seconds (it keeps running).
            InvalidParameter: ``poll_interval`` is not positive.
            NotFound: No job has that id.
        """
        if poll_interval <= 0:
            raise InvalidParameter(f"poll_interval must be > 0 seconds, got {poll_interval}.")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.describe(job_id)
            if on_poll is not None:
                on_poll(job)
            if job.status.is_final:
                return job
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise JobTimeout(
                    f"Job {job_id} ({job.name}) is still {job.status.value} after {timeout} s. "
                    f"It keeps running: wait again with a larger timeout, read its log with "
                    f"logs({job_id!r}), or stop it with stop({job_id!r})."
                )
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))

    def logs(self, job_id: str, *, tail: int | None = None) -> str:
        """The job's log text (stdout, stderr and ``ctx.log``), or its last ``tail`` lines.

        Raises:
            NotFound: No job has that id.
            InvalidParameter: ``tail`` is negative.
        """
        return read_log(self.store.get_job(job_id).log_path, tail=tail)

    # -- stopping --------------------------------------------------------------------
    def stop(self, job_id: str) -> Job:
        """Stop a job and return its final record (normally Stopped).

        A Pending job is marked Stopped at once (its process will refuse to start it).
        A running job moves to Stopping and gets SIGTERM (its whole process group); after
        the ``job_stop_grace_seconds`` setting it gets SIGKILL. If the process did not
        record the stop itself, it is recorded here. A job that finished on its own in
        the meantime keeps its Completed or Failed result.

        Raises:
            InvalidState: The job has already ended, or runs on another host.
            NotFound: No job has that id.
        """
        job = self.describe(job_id)
        if job.status.is_final:
            raise InvalidState(
                f"Job {job_id} ({job.name}) has already ended {job.status.value}; only "
                "Pending, InProgress or Stopping jobs can be stopped."
            )
        if job.status != JobStatus.PENDING and job.host not in (None, this_host()):
            raise InvalidState(
                f"Job {job_id} runs on host {job.host!r}, not on this one ({this_host()!r}); "
                f"stop it from {job.host!r}: the local executor can only signal processes "
                "on its own machine."
            )
        store = self.store
        job = store.update_job(job_id, stop_requested=True)
        if job.status == JobStatus.PENDING:
            try:
                return store.transition_job(
                    job_id, JobStatus.STOPPED, expected=JobStatus.PENDING,
                    failure_reason="stopped by user before it started",
                )  # fmt: skip
            except InvalidState:
                job = store.get_job(job_id)  # its process claimed it first: stop it running
        if job.status == JobStatus.IN_PROGRESS:
            try:
                job = store.transition_job(job_id, JobStatus.STOPPING, expected=job.status)
            except InvalidState:
                job = store.get_job(job_id)
        if job.status.is_final:
            return job
        return self._terminate(job)

    def _terminate(self, job: Job) -> Job:
        """Signal a Stopping job's process group and make sure the job ends."""
        grace = float(self.workspace.setting("job_stop_grace_seconds"))
        outcome = "stopped by user (the job process ended without recording it)"
        if job.pid is not None and process_alive(job.pid, job.pid_started_at):
            self._note(job, f"stop requested: SIGTERM to process group {job.pid}")
            signal_group(job.pid, signal.SIGTERM)
            if not self._wait_for_exit(job, grace):
                self._note(job, f"still running after {grace:g} s: SIGKILL")
                signal_group(job.pid, signal.SIGKILL)
                self._wait_for_exit(job, _KILL_WAIT_S)
                outcome = f"stopped by user (killed after the {grace:g} s grace period)"
        current = self.store.get_job(job.id)
        if current.status.is_final:
            return current
        try:
            return self.store.transition_job(
                job.id, JobStatus.STOPPED, expected=current.status, failure_reason=outcome
            )
        except InvalidState:
            return self.store.get_job(job.id)

    @staticmethod
    def _wait_for_exit(job: Job, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while process_alive(job.pid, job.pid_started_at):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_EXIT_POLL_S)
        return True

    @staticmethod
    def _note(job: Job, text: str) -> None:
        """Append an executor line to the job log, so the log tells the whole story."""
        if job.log_path is None:
            return
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with open(job.log_path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} siklus executor: {text}\n")

    def queue(self) -> tuple[builtins.list[Holder], builtins.list[Holder]]:
        """``(running, waiting)`` on this machine: who holds capacity, who waits, in order.

        Both come from the job processes' own lock files, so a crashed holder has
        already dropped out. Each entry has ``job_id``, ``request`` and (running)
        ``gpu_ids``.
        """
        folder = slots_dir(self.workspace.state_dir, this_host())
        return Admission(folder, self.capacity).snapshot()

    # -- listing (last: the method name shadows the builtin inside the class body) ----
    def list(
        self, *, kind: str | None = None, status: JobStatus | None = None, limit: int = 100
    ) -> builtins.list[Job]:
        """Jobs newest first, each reconciled, so dead processes show as ended.

        Args:
            kind: Only jobs of this kind.
            status: Only jobs in this status after reconciliation.
            limit: At most this many jobs.
        """
        jobs = [
            reconcile(self.store, job)
            for job in self.store.list_jobs(kind=kind, status=status, limit=limit)
        ]
        if status is not None:
            jobs = [job for job in jobs if job.status == JobStatus(status)]
        return jobs


__all__ = ["LocalExecutor"]
