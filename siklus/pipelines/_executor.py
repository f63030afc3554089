"""Run an execution: a bounded pool of threads walks the DAG, each step's work a job.

The executor itself is light: it resolves references, checks the cache, calls the step's
handler (which submits the stage's job and waits for it) and records the result. Steps
whose dependencies are done start at once, up to ``max_parallel_steps``. A failure stops
new steps from starting (running ones finish) and the execution ends Failed; ``resume``
runs it again from the steps that did not succeed, keeping the others' outputs.

Stop: ``stop_execution`` sets ``stop_requested`` in the stored record (from any process).
The executor sees it on its next poll, asks the running steps' jobs to stop, starts
nothing new and ends the execution Stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.jobs import LocalExecutor
from siklus.pipelines._handlers import (
    HANDLERS,
    StepFailure,
    StepRun,
    code_version,
    evaluate_conditions,
    input_versions,
)
from siklus.pipelines._model import PipelineDefinition, Step
from siklus.pipelines._records import (
    EXECUTION,
    STEP_DONE,
    TERMINAL,
    get_cached,
    get_execution,
    now_iso,
    put_cached,
    update_execution,
)
from siklus.pipelines._validate import branch_owner, dependencies, is_param, is_ref
from siklus.pipelines._validate import parse_definition as _parse
from siklus.store import Job, WorkspaceContext

_POLL_S = 0.2
_OUTPUT_KINDS = {
    "model_id": "model", "dataset_id": "dataset", "package_id": "model_package",
    "endpoint": "endpoint", "job_id": "job", "evaluation_id": "evaluation",
    "baseline": "monitoring-baseline", "schedule": "monitoring-schedule",
}  # fmt: skip
_STOP_CHECK_S = 0.5


def resolve_value(
    value: Any, outputs: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]
) -> Any:
    """Replace every reference in ``value`` by the output or parameter it names."""
    if is_param(value):
        return params[value["param"]]
    if is_ref(value):
        step, _, path = value["from"].partition(".")
        current: Any = outputs.get(step)
        if current is None:
            raise InvalidState(f"Reference {value['from']!r}: step {step!r} has no outputs.")
        for part in path.split("."):
            if not isinstance(current, Mapping) or part not in current:
                have = sorted(current) if isinstance(current, Mapping) else type(current).__name__
                raise InvalidParameter(
                    f"Reference {value['from']!r}: step {step!r} has no output {part!r}; "
                    f"it has {have}."
                )
            current = current[part]
        return current
    if isinstance(value, Mapping):
        return {k: resolve_value(v, outputs, params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, outputs, params) for v in value]
    return value


def step_log_path(ctx: WorkspaceContext, execution_id: str, step: str) -> Path:
    folder = ctx.state_dir / "pipelines" / execution_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{step}.log"


def cache_key(step: Step, args: Mapping[str, Any], version: Mapping[str, Any]) -> str:
    text = json.dumps(
        {"type": step.type, "args": args, "code": version}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_still_valid(ctx: WorkspaceContext, outputs: Mapping[str, Any]) -> bool:
    """Cached outputs are reusable only while the records they name still exist."""
    try:
        if "model_id" in outputs:
            ctx.store.get_model(outputs["model_id"])
        for key, value in outputs.items():
            if (key == "dataset_id" or key.endswith("_id")) and key.startswith(
                ("dataset", "train", "validation", "test")
            ):
                ctx.store.get_dataset_version_by_id(value)
    except NotFound:
        return False
    return True


class ExecutionRunner:
    """Runs one stored execution to a terminal status. Use :func:`run_execution`."""

    def __init__(
        self,
        ctx: WorkspaceContext,
        execution_id: str,
        *,
        project: Any = None,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.id = execution_id
        self.project = project
        self.on_change = on_change
        body = get_execution(ctx, execution_id)
        self.definition: PipelineDefinition = _parse(body["definition"])
        self.params: dict[str, Any] = dict(body["parameters"])
        self.deps = dependencies(self.definition)
        self.owner = branch_owner(self.definition)
        self.stop_event = threading.Event()
        self._jobs_lock = threading.Lock()
        self._running_jobs: dict[str, str] = {}  # step -> job id

    # -- records ---------------------------------------------------------------------
    def _update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        body = update_execution(self.ctx, self.id, change)
        if self.on_change is not None:
            self.on_change(body)
        return body

    def _set_step(self, name: str, **fields: Any) -> dict[str, Any]:
        def change(body: dict[str, Any]) -> None:
            body["steps"][name].update(fields)

        body = self._update(change)
        if "status" in fields:
            self.ctx.store.append_event(
                EXECUTION, self.id, {"event": "step", "step": name, "status": fields["status"],
                                     "at": now_iso()},
            )  # fmt: skip
        return body

    # -- the loop --------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        def start(body: dict[str, Any]) -> None:
            if body["status"] in ("Executing",):
                raise InvalidState(f"Execution {self.id} is already running.")
            body["status"] = "Executing"
            body["started_at"] = body["started_at"] or now_iso()
            body["ended_at"] = None
            body["failure_reason"] = None
            body["stop_requested"] = False
            body["runs"] = int(body.get("runs", 0)) + 1
            # Who runs it: lets describe_execution tell a killed process from a slow one.
            body["runner_process"] = {"pid": os.getpid(), "host": socket.gethostname()}
            for step in body["steps"].values():
                if step["status"] not in ("Succeeded",):
                    step.update(status="Pending", error=None)

        body = self._update(start)
        self.ctx.store.append_event(EXECUTION, self.id, {"event": "started", "at": now_iso()})
        status = dict.fromkeys(body["steps"], "Pending")
        for name, step in body["steps"].items():
            status[name] = step["status"]
        outputs = {n: s["outputs"] for n, s in body["steps"].items() if s["status"] == "Succeeded"}
        failure: str | None = None
        last_stop_check = 0.0
        pool = cf.ThreadPoolExecutor(max_workers=self.definition.max_parallel_steps)
        futures: dict[cf.Future[dict[str, Any]], str] = {}
        interrupted = False
        try:
            while True:
                if time.monotonic() - last_stop_check > _STOP_CHECK_S:
                    last_stop_check = time.monotonic()
                    if get_execution(self.ctx, self.id).get("stop_requested"):
                        self._request_stop()
                if failure is None and not self.stop_event.is_set():
                    for step in self.definition.steps:
                        if status[step.name] != "Pending":
                            continue
                        decision = self._ready(step, status, outputs)
                        if decision == "wait":
                            continue
                        if decision == "skip":
                            status[step.name] = "Skipped"
                            self._set_step(step.name, status="Skipped", outputs={})
                            continue
                        if decision == "blocked":
                            continue
                        status[step.name] = "Executing"
                        futures[pool.submit(self._run_step, step, dict(outputs))] = step.name
                if not futures:
                    break
                done, _ = cf.wait(list(futures), timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    name = futures.pop(future)
                    try:
                        outputs[name] = future.result()
                        status[name] = "Succeeded"
                    except _Stopped:
                        status[name] = "Stopped"
                    except Exception as exc:  # recorded on the step by _run_step
                        status[name] = "Failed"
                        failure = failure or f"step {name!r} failed: {exc}"
        except KeyboardInterrupt:
            # Ctrl-C (or SIGTERM turned into one): stop the steps' jobs and record the
            # execution Stopped, so it can be resumed instead of staying Executing forever.
            interrupted = True
            self._request_stop()
        finally:
            pool.shutdown(wait=True)
        if interrupted:
            final, reason = "Stopped", "interrupted (Ctrl-C); `siklus pipelines resume` goes on"
        elif self.stop_event.is_set() and failure is None:
            final, reason = "Stopped", "stopped on request"
        elif failure is not None:
            final, reason = "Failed", failure
        elif any(s == "Pending" for s in status.values()):
            final, reason = (
                "Failed",
                "some steps could not run (their dependencies did not succeed)",
            )
        else:
            final, reason = "Succeeded", None

        def finish(body: dict[str, Any]) -> None:
            body["status"] = final
            body["failure_reason"] = reason
            body["ended_at"] = now_iso()
            for step in body["steps"].values():  # a step whose thread never recorded its end
                if step["status"] == "Executing":
                    step.update(status="Stopped", error=reason)

        body = self._update(finish)
        self.ctx.store.append_event(
            EXECUTION,
            self.id,
            {"event": "ended", "status": final, "reason": reason, "at": now_iso()},
        )
        if interrupted:
            raise KeyboardInterrupt
        return body

    def _ready(self, step: Step, status: dict[str, str], outputs: dict[str, Any]) -> str:
        """``run``, ``wait`` (dependencies still running), ``skip`` or ``blocked``."""
        deps = self.deps[step.name]
        if any(status[d] in ("Pending", "Executing") for d in deps):
            return "wait"
        if any(status[d] in ("Failed", "Stopped") for d in deps):
            return "blocked"
        if any(status[d] == "Skipped" for d in deps):
            return "skip"
        owner = self.owner.get(step.name)
        if owner is not None:
            branch = outputs[owner]["branch"]
            chosen = self.definition.step(owner)
            members = chosen.if_steps if branch == "if" else chosen.else_steps
            if step.name not in members:
                return "skip"
        return "run"

    def _request_stop(self) -> None:
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        executor = LocalExecutor(self.ctx)
        with self._jobs_lock:
            running = list(self._running_jobs.values())
        for job_id in running:
            with contextlib.suppress(InvalidState, NotFound):  # it may have ended meanwhile
                executor.stop(job_id)

    # -- one step ----------------------------------------------------------------------
    def _run_step(self, step: Step, outputs: dict[str, Any]) -> dict[str, Any]:
        log_path = step_log_path(self.ctx, self.id, step.name)
        log = logging.getLogger(f"siklus.pipelines.{self.id}.{step.name}")
        log.propagate = False
        log.setLevel(logging.INFO)
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        started = time.monotonic()
        self._set_step(
            step.name, status="Executing", started_at=now_iso(), ended_at=None, seconds=None,
            log_paths=[str(log_path)], job_ids=[], cached=False,
        )  # fmt: skip
        try:
            result = self._attempts(step, outputs, log)
        except _Stopped:
            self._set_step(step.name, status="Stopped", ended_at=now_iso(),
                           seconds=time.monotonic() - started)  # fmt: skip
            raise
        except Exception as exc:
            log.error("step failed: %s", exc)
            self._set_step(
                step.name, status="Failed", ended_at=now_iso(),
                seconds=time.monotonic() - started, error=f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
            raise
        finally:
            log.removeHandler(handler)
            handler.close()
        self._record_lineage(step, result["outputs"])
        self._set_step(
            step.name, status="Succeeded", ended_at=now_iso(),
            seconds=time.monotonic() - started, outputs=result["outputs"],
            cached=result["cached"], cache_key=result["cache_key"], error=None,
        )  # fmt: skip
        return result["outputs"]  # type: ignore[no-any-return]

    def _record_lineage(self, step: Step, outputs: Mapping[str, Any]) -> None:
        """Link the execution to what each step produced (pipeline-level lineage)."""
        node = ("pipeline_execution", self.id)
        for key, value in outputs.items():
            if not isinstance(value, str):
                continue
            kind = _OUTPUT_KINDS.get(key)
            if kind is None and key.endswith("_id") and key[:-3] in ("train", "validation", "test"):
                kind = "dataset"
            if kind is not None:
                self.ctx.store.add_lineage(node, (kind, value), f"step:{step.name}")

    def _attempts(self, step: Step, outputs: dict[str, Any], log: logging.Logger) -> dict[str, Any]:
        args = resolve_value(step.args, outputs, self.params)
        if step.type == "condition":
            pairs = [
                (resolve_value(c.left, outputs, self.params),
                 resolve_value(c.right, outputs, self.params))
                for c in step.conditions
            ]  # fmt: skip
            self._set_step(step.name, attempts=1)
            return {"outputs": evaluate_conditions(step, pairs, log), "cached": False,
                    "cache_key": None}  # fmt: skip
        key = None
        if step.cacheable:
            version = code_version(step, args, self.ctx.root)
            version["inputs"] = input_versions(self.ctx, args)
            key = cache_key(step, args, version)
            hit = get_cached(self.ctx, key)
            if hit is not None and _cache_still_valid(self.ctx, hit["outputs"]):
                log.info("cache hit %s (from execution %s)", key[:12], hit.get("execution_id"))
                return {"outputs": hit["outputs"], "cached": True, "cache_key": key}
        attempt = 0
        while True:
            attempt += 1
            self._set_step(step.name, attempts=attempt)
            log.info("attempt %d/%d", attempt, step.retry.max_attempts)
            run = StepRun(self.ctx, step, dict(args), log, self._job_callback(step.name),
                          project=self.project)  # fmt: skip
            try:
                result = HANDLERS[step.type](run)
                break
            except StepFailure:
                raise
            except Exception as exc:
                if self.stop_event.is_set():
                    raise _Stopped() from exc
                log.warning("attempt %d failed: %s: %s", attempt, type(exc).__name__, exc)
                if attempt >= step.retry.max_attempts:
                    raise
                delay = step.retry.delay(attempt)
                log.info("retrying in %.1fs", delay)
                self._set_step(step.name, error=f"attempt {attempt}: {type(exc).__name__}: {exc}")
                if self.stop_event.wait(delay):
                    raise _Stopped() from exc
        result = json.loads(json.dumps(result, default=str))
        if key is not None:
            put_cached(self.ctx, key, {
                "outputs": result, "step": step.name, "type": step.type,
                "pipeline": self.definition.name, "execution_id": self.id, "created_at": now_iso(),
            })  # fmt: skip
        return {"outputs": result, "cached": False, "cache_key": key}

    def _job_callback(self, step_name: str) -> Callable[[Job], None]:
        seen: set[str] = set()

        def on_job(job: Job) -> None:
            with self._jobs_lock:
                if job.status.value in ("Pending", "InProgress"):
                    self._running_jobs[step_name] = job.id
                else:
                    self._running_jobs.pop(step_name, None)
            if job.id not in seen:
                seen.add(job.id)

                def change(body: dict[str, Any]) -> None:
                    entry = body["steps"][step_name]
                    if job.id not in entry["job_ids"]:
                        entry["job_ids"].append(job.id)
                    if job.log_path and job.log_path not in entry["log_paths"]:
                        entry["log_paths"].append(job.log_path)

                self._update(change)
            if self.stop_event.is_set() and job.status.value in ("Pending", "InProgress"):
                with contextlib.suppress(InvalidState, NotFound):
                    LocalExecutor(self.ctx).stop(job.id)

        return on_job


class _Stopped(Exception):
    """A step gave up because the execution was asked to stop."""


def run_execution(
    ctx: WorkspaceContext,
    execution_id: str,
    *,
    project: Any = None,
    on_change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a stored execution in this process until it ends; return its record."""
    body = get_execution(ctx, execution_id)
    if body["status"] == "Succeeded":
        raise InvalidState(f"Execution {execution_id} already succeeded; start a new one.")
    return ExecutionRunner(ctx, execution_id, project=project, on_change=on_change).run()


def is_terminal(body: Mapping[str, Any]) -> bool:
    return body["status"] in TERMINAL


__all__ = [
    "STEP_DONE",
    "ExecutionRunner",
    "cache_key",
    "is_terminal",
    "resolve_value",
    "run_execution",
]
