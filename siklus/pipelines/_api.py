"""Start, resume, stop and describe pipeline executions (what the CLI and triggers call)."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from siklus.exceptions import InvalidState, JobFailed
from siklus.jobs import JobSpec, LocalExecutor
from siklus.pipelines._executor import run_execution
from siklus.pipelines._model import PipelineDefinition
from siklus.pipelines._records import (
    get_execution,
    get_pipeline,
    new_execution,
    save_pipeline,
    update_execution,
)
from siklus.pipelines._validate import parse_definition, resolve_parameters
from siklus.store import WorkspaceContext

EXECUTION_ENTRYPOINT = "siklus.pipelines.jobs:run_execution_job"


def load_workspace_project(ctx: WorkspaceContext) -> Any:
    """The workspace's ``siklus.yaml`` (for default targets and success criteria), or None."""
    from siklus.project import PROJECT_FILE, load_project

    path = ctx.root / PROJECT_FILE
    return load_project(path) if path.is_file() else None


def create_execution(
    ctx: WorkspaceContext,
    pipeline: str | PipelineDefinition | Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    trigger: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate, store the definition (a new version if it changed) and record an execution.

    Args:
        pipeline: A stored pipeline's name, or a definition (stored on the way).
        parameters: Overrides of the parameters' defaults.

    Raises:
        NotFound: No stored pipeline of that name.
        InvalidParameter: The definition is not valid, or a parameter is unknown, missing
            or of the wrong type — all before any step runs.
    """
    if isinstance(pipeline, str):
        definition, stored = get_pipeline(ctx, pipeline)
    else:
        stored = save_pipeline(ctx, parse_definition(pipeline))
        definition = parse_definition(stored["definition"])
    values = resolve_parameters(definition, parameters)
    return new_execution(
        ctx, definition, values, pipeline_version=stored["version"], trigger=trigger
    )


def start_execution(
    ctx: WorkspaceContext,
    pipeline: str | PipelineDefinition | Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    wait: bool = True,
    trigger: dict[str, Any] | None = None,
    on_change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Start an execution; with ``wait`` run it here to the end, else in a background job.

    Example:
        >>> body = start_execution(ctx, "train-and-deploy", {"min_recall": 0.9})  # doctest: +SKIP
        >>> body["status"], body["steps"]["train"]["outputs"]["model_id"]  # doctest: +SKIP

    Returns:
        The execution record (terminal when ``wait``; Pending with ``runner_job_id`` else).
    """
    body = create_execution(ctx, pipeline, parameters, trigger=trigger)
    if wait:
        return run_execution(
            ctx, body["id"], project=load_workspace_project(ctx), on_change=on_change
        )
    return submit_execution(ctx, body["id"])


def submit_execution(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    """Run a stored execution in a detached job (0 CPUs: it only waits on step jobs)."""
    job = LocalExecutor(ctx).submit(
        JobSpec(
            kind="pipeline",
            entrypoint=EXECUTION_ENTRYPOINT,
            name=f"pipeline-{execution_id}"[:200],
            parameters={"execution_id": execution_id},
            resources={"cpus": 0},
        )
    )

    def note(body: dict[str, Any]) -> None:
        body["runner_job_id"] = job.id

    return update_execution(ctx, execution_id, note)


def resume_execution(
    ctx: WorkspaceContext,
    execution_id: str,
    *,
    wait: bool = True,
    on_change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run a Failed or Stopped execution again from the steps that did not succeed.

    Succeeded steps keep their outputs and are not re-run; failed, stopped, skipped and
    never-started steps run (with the same definition and parameters).

    Raises:
        InvalidState: The execution succeeded already or is still running.
    """
    body = describe_execution(ctx, execution_id)
    if body["status"] not in ("Failed", "Stopped"):
        raise InvalidState(
            f"Execution {execution_id} is {body['status']}; only a Failed or Stopped "
            "execution can be resumed."
        )
    ctx.store.append_event("pipeline-execution", execution_id, {"event": "resumed"})
    if wait:
        return run_execution(
            ctx, execution_id, project=load_workspace_project(ctx), on_change=on_change
        )

    def pending(b: dict[str, Any]) -> None:
        b["status"] = "Pending"

    update_execution(ctx, execution_id, pending)
    return submit_execution(ctx, execution_id)


def stop_execution(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    """Ask a running execution to stop: its step jobs are stopped, nothing new starts.

    A Pending execution (its runner job not started yet) is marked Stopped at once.
    """
    body = describe_execution(ctx, execution_id)
    if body["status"] in ("Succeeded", "Failed", "Stopped"):
        raise InvalidState(f"Execution {execution_id} already ended {body['status']}.")

    def request(b: dict[str, Any]) -> None:
        b["stop_requested"] = True
        if b["status"] == "Pending":
            b["status"] = "Stopped"
            b["failure_reason"] = "stopped before it started"

    body = update_execution(ctx, execution_id, request)
    if body.get("runner_job_id") and body["status"] == "Stopped":
        with contextlib.suppress(InvalidState):
            LocalExecutor(ctx).stop(body["runner_job_id"])
    return body


def _runner_process_gone(process: Any) -> bool:
    """True when the foreground process recorded as running an execution no longer exists
    (SIGKILL, a closed terminal): only then can the record be settled by someone else."""
    if not isinstance(process, Mapping) or process.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(process["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError, ValueError):
        return False
    return False


def describe_execution(ctx: WorkspaceContext, execution_id: str) -> dict[str, Any]:
    """The execution's record; one whose runner job died is recorded as Failed."""
    body = get_execution(ctx, execution_id)
    runner = body.get("runner_job_id")
    reason = None
    if runner and body["status"] in ("Pending", "Executing"):
        job = LocalExecutor(ctx).describe(runner)
        if job.status.value in ("Failed", "Stopped", "Completed"):
            reason = f"its runner job {runner} ended {job.status.value}: {job.failure_reason}"
    elif body["status"] == "Executing" and _runner_process_gone(body.get("runner_process")):
        pid = body["runner_process"]["pid"]
        reason = f"the process that ran it ({pid}) was killed before it recorded an end"
    if reason is not None:

        def settle(b: dict[str, Any]) -> None:
            if b["status"] in ("Pending", "Executing"):
                b["status"] = "Failed"
                b["failure_reason"] = reason
                for step in b["steps"].values():
                    if step["status"] == "Executing":
                        step["status"] = "Failed"
                        step["error"] = reason

        body = update_execution(ctx, execution_id, settle)
    return body


def raise_for_execution(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` if the execution succeeded, else raise :class:`JobFailed`."""
    if body["status"] != "Succeeded":
        raise JobFailed(
            f"Pipeline execution {body['id']} ended {body['status']}: {body['failure_reason']}. "
            f"See `siklus pipelines describe {body['id']}`."
        )
    return body


__all__ = [
    "EXECUTION_ENTRYPOINT",
    "create_execution",
    "describe_execution",
    "load_workspace_project",
    "raise_for_execution",
    "resume_execution",
    "start_execution",
    "stop_execution",
    "submit_execution",
]
