"""What a load or a stream run reports back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from siklus.store import DatasetVersion


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one load (files or SQL) or one stream run.

    Attributes:
        dataset: The dataset loaded into.
        version: The version the run produced or found (None when nothing was loaded
            and the dataset has no version from this source).
        created: Whether ``version`` is new (False: identical content existed, or
            nothing new arrived).
        new_rows: Rows this run added.
        source: The source name (incremental state), or None for a one-off load.
        files: Files this run read (file loads).
        skipped_files: Files skipped because an earlier run loaded them.
        watermark: The watermark after the run (SQL loads).
        batches: Micro-batches appended (stream runs).
        stop_reason: Why a stream run ended (``max_batches``, ``idle``, ``stopped``).
    """

    dataset: str
    version: DatasetVersion | None
    created: bool
    new_rows: int
    source: str | None = None
    files: list[str] = field(default_factory=list)
    skipped_files: int = 0
    watermark: Any = None
    batches: int = 0
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = self.version.to_dict() if self.version else None
        data["version_id"] = self.version.id if self.version else None
        return data


__all__ = ["LoadResult"]
