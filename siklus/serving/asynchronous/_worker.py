"""An async-inference worker, forked by the endpoint's front (or run by hand with
``python -m siklus.serving.asynchronous._worker NAME``).

The endpoint's front process starts workers while its queue holds work; a worker loads the
model once, then claims messages one at a time until the queue has been empty for the
endpoint's ``worker_idle_timeout``, and exits — which is how an idle endpoint scales to
zero workers. While it predicts, a heartbeat thread keeps extending the message's
visibility deadline, so only a worker that really died (or hung) loses its message.

On SIGTERM (the endpoint is deleted) it finishes the message in hand and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidInput, SiklusError
from siklus.jobs import process_alive
from siklus.serving.asynchronous._io import NotPlainNumbers, ResultWriter, read_frames
from siklus.serving.asynchronous._queue import InferenceMessage, InferenceQueue, open_queue
from siklus.serving.asynchronous._webhook import notify
from siklus.store import Model, WorkspaceContext
from siklus.training import LoadedModel, load_model

KIND = "async-endpoint"
logger = logging.getLogger("siklus.serving.async")
#: Polling an empty queue starts at _POLL_MIN_S and doubles up to _POLL_MAX_S: a request
#: arriving soon after the last one is picked up quickly, an idle worker polls rarely.
_POLL_MIN_S = 0.005
_POLL_MAX_S = 0.2


class _Heartbeat:
    """Extends a message's visibility deadline every third of the timeout until stopped."""

    def __init__(self, queue: InferenceQueue, message_id: str, owner: str, timeout: float):
        self._stop = threading.Event()
        self._args = (queue, message_id, owner, timeout)
        self._thread = threading.Thread(target=self._run, daemon=True, name="heartbeat")
        self._thread.start()

    def _run(self) -> None:
        queue, message_id, owner, timeout = self._args
        while not self._stop.wait(timeout / 3):
            if not queue.extend(message_id, owner, visibility_timeout=timeout):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def predict_message(loaded: LoadedModel, message: InferenceMessage) -> dict[str, Any]:
    """Read the message's payload, predict it (chunk by chunk) and write the result file.

    A CSV's number columns are first parsed as numbers by the CSV reader itself; if one
    holds anything else, the payload is read again as text for ``conform`` to judge (and
    name) it, so the outcome is the same either way. The result is streamed to disk, so
    memory holds one chunk's answers whatever the payload's size.

    Returns:
        What the queue records on completion: the number of rows predicted.

    Raises:
        InvalidInput: The payload cannot be parsed or does not fit the model's signature.
    """
    try:
        return _predict_payload(loaded, message, typed=True)
    except NotPlainNumbers:
        return _predict_payload(loaded, message, typed=False)


def _predict_payload(loaded: LoadedModel, message: InferenceMessage, *, typed: bool) -> dict:
    body = message.body
    rows = 0
    with ResultWriter(Path(body["output_location"])) as result:
        for frame in read_frames(
            body["input_location"], body["content_type"], loaded.signature, typed=typed
        ):
            try:
                result.add(loaded.predict(frame))
            except InvalidInput as exc:
                if rows == 0:  # the first chunk: its row numbers are the file's
                    raise
                # conform numbers rows within the chunk: say where the chunk starts.
                raise InvalidInput(
                    f"In the data rows {rows}-{rows + len(frame) - 1} of the payload (add "
                    f"{rows} to the row numbers that follow): {exc.message}"
                ) from None
            rows += len(frame)
        result.commit(model_id=loaded.model_id, inference_id=message.id)
    return {"rows": rows}


def _notify(ctx: WorkspaceContext, name: str, record: dict[str, Any], outcome: dict) -> None:
    url = record.get("success_webhook" if outcome["status"] == "Completed" else "failure_webhook")
    if not url:
        return
    delivered, detail = notify(url, outcome)
    try:
        ctx.store.append_event(
            KIND,
            name,
            {"webhook": url, "delivered": delivered, "detail": detail, **outcome},
        )
    except Exception:  # the event is a courtesy; the result is already stored
        logger.exception("Could not record the webhook outcome")


