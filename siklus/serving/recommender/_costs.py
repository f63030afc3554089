"""What a configuration costs per million inferences.

The cost model is deliberately simple and written down: a configuration holds ``cpus``
CPUs and ``memory_gb`` GB for as long as it takes to answer, so one inference costs the
hourly price of those resources times the measured time per inference (one row; the
inverse of the measured rows per second at full load).

Default prices are AWS Fargate's on-demand list prices for Linux/x86 in us-east-1
(USD 0.04048 per vCPU-hour, USD 0.004445 per GB-hour): a public, per-second-billed
price for "a CPU and some memory", which is what an endpoint worker is. Pass your own
(``CostModel(cpu_hour=..., gb_hour=...)``, ``siklus recommend --cpu-hour-price``) for
your hardware or cloud.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from siklus.exceptions import InvalidParameter

#: USD per vCPU-hour (AWS Fargate, Linux/x86, us-east-1, on-demand).
DEFAULT_CPU_HOUR_PRICE = 0.04048
#: USD per GB-hour of memory (same source).
DEFAULT_GB_HOUR_PRICE = 0.004445


@dataclass(frozen=True)
class CostModel:
    """Prices of the resources a configuration holds.

    Attributes:
        cpu_hour: Price of one CPU for one hour.
        gb_hour: Price of one GB of memory for one hour.
        currency: Label for reports.
    """

    cpu_hour: float = DEFAULT_CPU_HOUR_PRICE
    gb_hour: float = DEFAULT_GB_HOUR_PRICE
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("cpu_hour", "gb_hour"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidParameter(
                    f"Price {name}={value!r} must be a finite number >= 0 (per hour)."
                )

    def per_million(self, *, cpus: float, memory_gb: float, rows_per_second: float) -> float:
        """Cost of one million inferences at the measured rate (``inf`` when none succeeded)."""
        if rows_per_second <= 0:
            return math.inf
        hourly = cpus * self.cpu_hour + memory_gb * self.gb_hour
        return hourly / 3600.0 / rows_per_second * 1_000_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
