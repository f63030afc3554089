"""Pipelines and executions as store resources.

* ``("pipeline", name)``: the current definition, its version number and sha256; each
  new version is also appended as an event, so old versions stay readable.
* ``("pipeline-execution", id)``: one execution — the definition snapshot it runs, the
  parameter values, its status and, per step, status, attempts, timing, outputs, job ids
  and log paths. Changed by compare-and-set (several threads and a ``stop`` from another
  process write it), and every step transition is appended as an event.
* ``("pipeline-step-cache", key)``: a step's outputs keyed by the hash of its type,
  resolved arguments and code version.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from siklus.exceptions import InvalidState, NotFound
from siklus.pipelines._model import PipelineDefinition
from siklus.pipelines._validate import parse_definition
from siklus.store import WorkspaceContext

PIPELINE = "pipeline"
EXECUTION = "pipeline-execution"
CACHE = "pipeline-step-cache"

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
STEP_DONE = frozenset({"Succeeded", "Skipped"})


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def definition_sha(definition: PipelineDefinition) -> str:
    text = json.dumps(definition.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def save_pipeline(ctx: WorkspaceContext, definition: Any) -> dict[str, Any]:
    """Create or update pipeline ``definition.name``; a changed definition is a new version.

    Returns:
        The stored body: ``name``, ``version``, ``sha256``, ``definition``.
    """
    definition = parse_definition(definition)
    sha = definition_sha(definition)
    try:
        current = ctx.store.get_resource(PIPELINE, definition.name)
    except NotFound:
        current = None
    if current is not None and current.body.get("sha256") == sha:
        return dict(current.body)
    version = 1 if current is None else int(current.body["version"]) + 1
    body = {
        "name": definition.name,
        "version": version,
        "sha256": sha,
        "definition": definition.to_dict(),
        "updated_at": now_iso(),
    }
    ctx.store.put_resource(
        PIPELINE,
        definition.name,
        body,
        expected_revision=0 if current is None else current.revision,
    )
    ctx.store.append_event(PIPELINE, definition.name, {"event": "version", **body})
    return body


def get_pipeline(ctx: WorkspaceContext, name: str) -> tuple[PipelineDefinition, dict[str, Any]]:
    """The current definition of pipeline ``name`` and its stored body.

    Raises:
        NotFound: No such pipeline; the message says how to create one.
    """
    try:
        body = ctx.store.get_resource(PIPELINE, name).body
    except NotFound:
        raise _no_pipeline(ctx, name) from None
    return parse_definition(body["definition"]), dict(body)


def _no_pipeline(ctx: WorkspaceContext, name: str) -> NotFound:
    """The error for an unknown pipeline name: the names there are, how to list or create."""
    names = [r.name for r in ctx.store.list_resources(PIPELINE)]
    return NotFound(
        f"No pipeline {name!r}; pipelines: {names} (list them with `siklus pipelines list`). "
        "Create one with `siklus pipelines create FILE.yaml`."
    )


def list_pipelines(ctx: WorkspaceContext) -> list[dict[str, Any]]:
    return [dict(r.body) for r in ctx.store.list_resources(PIPELINE)]


def new_execution(
    ctx: WorkspaceContext,
    definition: PipelineDefinition,
    parameters: dict[str, Any],
    *,
    pipeline_version: int | None,
    trigger: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a Pending execution with every step Pending; return its body."""
    stamp = datetime.now(UTC)
    execution_id = f"{definition.name}-{stamp:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    body = {
        "id": execution_id,
        "pipeline": definition.name,
        "pipeline_version": pipeline_version,
        "definition": definition.to_dict(),
        "parameters": parameters,
        "status": "Pending",
        "trigger": trigger or {"type": "manual"},
        "created_at": stamp.isoformat(),
        "started_at": None,
        "ended_at": None,
        "stop_requested": False,
        "failure_reason": None,
        "runs": 0,
        "steps": {step.name: _pending_step() for step in definition.steps},
    }
    ctx.store.put_resource(EXECUTION, execution_id, body, expected_revision=0)
    ctx.store.append_event(EXECUTION, execution_id, {"event": "created", "at": body["created_at"]})
    return body


def _pending_step() -> dict[str, Any]:
    return {
        "status": "Pending",
        "attempts": 0,
        "started_at": None,
        "ended_at": None,
        "seconds": None,
        "outputs": {},
        "job_ids": [],
        "log_paths": [],
        "cached": False,
        "cache_key": None,
        "error": None,
    }


def get_execution(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    """Raises NotFound naming the id and how to list executions."""
    try:
        return dict(ctx.store.get_resource(EXECUTION, execution_id).body)
    except NotFound:
        raise NotFound(
            f"No pipeline execution {execution_id!r}; list them with `siklus pipelines executions`."
        ) from None


def list_executions(ctx: WorkspaceContext, pipeline: str | None = None) -> list[dict[str, Any]]:
    """Executions, newest first (of one pipeline if given).

    Raises:
        NotFound: ``pipeline`` names no stored pipeline (an existing one with no
            executions yet gives an empty list).
    """
    if pipeline:
        try:
            ctx.store.get_resource(PIPELINE, pipeline)
        except NotFound:
            raise _no_pipeline(ctx, pipeline) from None
    prefix = f"{pipeline}-" if pipeline else None
    bodies = [dict(r.body) for r in ctx.store.list_resources(EXECUTION, prefix=prefix)]
    if pipeline:
        bodies = [b for b in bodies if b["pipeline"] == pipeline]
    return sorted(bodies, key=lambda b: b["created_at"], reverse=True)


def update_execution(
    ctx: WorkspaceContext, execution_id: str, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Apply ``change`` to the stored body by compare-and-set, retrying on a conflict."""
    for _ in range(100):
        resource = ctx.store.get_resource(EXECUTION, execution_id)
        body = json.loads(json.dumps(resource.body))
        change(body)
        try:
            ctx.store.put_resource(
                EXECUTION, execution_id, body, expected_revision=resource.revision
            )
        except InvalidState:
            continue
        return body  # type: ignore[no-any-return]
    raise InvalidState(f"Could not update execution {execution_id}: too many concurrent writers.")


def get_cached(ctx: WorkspaceContext, key: str) -> dict[str, Any] | None:
    try:
        return dict(ctx.store.get_resource(CACHE, key).body)
    except NotFound:
        return None


def put_cached(ctx: WorkspaceContext, key: str, body: dict[str, Any]) -> None:
    ctx.store.put_resource(CACHE, key, body)


__all__ = [
    "CACHE",
    "EXECUTION",
    "PIPELINE",
    "STEP_DONE",
    "TERMINAL",
    "get_cached",
    "get_execution",
    "get_pipeline",
    "list_executions",
    "list_pipelines",
    "new_execution",
    "put_cached",
    "save_pipeline",
    "update_execution",
]
