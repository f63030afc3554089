"""Is a job's process still the one that started it? Answers from psutil.

A pid alone is not an identity: after a crash or a reboot the number can belong to an
unrelated process. A process is identified by ``(pid, create_time)``, recorded when it
starts, and compared here.
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass

import psutil

# psutil derives create_time from the boot time, which can shift by up to a second when
# the clock is adjusted; a pid reused within a second of the original start is not a
# realistic case, so anything closer counts as the same process.
_SAME_PROCESS_TOLERANCE_S = 1.0


def this_host() -> str:
    """The name recorded as a job's ``host``; liveness is judged only on that host."""
    return socket.gethostname()


def process_create_time(pid: int) -> float | None:
    """The start time of ``pid`` (seconds since the epoch), or None if it is gone."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


@dataclass(frozen=True)
class ProcessProbe:
    """The answer of :func:`probe_process`.

    Attributes:
        alive: The process runs and is the one that started at the recorded time.
        detail: Why it is not alive, for a failure reason ("" when alive).
    """

    alive: bool
    detail: str = ""


def _reap(pid: int) -> str:
    """Collect a zombie ``pid`` if it is our child; describe how it ended."""
    try:
        reaped, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its parent will reap it
        return "it is a zombie (exited, not yet reaped by its parent)"
    if reaped != pid:
        return "it is a zombie (exited)"
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"it was killed by {signal.Signals(-code).name}"
    return f"it exited with code {code}"


def probe_process(pid: int | None, started_at: float | None = None) -> ProcessProbe:
    """Check that ``pid`` runs and is the process that started at ``started_at``.

    Zombies count as dead (and are reaped when they are our children), because a
    zombie will never write a result.

    Args:
        pid: The recorded process id; None means no process was recorded.
        started_at: The recorded ``create_time``; None skips the identity check.
    """
    if pid is None or pid <= 0:
        return ProcessProbe(False, "no process was recorded")
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return ProcessProbe(False, _reap(pid))
        created = proc.create_time()
    except psutil.ZombieProcess:
        return ProcessProbe(False, _reap(pid))
    except psutil.NoSuchProcess:
        return ProcessProbe(False, "it is no longer running")
    except psutil.AccessDenied:
        # It exists but belongs to another user; without its start time we cannot
        # prove it is a different process, and wrongly failing a live job is worse.
        return ProcessProbe(True)
    if started_at is not None and abs(created - started_at) > _SAME_PROCESS_TOLERANCE_S:
        return ProcessProbe(
            False, f"pid {pid} now belongs to another process (pid reused after it ended)"
        )
    return ProcessProbe(True)


def process_alive(pid: int | None, started_at: float | None = None) -> bool:
    """True when ``pid`` runs and is the process that started at ``started_at``.

    Example:
        >>> process_alive(os.getpid(), process_create_time(os.getpid()))  # doctest: +SKIP
        True
    """
    return probe_process(pid, started_at).alive


def signal_group(pid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group led by ``pid`` (the job and what it spawned).

    Job processes lead their own group (they start in a new session). A ``pid`` that does
    not lead a group gets the signal alone: signalling the group it belongs to could hit
    the caller or its terminal.

    Returns:
        False when the process no longer exists.
    """
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


__all__ = [
    "ProcessProbe",
    "probe_process",
    "process_alive",
    "process_create_time",
    "signal_group",
    "this_host",
]
