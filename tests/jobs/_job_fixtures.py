"""Entrypoints for job tests, imported by the job processes through PYTHONPATH.

They live outside the ``siklus`` package so test code never ships; ``conftest.py`` puts
this folder on the child's PYTHONPATH.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter

NOT_CALLABLE = 42


def succeed(ctx: Any) -> dict[str, Any]:
    ctx.log.info("hello from succeed")
    print("a printed line")
    return {
        "doubled": ctx.parameters["x"] * 2,
        "inputs": ctx.inputs,
        "job_dir_exists": ctx.job_dir.is_dir(),
    }


def fail(ctx: Any) -> None:
    raise ValueError("boom")


def report_tags(ctx: Any) -> dict[str, Any]:
    return {"tags": ctx.workspace.tags}


def record_then_fail(ctx: Any) -> None:
    ctx.record_outputs({"chunks_done": 3})
    raise ValueError("boom after progress")


def fail_with_siklus_error(ctx: Any) -> None:
    raise InvalidParameter("Column 'age' is missing; add it to the dataset.")


def return_list(ctx: Any) -> list[int]:
    return [1, 2, 3]


def sleep_forever(ctx: Any) -> None:
    step = 0
    while True:
        print(f"progress {step}", flush=True)
        step += 1
        time.sleep(0.05)


def sleep_until_stopped(ctx: Any) -> dict[str, Any]:
    print("cooperative job running", flush=True)
    while not ctx.should_stop():
        time.sleep(0.02)
    return {"stopped_cleanly": True}


def ignore_sigterm(ctx: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    while True:
        time.sleep(0.05)


def burn_cpu(ctx: Any) -> dict[str, Any]:
    end = time.process_time() + ctx.parameters["seconds"]
    iterations = 0
    while time.process_time() < end:
        iterations += 1
    return {"iterations": iterations}


def allocate(ctx: Any) -> dict[str, Any]:
    # Multiplying a filled bytearray writes every page, so the memory really is resident
    # (a zero-filled allocation can stay untouched, lazily mapped pages).
    block = bytearray(b"\x01") * (ctx.parameters["mb"] * 2**20)
    return {"allocated_bytes": len(block)}


def sleep_for(ctx: Any) -> dict[str, Any]:
    time.sleep(ctx.parameters["seconds"])
    return {}


def meet(ctx: Any) -> dict[str, Any]:
    """Wait until ``parameters["count"]`` jobs have arrived in ``parameters["folder"]``.

    Every job that arrives must be running at the same time as the others, so this
    returns only if the executor really runs them side by side.
    """
    folder = Path(ctx.parameters["folder"])
    (folder / ctx.job_id).touch()
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < ctx.parameters["count"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the other jobs never ran alongside this one")
        time.sleep(0.02)
    return {}


def hold_until_released(ctx: Any) -> dict[str, Any]:
    print("holding", flush=True)
    release = Path(ctx.parameters["release"])
    deadline = time.monotonic() + 30
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.02)
    return {}


ALLOCATION_ENV = (
    "SIKLUS_NUM_CPUS", "SIKLUS_NUM_GPUS", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
    "SIKLUS_EXECUTOR_CPUS",
)  # fmt: skip


def report_allocation(ctx: Any) -> dict[str, Any]:
    return {
        "env": {name: os.environ.get(name) for name in ALLOCATION_ENV},
        "gpu_ids": list(ctx.allocation.gpu_ids),
        "cpus": ctx.allocation.cpus,
        "lease_fds": len(ctx.lease_fds),
    }
