"""Connector state (what an incremental source already loaded) kept as store resources.

One resource of kind ``etl-source`` per source name holds the files loaded so far (with
their fingerprints), the SQL watermark, the stream offset, and the dataset version the
source produced last. Each run also appends an ``etl-run`` event, so the history of a
source is queryable. Writes are compare-and-set on the resource revision: two runs of the
same source at once cannot both advance it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siklus.exceptions import AlreadyExists, InvalidParameter, InvalidState, NotFound
from siklus.store import DatasetVersion, WorkspaceContext

KIND = "etl-source"
RUN_EVENT = "etl-run"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def check_source_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidParameter(
            f"Source name {name!r} is not valid: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


@dataclass
class SourceState:
    """The stored state of one source; ``revision`` 0 means not stored yet."""

    name: str
    body: dict[str, Any] = field(default_factory=dict)
    revision: int = 0

    def previous_version(self, ctx: WorkspaceContext) -> DatasetVersion | None:
        version_id = self.body.get("version_id")
        if not version_id:
            return None
        try:
            return ctx.store.get_dataset_version_by_id(str(version_id))
        except NotFound:
            return None


def load_state(ctx: WorkspaceContext, name: str) -> SourceState:
    check_source_name(name)
    try:
        resource = ctx.store.get_resource(KIND, name)
    except NotFound:
        return SourceState(name)
    return SourceState(name, dict(resource.body), resource.revision)


def check_same_source(state: SourceState, expected: dict[str, Any]) -> None:
    """Refuse to continue a source with a different configuration under the same name."""
    if not state.revision:
        return
    for key, value in expected.items():
        if state.body.get(key) != value:
            raise InvalidParameter(
                f"Source {state.name!r} was loaded before with {key}={state.body.get(key)!r}, "
                f"now {key}={value!r}. Give this load its own source name (--name), or delete "
                f"the old state with delete_source({state.name!r})."
            )


def save_state(ctx: WorkspaceContext, state: SourceState, run: dict[str, Any]) -> SourceState:
    """Write ``state.body`` (only if nobody else wrote first) and append the run event."""
    now = datetime.now(UTC).isoformat()
    body = {**state.body, "updated_at": now, "runs": int(state.body.get("runs", 0)) + 1}
    try:
        resource = ctx.store.put_resource(KIND, state.name, body, expected_revision=state.revision)
    except (InvalidState, AlreadyExists):  # AlreadyExists: both were the source's first run
        raise InvalidState(
            f"Source {state.name!r} was advanced by another run while this one was loading; "
            "its rows are stored, run the load again to pick up from the new state."
        ) from None
    ctx.store.append_event(RUN_EVENT, state.name, {**run, "at": now})
    return SourceState(state.name, dict(resource.body), resource.revision)


def list_sources(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    """Every stored source: name, revision and state."""
    return [
        {"name": r.name, "revision": r.revision, **r.body} for r in ctx.store.list_resources(KIND)
    ]


def source_runs(ctx: WorkspaceContext, name: str) -> list[dict[str, Any]]:
    """The runs of one source, oldest first."""
    return [{"seq": e.seq, **e.body} for e in ctx.store.list_events(RUN_EVENT, name)]


def delete_source(ctx: WorkspaceContext, name: str) -> None:
    """Forget what a source loaded (its datasets stay): the next run loads everything."""
    ctx.store.delete_resource(KIND, check_source_name(name))


__all__ = [
    "KIND",
    "RUN_EVENT",
    "SourceState",
    "check_same_source",
    "check_source_name",
    "delete_source",
    "list_sources",
    "load_state",
    "save_state",
    "source_runs",
]
