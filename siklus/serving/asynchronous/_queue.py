"""The durable queue of asynchronous inference requests: one contract, two backends.

A message is one inference request. It moves ``Queued → InProgress → Completed | Failed``
and its record stays after it ends, so ``GET /results/{id}`` can answer its status.

Contract (every backend passes ``tests/serving/asynchronous/test_queue.py``):

- :meth:`InferenceQueue.claim` hands each Queued message to exactly one caller, even when
  workers in several processes claim at once.
- A claimed message is invisible to others until its *visibility deadline*. A worker that
  dies leaves it InProgress past the deadline; the next ``claim`` by anyone re-queues it
  (ahead of newer messages) — or fails it once it has been claimed ``max_attempts`` times,
  so a payload that kills its worker cannot kill every future worker too.
- ``complete``/``fail``/``extend`` act only for the worker that holds the claim: a worker
  whose claim expired and was re-queued cannot overwrite the new holder's outcome.
- Timestamps are wall-clock seconds (:func:`time.time`): processes of one machine share it.

Backends: :class:`~siklus.serving.asynchronous.SqliteQueue` (the default, a file under the
workspace's ``.siklus/``) and :class:`~siklus.serving.asynchronous.RedisQueue` (the
``redis`` extra). :func:`open_queue` turns a URL into one.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter

#: Claims of one message after which a message whose worker keeps dying is Failed.
DEFAULT_MAX_ATTEMPTS = 3


class InferenceStatus(enum.StrEnum):
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass(frozen=True)
class InferenceMessage:
    """A snapshot of one queued inference request.

    Attributes:
        id: The inference id.
        status: Where it is (:class:`InferenceStatus`).
        body: What the submitter stored (input location, content type, output location).
        attempts: How many times a worker claimed it.
        owner: The worker holding the claim while InProgress.
        reason: Why it Failed.
        result: What the worker recorded on completion (e.g. the number of rows).
        created_at: Submission time (seconds since the epoch).
        updated_at: Last change.
    """

    id: str
    status: InferenceStatus
    body: dict[str, Any]
    attempts: int = 0
    owner: str | None = None
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "inference_id": self.id,
            "status": self.status.value,
            "attempts": self.attempts,
            "failure_reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            **self.body,
            **self.result,
        }


class InferenceQueue(abc.ABC):
    """A durable FIFO of inference requests shared by one endpoint's front and workers.

    Instances are safe to use from several threads of one process; several processes
    each open their own instance on the same URL.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @abc.abstractmethod
    def put(self, message_id: str, body: dict[str, Any]) -> InferenceMessage:
        """Queue a new message.

        Raises:
            AlreadyExists: ``message_id`` was used before.
        """

    @abc.abstractmethod
    def claim(self, owner: str, *, visibility_timeout: float) -> InferenceMessage | None:
        """Re-queue expired claims, then take the oldest Queued message for ``owner``.

        Returns:
            The message, now InProgress with ``attempts`` incremented, or None when
            nothing is queued.
        """

    @abc.abstractmethod
    def extend(self, message_id: str, owner: str, *, visibility_timeout: float) -> bool:
        """Push the visibility deadline to now + ``visibility_timeout``; False if not held."""

    @abc.abstractmethod
    def complete(self, message_id: str, owner: str, result: dict[str, Any]) -> bool:
        """Mark Completed with ``result``; False (nothing changed) if ``owner`` lost it."""

    @abc.abstractmethod
    def fail(self, message_id: str, owner: str, reason: str) -> bool:
        """Mark Failed with ``reason``; False (nothing changed) if ``owner`` lost it."""

    @abc.abstractmethod
    def get(self, message_id: str) -> InferenceMessage:
        """Raises :class:`~siklus.exceptions.NotFound` for an unknown id."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Messages per status (every :class:`InferenceStatus` value is a key)."""

    def backlog(self) -> int:
        """Messages waiting or being worked on: what workers are needed for."""
        counts = self.counts()
        return counts[InferenceStatus.QUEUED.value] + counts[InferenceStatus.IN_PROGRESS.value]

    def close(self) -> None:  # noqa: B027 - optional for backends holding nothing
        """Release connections."""


def open_queue(url: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> InferenceQueue:
    """The queue behind ``url``: ``sqlite:///ABS/PATH.db`` or ``redis://host:port/db[#prefix]``.

    Raises:
        InvalidParameter: An unsupported scheme, or ``max_attempts`` below 1.
        InvalidState: ``redis://`` without the ``redis`` package installed.
    """
    if max_attempts < 1:
        raise InvalidParameter(f"max_attempts must be at least 1, got {max_attempts}.")
    if url.startswith("sqlite:///"):
        from siklus.serving.asynchronous._sqlite_queue import SqliteQueue

        return SqliteQueue(Path(url.removeprefix("sqlite:///")), max_attempts=max_attempts)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from siklus.serving.asynchronous._redis_queue import RedisQueue

        location, _, prefix = url.partition("#")
        return RedisQueue(location, prefix=prefix or "siklus-async", max_attempts=max_attempts)
    raise InvalidParameter(
        f"Queue URL {url!r} is not supported: use sqlite:///ABSOLUTE/PATH.db (the default) or "
        "redis://HOST:PORT/DB (pip install 'siklus[redis]'), optionally with #KEY-PREFIX."
    )


__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "InferenceMessage",
    "InferenceQueue",
    "InferenceStatus",
    "open_queue",
]
