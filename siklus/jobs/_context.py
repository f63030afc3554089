"""What an entrypoint receives: :class:`JobContext`, and the stop flag behind it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siklus.jobs._admission import Allocation
from siklus.store import Job, WorkspaceContext


def job_dir_for(workspace: WorkspaceContext, job_id: str) -> Path:
    """Return (creating it) ``<workspace>/.siklus/jobs/<job_id>/``: the job's log and scratch.

    One folder per job keeps what a job writes next to its log, and deleting a job's
    traces is deleting one folder.
    """
    path = workspace.state_dir / "jobs" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


class StopFlag:
    """Whether a stop was requested, and how the running entrypoint reacted to it.

    The job process sets it from its SIGTERM handler; tests of an entrypoint call
    :meth:`request` to simulate a stop without a process.

    Attributes:
        requested: A stop was asked for.
        cooperative: The entrypoint has called ``should_stop()`` at least once, so it
            is trusted to return on its own instead of being interrupted.
        observed: ``should_stop()`` returned True: the entrypoint knows it was stopped.
        interrupted: :class:`~siklus.jobs.JobStopped` was raised into the entrypoint.
        running: The entrypoint is on the stack, so interrupting it is safe.
    """

    def __init__(self) -> None:
        self.requested = False
        self.cooperative = False
        self.observed = False
        self.interrupted = False
        self.running = False

    def request(self) -> None:
        """Ask the work to stop (what SIGTERM does in a job process)."""
        self.requested = True

    def check(self) -> bool:
        """Answer ``JobContext.should_stop()``, remembering that the caller cooperates."""
        self.cooperative = True
        if self.requested:
            self.observed = True
        return self.requested


@dataclass(frozen=True)
class JobContext:
    """Everything an entrypoint ``fn(ctx: JobContext) -> dict | None`` needs.

    Example:
        >>> def run(ctx: JobContext) -> dict:
        ...     for epoch in range(ctx.parameters["epochs"]):
        ...         if ctx.should_stop():
        ...             break
        ...         ctx.log.info("epoch %d", epoch)
        ...     return {"epochs_done": epoch + 1}

    Attributes:
        job: The job's record as it was when the work started (status InProgress).
        workspace: The workspace the job belongs to (its stores and settings).
        log: Writes to the job's log file (``siklus jobs logs <id>``).
        job_dir: ``<workspace>/.siklus/jobs/<job_id>/``: scratch and output files.
        stop_flag: Set when the job is asked to stop; read it through
            :meth:`should_stop`.
        allocation: The CPUs, memory and GPU indices the job was admitted with (also in
            the environment as ``SIKLUS_NUM_CPUS``, ``SIKLUS_NUM_GPUS`` and, where GPUs
            are managed, ``CUDA_VISIBLE_DEVICES``). Size thread pools by it.
        lease_fds: File descriptors that hold the job's capacity. Pass them to a
            subprocess doing the job's work (``subprocess.Popen(..., pass_fds=...)``):
            the capacity then stays reserved while that subprocess lives, even if the job
            process itself is killed.
    """

    job: Job
    workspace: WorkspaceContext
    log: logging.Logger
    job_dir: Path
    stop_flag: StopFlag = field(default_factory=StopFlag, repr=False, compare=False)
    allocation: Allocation = field(default_factory=Allocation)
    lease_fds: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def inputs(self) -> dict[str, Any]:
        """The spec's ``inputs`` (JSON references to what the job reads)."""
        return self.job.inputs

    @property
    def parameters(self) -> dict[str, Any]:
        """The spec's ``parameters`` (JSON settings of the work)."""
        return self.job.parameters

    def should_stop(self) -> bool:
        """Return True once the job was asked to stop; then return promptly.

        Calling it at least once marks the entrypoint as cooperative: a stop request
        then waits for it to return (its outputs are kept and the job ends Stopped)
        instead of raising :class:`~siklus.jobs.JobStopped` into it. A second stop
        request, or the grace period running out, still ends it.
        """
        return self.stop_flag.check()

    def record_outputs(self, outputs: dict[str, Any]) -> None:
        """Store ``outputs`` on the job now, before it ends (progress, partial results).

        They survive a failure or a stop: the job ends with them unless the entrypoint
        returns other outputs. A resumable job (a batch transform) records its progress
        here, so whoever resumes it can read where it got to.
        """
        self.workspace.store.update_job(self.job.id, outputs=dict(outputs))


__all__ = ["JobContext", "StopFlag", "job_dir_for"]