def serve(
    name: str,
    record: dict[str, Any] | None = None,
    model: Model | None = None,
    front: tuple[int, float | None] | None = None,
) -> int:
    """Claim and process messages until idle for ``worker_idle_timeout`` (or SIGTERM).

    Args:
        name: The async endpoint.
        record: Its record and model, when the front passes them: then the metadata store
            is not opened at all unless a webhook outcome is recorded, which keeps a
            worker's start to the model load.
        model: See ``record``.
        front: ``(pid, started_at)`` of the front that started this worker. When that
            process is gone (killed, crashed) the worker takes no further message and
            exits: its endpoint is Failed, and ``delete`` can no longer reach it through
            the front's process group, so it must not keep running on its own.
    """
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    started = time.monotonic()
    ctx = WorkspaceContext.open()
    if record is None:
        record = ctx.store.get_resource(KIND, name).body
    if model is None:
        model = ctx.store.get_model(record["model_id"])
    queue = open_queue(record["queue_url"], max_attempts=int(record["max_attempts"]))
    loaded = load_model(ctx, model)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    idle_timeout = float(record["worker_idle_timeout"])
    visibility = float(record["visibility_timeout"])
    logger.info("Worker %s of %s ready in %.2f s", owner, name, time.monotonic() - started)
    idle_since = time.monotonic()
    done = 0
    poll = _POLL_MIN_S
    while not stopping.is_set():
        if front is not None and not process_alive(*front):
            logger.warning(
                "The front (pid %s) of %s is gone; worker %s exits", front[0], name, owner
            )
            break
        message = queue.claim(owner, visibility_timeout=visibility)
        if message is None:
            if time.monotonic() - idle_since >= idle_timeout:
                break
            stopping.wait(poll)
            poll = min(_POLL_MAX_S, poll * 2)
            continue
        poll = _POLL_MIN_S
        heartbeat = _Heartbeat(queue, message.id, owner, visibility)
        outcome: dict[str, Any] = {
            "inference_id": message.id,
            "endpoint": name,
            "output_location": message.body["output_location"],
        }
        try:
            result = predict_message(loaded, message)
            settled = queue.complete(message.id, owner, result)
            outcome |= {"status": "Completed", **result}
        except SiklusError as exc:
            settled = queue.fail(message.id, owner, exc.message)
            outcome |= {"status": "Failed", "failure_reason": exc.message}
        except Exception as exc:  # a worker survives any one bad message
            logger.exception("Inference %s failed unexpectedly", message.id)
            reason = f"Unexpected error while predicting: {type(exc).__name__}: {exc}"
            settled = queue.fail(message.id, owner, reason)
            outcome |= {"status": "Failed", "failure_reason": reason}
        finally:
            heartbeat.stop()
        if settled:
            _notify(ctx, name, record, outcome)
        else:
            logger.warning("Inference %s was taken over by another worker", message.id)
        done += 1
        idle_since = time.monotonic()
    queue.close()
    logger.info("Worker %s of %s exits after %d inference(s)", owner, name, done)
    return 0


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("siklus").setLevel(logging.INFO)


def run_worker(
    name: str,
    log_path: str,
    record: dict[str, Any],
    model: Model,
    front: tuple[int, float | None] | None = None,
) -> None:
    """Entry point of a worker forked by the front's forkserver: log to ``log_path``, serve.

    Exits the process with :func:`serve`'s status (1 when it could not run).
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    _setup_logging()
    try:
        status = serve(name, record, model, front)
    except Exception:
        logger.exception("Worker of %s could not run", name)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(status)


def main(argv: list[str] | None = None) -> int:
    """``python -m siklus.serving.asynchronous._worker NAME``: one worker, run by hand."""
    parser = argparse.ArgumentParser(prog="python -m siklus.serving.asynchronous._worker")
    parser.add_argument("name", help="Async endpoint name.")
    args = parser.parse_args(argv)
    _setup_logging()
    try:
        return serve(args.name)
    except Exception:
        logger.exception("Worker of %s could not run", args.name)
        return 1


if __name__ == "__main__":
    sys.exit(main())
