"""Metered usage of a job process: wall time, CPU time, peak memory.

These numbers are what ``siklus.costs`` multiplies by a price table, so they are measured
by the operating system, not estimated. ``RUSAGE_CHILDREN`` adds the processes the job
waited for (e.g. worker pools), which is also the job's consumption.

Peak memory on Linux comes from ``VmHWM`` in ``/proc/self/status``, not from
``ru_maxrss``: Linux carries ``ru_maxrss`` across ``execve``, so a job started by a
large parent (a notebook, a test runner) would report the parent's size (fork shares
its pages until exec) instead of its own.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

# ru_maxrss is KiB on Linux and bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
_PROC_STATUS = Path("/proc/self/status")


def _own_peak_rss_bytes(fallback: int) -> int:
    """Peak resident memory of this process image, ``fallback`` where /proc is absent."""
    try:
        text = _PROC_STATUS.read_text()
    except OSError:
        return fallback
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return fallback


class Meter:
    """Measures a job process: CPU and memory for its whole life, wall time from a start.

    Example:
        >>> meter = Meter()
        >>> sorted(meter.usage())
        ['cpu_seconds', 'peak_rss_bytes', 'wall_seconds']

    Args:
        process_started_at: The process's ``create_time`` (epoch seconds). Given, wall
            time counts from then, like CPU time does, so interpreter start-up and
            imports are billed too; otherwise it counts from now.
    """

    def __init__(self, process_started_at: float | None = None) -> None:
        # Wall time is read from the monotonic clock (immune to clock changes); the
        # epoch clock is used once, for the short start-up interval before this call.
        already = 0.0 if process_started_at is None else time.time() - process_started_at
        self._started = time.monotonic() - max(0.0, already)

    def exclude(self, seconds: float) -> None:
        """Leave ``seconds`` out of the wall time: time spent queued is not usage."""
        self._started += max(0.0, seconds)

    def usage(self) -> dict[str, Any]:
        """Usage so far, keyed by the job record's field names."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        own_peak = _own_peak_rss_bytes(fallback=own.ru_maxrss * _MAXRSS_UNIT)
        return {
            "wall_seconds": time.monotonic() - self._started,
            "cpu_seconds": cpu,
            "peak_rss_bytes": max(own_peak, children.ru_maxrss * _MAXRSS_UNIT),
        }


__all__ = ["Meter"]
