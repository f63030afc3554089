"""Job entrypoints of pipelines (named by string in job specs, so this module is public).

* ``run_pipeline_job`` — start a new execution of a stored pipeline and run it; what an
  alarm action or any other job submits: parameters ``{"pipeline": name,
  "parameters": {...}}`` (optionally ``"trigger": {...}``).
* ``run_execution_job`` — run an already recorded execution (``start --no-wait``).
* ``run_custom_step`` — a custom Python step: ``function(ctx: JobContext, **args)``.
"""

from __future__ import annotations

from typing import Any

from siklus.exceptions import InvalidParameter
from siklus.jobs import JobContext
from siklus.pipelines._api import (
    load_workspace_project,
    raise_for_execution,
    start_execution,
)
from siklus.pipelines._executor import run_execution
from siklus.pipelines._handlers import load_function


def run_pipeline_job(job: JobContext) -> dict[str, Any]:
    """Start and run an execution of ``parameters["pipeline"]``; fail if it fails."""
    name = job.parameters.get("pipeline")
    if not isinstance(name, str):
        raise InvalidParameter(
            'run_pipeline_job needs parameters {"pipeline": NAME, "parameters": {...}}.'
        )
    trigger = dict(job.parameters.get("trigger") or {"type": "job"})
    trigger.setdefault("job_id", job.job_id)
    job.log.info("starting pipeline %s", name)
    body = start_execution(
        job.workspace, name, job.parameters.get("parameters") or {}, trigger=trigger
    )
    job.log.info("execution %s ended %s", body["id"], body["status"])
    raise_for_execution(body)
    return {"execution_id": body["id"], "status": body["status"]}


def run_execution_job(job: JobContext) -> dict[str, Any]:
    """Run the recorded execution ``parameters["execution_id"]`` (start or resume)."""
    execution_id = job.parameters["execution_id"]
    body = run_execution(job.workspace, execution_id, project=load_workspace_project(job.workspace))
    job.log.info("execution %s ended %s", execution_id, body["status"])
    raise_for_execution(body)
    return {"execution_id": execution_id, "status": body["status"]}


def run_custom_step(job: JobContext) -> dict[str, Any]:
    """Call the custom step's function with its resolved arguments; return its dict."""
    fn = load_function(job.parameters["function"])
    result = fn(job, **(job.parameters.get("args") or {}))
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise InvalidParameter(
            f"Custom step function {job.parameters['function']} returned "
            f"{type(result).__name__}; return a dict of JSON values (or None)."
        )
    return result


__all__ = ["run_custom_step", "run_execution_job", "run_pipeline_job"]
