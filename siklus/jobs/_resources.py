"""What a job asks for (:class:`ResourceRequest`) and what the machine has (:class:`Capacity`).

A job's ``resources`` say how many CPUs, how much memory and how many GPUs it needs. The
local executor never starts more work than the machine holds: it refuses a request larger
than the whole machine at submit time, and a job that does not fit *now* waits in a queue
(see :mod:`siklus.jobs._admission`).

Capacity comes, highest precedence first, from the executor's ``capacity`` argument, the
``SIKLUS_EXECUTOR_CPUS`` / ``SIKLUS_EXECUTOR_MEMORY_MB`` / ``SIKLUS_EXECUTOR_GPUS``
environment variables, then the machine itself: ``os.cpu_count()``, total RAM (psutil) and
the GPUs ``nvidia-smi -L`` lists. The executor passes the capacity it resolved to its job
processes through the same variables, so a job (and any executor inside it, such as a
tuning job's) judges capacity exactly as its submitter did.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from siklus.exceptions import InvalidParameter

#: The keys a job's ``resources`` may hold, with what each means.
RESOURCE_KEYS: dict[str, str] = {
    "cpus": "CPU cores (an integer >= 0; default 1; 0 for a job that only waits on others)",
    "memory_mb": "memory in MiB (an integer >= 0; default 0, i.e. not accounted)",
    "gpus": "GPUs (an integer >= 0; default 0)",
}
#: Environment variables that override (and carry) the executor's capacity.
CAPACITY_ENV: dict[str, str] = {
    "cpus": "SIKLUS_EXECUTOR_CPUS",
    "memory_mb": "SIKLUS_EXECUTOR_MEMORY_MB",
    "gpus": "SIKLUS_EXECUTOR_GPUS",
}
_NVIDIA_SMI_TIMEOUT_S = 10.0


def _count(where: str, key: str, value: Any, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; whole floats (``2.0``) are accepted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(
            f"{where}[{key!r}] must be a whole number, got {value!r} ({type(value).__name__})."
        )
    if isinstance(value, float) and not value.is_integer():
        raise InvalidParameter(
            f"{where}[{key!r}] must be a whole number, got {value!r}; round it (the local "
            "executor schedules whole CPUs, MiB and GPUs)."
        )
    if value < minimum:
        raise InvalidParameter(f"{where}[{key!r}] must be >= {minimum}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class ResourceRequest:
    """The resources one job holds while it runs.

    Attributes:
        cpus: CPU cores. A job that only submits and waits for other jobs (a tuning
            job) should ask for 0, so it does not hold a core its own trials need.
        memory_mb: Memory in MiB; 0 means the job's memory is not accounted.
        gpus: GPUs; the job gets that many device indices in ``CUDA_VISIBLE_DEVICES``.
    """

    cpus: int = 1
    memory_mb: int = 0
    gpus: int = 0

    @classmethod
    def parse(cls, resources: Mapping[str, Any] | None) -> ResourceRequest:
        """Validate a job's ``resources`` and fill in the defaults.

        Raises:
            InvalidParameter: An unknown key (a typo such as ``"cpu"`` would otherwise be
                ignored and the job under-reserved) or a value that is not a whole
                number in range.
        """
        resources = dict(resources or {})
        unknown = sorted(set(resources) - set(RESOURCE_KEYS))
        if unknown:
            known = "; ".join(f"{key}: {doc}" for key, doc in RESOURCE_KEYS.items())
            raise InvalidParameter(
                f"JobSpec.resources has unknown key(s) {unknown}; the known keys are {known}."
            )
        where = "JobSpec.resources"
        return cls(
            cpus=_count(where, "cpus", resources.get("cpus", 1), minimum=0),
            memory_mb=_count(where, "memory_mb", resources.get("memory_mb", 0), minimum=0),
            gpus=_count(where, "gpus", resources.get("gpus", 0), minimum=0),
        )

    @property
    def is_zero(self) -> bool:
        """Holds nothing, so it never waits (and never blocks the queue)."""
        return self.cpus == 0 and self.memory_mb == 0 and self.gpus == 0

    def describe(self) -> str:
        parts = [f"{self.cpus} CPU(s)"]
        if self.memory_mb:
            parts.append(f"{self.memory_mb} MiB")
        if self.gpus:
            parts.append(f"{self.gpus} GPU(s)")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, int]:
        return {"cpus": self.cpus, "memory_mb": self.memory_mb, "gpus": self.gpus}


@functools.cache
def count_gpus() -> int:
    """GPUs that ``nvidia-smi -L`` lists (0 without it); cached for the process.

    Only NVIDIA GPUs are counted; set ``SIKLUS_EXECUTOR_GPUS`` for other accelerators.
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        result = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=_NVIDIA_SMI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if result.returncode != 0:
        return 0
    return sum(1 for line in result.stdout.splitlines() if line.startswith("GPU "))


