"""The async endpoint's front process: ``python -m siklus.serving.asynchronous._front NAME``.

It answers HTTP and never predicts: ``POST /invocations`` checks what can be checked at
once (JSON/CSV syntax, columns and types of an inline payload; that a referenced file
exists), stores an inline payload in the workspace, queues a message and answers 202 with
the inference id; ``GET /results/{id}`` reads the queue and the result file. A
:class:`WorkerPool` starts worker processes while the queue holds work (up to
``max_workers``); workers exit when idle, so an idle endpoint runs none.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from siklus.exceptions import InvalidInput, NotFound, PayloadTooLarge, SiklusError
from siklus.jobs import process_create_time
from siklus.serving import parse_payload
from siklus.serving.asynchronous import _hosting as hosting
from siklus.serving.asynchronous._io import content_type_for, resolve_location, write_atomic
from siklus.serving.asynchronous._queue import InferenceQueue, InferenceStatus, open_queue
from siklus.serving.asynchronous._worker import run_worker
from siklus.store import Model, WorkspaceContext
from siklus.training import conform

KIND = "async-endpoint"
_WORKER_MODULE = "siklus.serving.asynchronous._worker"
_FRONT_MODULE = "siklus.serving.asynchronous._front"
logger = logging.getLogger("siklus.serving.async")
_SCALE_EVERY_S = 0.25
#: Result files up to this size are returned inline by ``GET /results/{id}``.
INLINE_RESULT_BYTES = 16 * 2**20


class WorkerPool:
    """Keeps ``min(max_workers, backlog)`` worker processes alive; never restarts idle ones.

    Workers are forked from a *forkserver* (:mod:`multiprocessing`) that imported the
    worker module (scikit-learn, pandas) once, when the front started: a new worker is
    ready in milliseconds instead of paying the imports again, which is what makes
    scale-to-zero cheap. The forkserver is single-threaded, so forking from it is safe
    where forking the threaded front would not be. Workers stay in the front's process
    group, so stopping the endpoint stops them too; should the front die, each worker
    notices (it watches the front's pid and start time) and exits after its current request.

    A worker that exits with an error (it cannot load the model, say) delays the next
    start, doubling up to 30 s, so a broken endpoint does not spin.
    """

    def __init__(
        self,
        name: str,
        *,
        max_workers: int,
        log_path: Path,
        record: dict[str, Any],
        model: Model,
    ) -> None:
        self.name = name
        # Workers are children of the forkserver, not of this process: they watch this
        # process's (pid, start time) to exit when the front dies.
        front = (os.getpid(), process_create_time(os.getpid()))
        self._worker_args = (name, str(log_path), record, model, front)
        self.max_workers = max_workers
        self._log_path = log_path
        self._mp = multiprocessing.get_context("forkserver")
        self._procs: list[multiprocessing.process.BaseProcess] = []
        self._lock = threading.Lock()
        self._failures = 0
        self._not_before = 0.0

    def warm_up(self) -> None:
        """Start the forkserver (and its imports) now, in the background."""
        multiprocessing.forkserver.set_forkserver_preload([_WORKER_MODULE, _FRONT_MODULE])
        threading.Thread(
            target=multiprocessing.forkserver.ensure_running, daemon=True, name="forkserver"
        ).start()

    def alive(self) -> int:
        with self._lock:
            self._reap()
            return len(self._procs)

    def _reap(self) -> None:
        for proc in [p for p in self._procs if not p.is_alive()]:
            self._procs.remove(proc)
            proc.join()
            if proc.exitcode != 0:
                self._failures += 1
                self._not_before = time.monotonic() + min(30.0, 0.5 * 2**self._failures)
                logger.warning(
                    "Worker pid %s exited with code %s; see %s",
                    proc.pid,
                    proc.exitcode,
                    self._log_path,
                )
            else:
                self._failures = 0

    def scale(self, backlog: int) -> int:
        """Start workers for ``backlog`` messages; returns how many run now."""
        with self._lock:
            self._reap()
            wanted = min(self.max_workers, backlog)
            while len(self._procs) < wanted and time.monotonic() >= self._not_before:
                proc = self._mp.Process(
                    target=run_worker,
                    args=self._worker_args,
                    name=f"siklus-async-{self.name}",
                    daemon=False,
                )
                proc.start()
                self._procs.append(proc)
            return len(self._procs)

    def stop(self, grace_seconds: float = 10.0) -> None:
        with self._lock:
            for proc in self._procs:
                if proc.is_alive():
                    proc.terminate()
            deadline = time.monotonic() + grace_seconds
            for proc in self._procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
                    proc.join(5.0)
            self._procs.clear()


def create_app(
    ctx: WorkspaceContext,
    record: Mapping[str, Any],
    queue: InferenceQueue,
    pool: WorkerPool,
    signature: list[dict[str, Any]],
) -> Starlette:
    """The front's ASGI app; see the module docstring for its routes."""
    name = str(record["name"])
    limit = int(ctx.setting("max_payload_bytes"))
    inputs = Path(record["inputs_dir"])
    results = Path(record["results_dir"])

    def submit(body: bytes, content_type: str | None) -> dict[str, Any]:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        reference = _reference(body) if media in ("application/json", "text/json") else None
        inference_id = uuid.uuid4().hex
        if reference is not None:
            location = resolve_location(ctx, reference.get("input_location"))
            kind = content_type_for(location, reference.get("content_type"))
        else:
            # Checkable now: syntax, columns and types. The worker repeats it on the file.
            conform(parse_payload(body, content_type, signature), signature)
            kind = content_type or "application/json"
            suffix = ".csv" if "csv" in kind else ".parquet" if "parquet" in kind else ".json"
            path = inputs / f"{inference_id}{suffix}"
            write_atomic(path, body)
            location = str(path)
        output = str(results / f"{inference_id}.json")
        queue.put(
            inference_id,
            {"input_location": location, "content_type": kind, "output_location": output},
        )
        pool.scale(queue.backlog())
        return {"inference_id": inference_id, "status": "Queued", "output_location": output}

    def result(inference_id: str) -> dict[str, Any]:
        try:
            message = queue.get(inference_id)
        except NotFound:
            raise NotFound(
                f"No inference {inference_id!r} on async endpoint {name!r}; use the id that "
                "POST /invocations answered."
            ) from None
        answer = message.to_dict()
        if message.status == InferenceStatus.COMPLETED:
            path = Path(message.body["output_location"])
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                answer["result_missing"] = f"the result file {path} was removed"
            else:
                if size <= INLINE_RESULT_BYTES:
                    answer["result"] = json.loads(path.read_bytes())
        return answer

    async def ping(request: Request) -> Response:
        counts = await run_in_threadpool(queue.counts)
        return JSONResponse(
            {"status": "healthy", "endpoint": name, "workers": pool.alive(), "queue": counts}
        )

    async def invocations(request: Request) -> Response:
        try:
            body = await hosting.read_limited(request, limit, _too_large)
            answer = await run_in_threadpool(submit, body, request.headers.get("content-type"))
            headers = {"Location": f"/results/{answer['inference_id']}"}
            return JSONResponse(answer, status_code=202, headers=headers)
        except Exception as exc:
            return _error(name, exc)

    async def results_route(request: Request) -> Response:
        try:
            answer = await run_in_threadpool(result, request.path_params["inference_id"])
            # json.dumps as the worker wrote the result (and the real-time endpoints answer):
            # a regressor's prediction may be infinite, which JSONResponse refuses.
            return Response(json.dumps(answer), media_type="application/json")
        except Exception as exc:
            return _error(name, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = (
            f"{request.method} {request.url.path}: {exc.detail}. This async endpoint serves "
            "GET /ping, POST /invocations and GET /results/{id}."
        )
        return JSONResponse(
            {"error": {"type": "HTTPException", "message": message}},
            status_code=exc.status_code,
        )

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/results/{inference_id}", results_route, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


def _reference(body: bytes) -> dict[str, Any] | None:
    """The body as a reference ``{"input_location": ..., "content_type"?: ...}``, else None."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None  # parse_payload reports the syntax error with its position
    if isinstance(doc, dict) and "input_location" in doc:
        extra = set(doc) - {"input_location", "content_type"}
        if extra:
            raise InvalidInput(
                f"A payload reference holds only input_location and content_type; remove "
                f"{sorted(extra)}."
            )
        return doc
    return None


def _error(name: str, exc: Exception) -> Response:
    if isinstance(exc, SiklusError):
        return JSONResponse(hosting.error_body(exc), status_code=exc.http_status)
    logger.exception("Async endpoint %s: unexpected error", name)
    return JSONResponse(hosting.error_body(exc), status_code=500)


def _too_large(size: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The inline request body ({size}) exceeds the limit of {limit} bytes. Put the payload "
        'in a file and send {"input_location": "PATH-OR-URL"} instead.'
    )


def main(argv: list[str] | None = None) -> int:
    """Bind, record InService, then serve and scale workers until SIGTERM."""
    begun = hosting.begin_process(
        KIND, "Async endpoint", "python -m siklus.serving.asynchronous._front", argv
    )
    if begun is None:
        return 1
    args, ctx, record = begun
    name = args.name
    try:
        sock = hosting.bind_socket(str(ctx.setting("endpoint_host")), args.port or 0)
        queue = open_queue(record["queue_url"], max_attempts=int(record["max_attempts"]))
        model = ctx.store.get_model(record["model_id"])
        signature = list(model.manifest["input_signature"])
        pool = WorkerPool(
            name,
            max_workers=int(record["max_workers"]),
            log_path=Path(record["worker_log_path"]),
            record=dict(record),
            model=model,
        )
        pool.warm_up()
        app = create_app(ctx, record, queue, pool, signature)
    except Exception as exc:
        reason = f"could not start: {type(exc).__name__}: {exc}"
        logger.exception("Async endpoint %s %s", name, reason)
        hosting.update(ctx, KIND, name, status="Failed", failure_reason=reason)
        return 1
    if not hosting.record_serving(ctx, KIND, name, sock):
        logger.error("Async endpoint %s was deleted while starting; exiting", name)
        return 1
    stop = threading.Event()

    def scaler() -> None:
        # Picks up re-queued messages (a dead worker's) and work left from a restart.
        while not stop.wait(_SCALE_EVERY_S):
            try:
                pool.scale(queue.backlog())
            except Exception:
                logger.exception("Async endpoint %s: scaling failed", name)

    thread = threading.Thread(target=scaler, daemon=True, name="scaler")
    thread.start()
    url = ctx.store.get_resource(KIND, name).body.get("url")
    logger.info("Async endpoint %s serves at %s", name, url)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stop.set()
        thread.join()
        pool.stop()
        queue.close()
    logger.info("Async endpoint %s stopped", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
