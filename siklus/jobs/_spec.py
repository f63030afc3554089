"""What a job is asked to do: :class:`JobSpec`, a value that fully describes the work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siklus.exceptions import InvalidParameter
from siklus.jobs._entrypoint import parse_entrypoint
from siklus.jobs._resources import ResourceRequest

# Column sizes of the jobs table; PostgreSQL enforces them, so check before writing.
_MAX_KIND = 100
_MAX_NAME = 200
_MAX_ENTRYPOINT = 300


def _json_copy(what: str, value: Any) -> dict[str, Any]:
    """Return ``value`` as the job process will read it back: a deep JSON round trip.

    Copying through JSON both proves the value can be stored and freezes it, so later
    changes to the caller's dict cannot alter a submitted spec.
    """
    if not isinstance(value, dict):
        raise InvalidParameter(
            f"JobSpec.{what} must be a dict of JSON values, got {type(value).__name__}."
        )
    try:
        return json.loads(json.dumps(value, allow_nan=False))  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(
            f"JobSpec.{what} is not JSON-serialisable: {exc}. Pass only str, int, float "
            "(finite), bool, None, lists and dicts with string keys; reference large "
            "objects by dataset or artifact id instead."
        ) from None


@dataclass(frozen=True)
class JobSpec:
    """A description of one unit of long-running work, independent of how it runs.

    Example:
        >>> spec = JobSpec(
        ...     kind="training",
        ...     entrypoint="siklus.training._job:run",
        ...     parameters={"max_depth": 4},
        ...     resources={"cpus": 1, "memory_mb": 512},
        ... )

    Attributes:
        kind: What sort of work this is ("training", "etl", "batch-transform"); used to
            list and filter jobs.
        entrypoint: ``"package.module:function"``; the job process imports it and calls
            ``function(ctx: JobContext) -> dict | None``.
        name: A human-readable name; defaults to ``<kind>-<UTC timestamp>``.
        inputs: JSON references to what the job reads (dataset versions, artifacts).
        parameters: JSON settings of the work (hyperparameters, options).
        resources: What the job holds while it runs: ``cpus`` (default 1), ``memory_mb``
            (default 0: not accounted) and ``gpus`` (default 0). The local executor starts
            a job only when that much is free on the machine (it waits, Pending, until
            then) and refuses one larger than the machine; recorded as given.
        tags: Merged over the workspace's tags on submit (cost allocation).

    Raises:
        InvalidParameter: A field has the wrong type or shape; the message says which.
    """

    kind: str
    entrypoint: str
    name: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind.strip():
            raise InvalidParameter(
                f"JobSpec.kind must be a non-empty string such as 'training', got {self.kind!r}."
            )
        if len(self.kind) > _MAX_KIND:
            raise InvalidParameter(f"JobSpec.kind is longer than {_MAX_KIND} characters.")
        parse_entrypoint(self.entrypoint)
        if len(self.entrypoint) > _MAX_ENTRYPOINT:
            raise InvalidParameter(
                f"JobSpec.entrypoint is longer than {_MAX_ENTRYPOINT} characters."
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise InvalidParameter(
                f"JobSpec.name must be a non-empty string or None, got {self.name!r}."
            )
        if self.name is not None and len(self.name) > _MAX_NAME:
            raise InvalidParameter(f"JobSpec.name is longer than {_MAX_NAME} characters.")
        for what in ("inputs", "parameters", "resources"):
            object.__setattr__(self, what, _json_copy(what, getattr(self, what)))
        ResourceRequest.parse(self.resources)
        if not isinstance(self.tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()
        ):
            raise InvalidParameter(
                f"JobSpec.tags must map strings to strings, got {self.tags!r}; convert "
                "values with str() (tags feed cost reports, which group by text)."
            )
        object.__setattr__(self, "tags", dict(self.tags))

    def job_name(self) -> str:
        """The name to record: ``name``, or ``<kind>-<UTC timestamp>`` when unset."""
        if self.name is not None:
            return self.name
        return f"{self.kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


__all__ = ["JobSpec"]