@dataclass(frozen=True)
class Capacity:
    """What the local executor may hand out at once on this machine.

    Example:
        >>> Capacity.resolve({"cpus": 2, "memory_mb": 4096, "gpus": 0})
        Capacity(cpus=2, memory_mb=4096, gpus=0)
    """

    cpus: int
    memory_mb: int
    gpus: int

    @classmethod
    def resolve(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Capacity:
        """The capacity from ``overrides``, then the environment, then the machine.

        Args:
            overrides: ``{"cpus": ..., "memory_mb": ..., "gpus": ...}``, any subset.
            environ: Where to read ``SIKLUS_EXECUTOR_*``; default ``os.environ``.

        Raises:
            InvalidParameter: An unknown key or a bad value, in ``overrides`` or in an
                environment variable.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(CAPACITY_ENV))
        if unknown:
            raise InvalidParameter(
                f"Executor capacity has unknown key(s) {unknown}; use {sorted(CAPACITY_ENV)}."
            )
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for key, env in CAPACITY_ENV.items():
            if overrides.get(key) is not None:
                values[key] = _count("capacity", key, overrides[key], minimum=0)
            elif environ.get(env, "").strip():
                raw = environ[env].strip()
                try:
                    number = int(raw)
                except ValueError:
                    raise InvalidParameter(
                        f"Environment variable {env}={raw!r} is not a whole number; set it "
                        f"to the {key} the local executor may use, or unset it to detect them."
                    ) from None
                values[key] = _count(env, key, number, minimum=0)
        if "cpus" not in values:
            values["cpus"] = os.cpu_count() or 1
        if "memory_mb" not in values:
            values["memory_mb"] = int(psutil.virtual_memory().total // 2**20)
        if "gpus" not in values:
            values["gpus"] = count_gpus()
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``SIKLUS_EXECUTOR_*`` variables that make a child resolve this capacity."""
        return {env: str(getattr(self, key)) for key, env in CAPACITY_ENV.items()}

    def check(self, request: ResourceRequest, what: str = "The job") -> None:
        """Refuse a request that could never run here, however long it waited.

        Raises:
            InvalidParameter: The request exceeds the whole machine in some resource.
        """
        if request.gpus > self.gpus:
            found = f"{self.gpus} GPU(s)" if self.gpus else "no GPU"
            raise InvalidParameter(
                f"{what} asks for {request.gpus} GPU(s) but this machine has {found} "
                "(counted with `nvidia-smi -L`, or set by SIKLUS_EXECUTOR_GPUS). Ask for at "
                f"most {self.gpus}, or run it where there are more GPUs."
            )
        for key, unit in (("cpus", "CPU(s)"), ("memory_mb", "MiB")):
            asked, has = getattr(request, key), getattr(self, key)
            if asked > has:
                raise InvalidParameter(
                    f"{what} asks for {asked} {unit} ({key}) but the local executor has "
                    f"{has} {unit} in all, so it could never start. Ask for at most {has}, or "
                    f"raise the capacity (LocalExecutor(capacity={{{key!r}: ...}}) or "
                    f"{CAPACITY_ENV[key]}) if this machine really has more."
                )


__all__ = ["CAPACITY_ENV", "RESOURCE_KEYS", "Capacity", "ResourceRequest", "count_gpus"]
