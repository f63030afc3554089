"""The resource half of the metadata-store contract: documents, histories, claims, metrics.

Later lifecycle stages (catalog tables, endpoint configs, monitoring schedules, alarms,
pipelines and their executions) keep their state as *resources*: a JSON document per
``(kind, name)`` with a revision number, plus an append-only event history. A new stage
therefore needs no schema migration, and every backend that passes
``siklus.testing.ResourceContract`` supports it.

Contract:

- ``put_resource`` with ``expected_revision=None`` writes unconditionally; with ``0`` it
  only creates (a taken name raises :class:`~siklus.exceptions.AlreadyExists`); with
  ``n > 0`` it only updates revision ``n`` (anything else raises
  :class:`~siklus.exceptions.InvalidState`: someone else wrote first — re-read and retry).
- Events of one resource come back in the order they were appended; ``seq`` is
  increasing across the store.
- ``claim(key)`` succeeds for exactly one caller, ever, across processes: the way to make
  "run this schedule slot" or "fire this alarm action" happen at most once.
- Metric points are matched on the exact dimension set.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from siklus.store.records import MetricDatum, Resource, ResourceEvent


class ResourceStore(abc.ABC):
    """Named JSON documents with revisions, their histories, claims and metric series."""

    @abc.abstractmethod
    def put_resource(
        self,
        kind: str,
        name: str,
        body: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> Resource:
        """Create or replace the document ``(kind, name)``; see the module contract.

        Raises:
            InvalidParameter: empty kind or name, or a body that is not JSON.
            AlreadyExists: ``expected_revision=0`` and the resource exists.
            InvalidState: ``expected_revision`` does not match the stored revision.
        """

    @abc.abstractmethod
    def get_resource(self, kind: str, name: str) -> Resource:
        """Raises :class:`~siklus.exceptions.NotFound` naming the kind and the name."""

    @abc.abstractmethod
    def list_resources(self, kind: str, *, prefix: str | None = None) -> list[Resource]:
        """All resources of ``kind`` (whose name starts with ``prefix``), by name."""

    @abc.abstractmethod
    def delete_resource(self, kind: str, name: str) -> None:
        """Delete the document (its events stay, as history). Raises NotFound."""

    @abc.abstractmethod
    def append_event(self, kind: str, name: str, body: Mapping[str, Any]) -> ResourceEvent:
        """Append one entry to the history of ``(kind, name)`` (the resource need not exist)."""

    @abc.abstractmethod
    def list_events(
        self,
        kind: str,
        name: str | None = None,
        *,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[ResourceEvent]:
        """Events of ``kind`` (of one ``name`` if given) with ``seq > after_seq``, oldest
        first, at most ``limit``."""

    @abc.abstractmethod
    def claim(self, key: str, owner: str) -> bool:
        """Take ``key`` for ``owner``; True for the first caller only, False afterwards."""

    @abc.abstractmethod
    def put_metric_data(
        self,
        namespace: str,
        metric: str,
        points: Sequence[tuple[float, float]],
        *,
        dimensions: Mapping[str, str] | None = None,
    ) -> int:
        """Append ``(timestamp, value)`` points; returns how many were written.

        Raises:
            InvalidParameter: a non-finite timestamp or a value that is not a number.
        """

    @abc.abstractmethod
    def get_metric_data(
        self,
        namespace: str,
        metric: str,
        *,
        dimensions: Mapping[str, str] | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[MetricDatum]:
        """Points of one series with ``start <= timestamp < end``, oldest first."""

    @abc.abstractmethod
    def list_metric_series(
        self, namespace: str | None = None
    ) -> list[tuple[str, str, dict[str, str]]]:
        """Distinct ``(namespace, metric, dimensions)`` series, sorted."""
