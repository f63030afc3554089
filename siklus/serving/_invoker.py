"""What one endpoint worker does with a request, independent of the HTTP server.

:class:`Invoker` takes a body and its headers and returns the status, the JSON answer
and the response headers. In between it picks a production variant (by traffic weight,
or the one named in ``X-Siklus-Target-Variant``), checks the rows against that variant's
signature, hands them to the :class:`MicroBatcher`, records a sample of requests and
answers for monitoring (data capture), sends a copy to the shadow variant, and counts
the request in the worker's shared counters.

Micro-batching is adaptive and adds no wait: a request that arrives while the worker is
idle is predicted in the next turn of the event loop, alone. Requests that arrive while
a ``predict`` runs (which holds the event loop) queue up and are predicted together in
the following turn, one ``predict`` call for all of them.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import itertools
import json
import logging
import queue
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from siklus.exceptions import InvalidInput, SiklusError
from siklus.serving._errors import error_body
from siklus.serving._payload import JSON_TYPES, frame_from_json, json_document, media_type_of
from siklus.serving._payload import parse_payload as _parse_payload
from siklus.serving._rows import Part, RowPlan
from siklus.serving._stats import SlotWriter
from siklus.store.capture import CaptureWriter

logger = logging.getLogger("siklus.serving")

INFERENCE_ID_HEADER = "x-siklus-inference-id"
VARIANT_HEADER = "x-siklus-variant"
TARGET_VARIANT_HEADER = "x-siklus-target-variant"
_INFERENCE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_SHADOW_QUEUE = 1024
#: scikit-learn classifiers whose ``predict`` is ``classes_[argmax(predict_proba)]``.
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "LogisticRegression",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
    }
)


def _is_pipeline(estimator: Any) -> bool:
    """True for a scikit-learn ``Pipeline``, without importing scikit-learn for ONNX."""
    module = sys.modules.get("sklearn.pipeline")
    return module is not None and isinstance(estimator, module.Pipeline)


@dataclass
class Variant:
    """A loaded variant: its model, the checks of its signature, its capture writer."""

    name: str
    model: Any  # LoadedModel, or an object with the same predict/signature/classes
    ref: str = ""  # "group:version"
    model_id: str = ""
    index: int = 0  # its column in the worker's shared counters
    capture: CaptureWriter | None = None
    plan: RowPlan = field(init=False)

    def __post_init__(self) -> None:
        self.plan = RowPlan(self.model.signature)
        if not self.model_id:
            self.model_id = str(getattr(self.model, "model_id", "") or "")
        classes = self.model.classes
        self._classes = list(classes) if classes is not None else None
        # Rows are already conformed here: call the estimator directly (a LoadedModel) or
        # ``predict_conformed`` (ONNX), rather than ``predict``, which checks them again.
        self._estimator = getattr(self.model, "estimator", None)
        self._predict_conformed = getattr(self.model, "predict_conformed", None)
        self._proba = self._classes is not None and hasattr(self._estimator, "predict_proba")
        # Predictions and probabilities share one pass through the preprocessing steps
        # (what Pipeline.predict and predict_proba would each repeat).
        self._head: Any = None
        self._final: Any = self._estimator
        if _is_pipeline(self._estimator):
            self._final = self._estimator[-1]
            if len(self._estimator.steps) > 1:
                self._head = self._estimator[:-1]
        # For these estimators predict() is by definition the argmax of predict_proba().
        self._argmax = self._proba and type(self._final).__name__ in _ARGMAX_CLASSIFIERS

    def parse(self, body: bytes, content_type: str | None, doc: Any = None) -> Part:
        """The request's rows checked against this variant's signature."""
        if doc is not None:
            rows = self.plan.fast_rows(doc)
            if rows is not None:
                return Part(rows=rows)
            return Part(frame=self.plan.conform(frame_from_json(doc)))
        frame = _parse_payload(body, content_type, self.plan.signature)
        return Part(frame=self.plan.conform(frame))

    def predict(self, parts: Sequence[Part]) -> dict[str, list[Any]]:
        """One prediction call over the rows of ``parts``."""
        frame = self.plan.frame(parts)
        if self._estimator is None:
            if self._predict_conformed is not None:
                return self._predict_conformed(frame)
            return self.model.predict(frame)
        if not self._proba:
            return {"predictions": self._estimator.predict(frame).tolist()}
        data = self._head.transform(frame) if self._head is not None else frame
        proba = self._final.predict_proba(data)
        if self._argmax:
            predictions = self._final.classes_.take(proba.argmax(axis=1), axis=0)
        else:
            predictions = self._final.predict(data)
        return {"predictions": predictions.tolist(), "probabilities": proba.tolist()}

    def answer(self, out: dict[str, list[Any]]) -> dict[str, Any]:
        if self._classes is not None and "probabilities" in out:
            out["classes"] = self._classes
        out["model_id"] = self.model_id
        return out


def _slice(out: dict[str, list[Any]], start: int, stop: int) -> dict[str, list[Any]]:
    return {key: values[start:stop] for key, values in out.items() if isinstance(values, list)}


#: Most chances to linger a variant lets pass after lingers that did not pay.
_MOST_SKIPPED = 8


@dataclass(eq=False)
class _Linger:
    """A dear variant's waiting requests waiting for more, until ``timer`` fires."""

    start: int  # requests waiting when it began
    expected: int  # requests it waits for
    timer: asyncio.TimerHandle | None = None
    over: bool = False  # the timer fired


class MicroBatcher:
    """Joins queued parts into one predict call per variant.

    A variant whose ``predict`` is cheap (under ``offload_s`` a call, on average) is
    predicted on the event loop in the turn after the parts arrive, as before: a thread
    hop would cost more than it saves. A dear one (a 100-tree forest: ~4 ms whatever the
    row count) is predicted on a thread, one call at a time: while it runs, the event
    loop goes on reading and checking requests, and they all go into the next call. The
    next call's batch is then whatever came in during the last one, so a worker under
    load makes few, full calls instead of many small ones (with the loop blocked, the
    requests of one burst reach the batcher a few turns apart and were predicted in
    three or four calls).

    For a dear variant the batcher may also *linger*: clients that send one request at a
    time, sixteen of them, leave it alternating two half calls (the other half is on its
    way back while one runs), each paying the whole fixed cost. So when fewer requests
    are waiting than took part in the last call plus those that arrived during it, it
    waits for the rest, for at most a quarter of a call's cost and ``max_linger_s``.
    A client sending one request at a time alone is never kept waiting: its last call
    held one request and nothing arrived meanwhile.

    A linger is a bet that the clients of the last call come back. Open-loop traffic
    (each request from a new client, as behind a queue or a proxy) loses it every time,
    each request paying the wait for nothing. So a linger whose deadline passed before
    half of the requests it waited for came did not pay, and the variant lets its next
    chance to linger pass, then the next 2, 4, up to 8 after further misses; one that
    paid resets that. Closed-loop clients win the bet and keep lingering.
    """

    def __init__(
        self,
        max_rows: int,
        on_batch: Callable[[int, int], None] | None = None,
        *,
        offload_s: float = 0.001,
        max_linger_s: float = 0.002,
    ) -> None:
        self.max_rows = max_rows
        self.on_batch = on_batch
        self.offload_s = offload_s
        self.max_linger_s = max_linger_s
        self._expected: dict[str, int] = {}  # variant -> requests the next call may hold
        self._linger: dict[str, _Linger] = {}
        self._misses: dict[str, int] = {}  # variant -> lingers in a row that did not pay
        self._skip: dict[str, int] = {}  # variant -> chances to linger still to let pass
        self._pending: list[tuple[Variant, Part, asyncio.Future[dict[str, list[Any]]]]] = []
        self._scheduled = False
        self._busy: set[str] = set()  # variants with a call running on the thread
        # variant -> CPU seconds per call on the thread that ran it (EWMA). Not wall time:
        # on the predict thread that includes waits for the GIL while the event loop
        # works, which would keep a cheap model on the thread under load.
        self._cost: dict[str, float] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._thread_broken = False  # logged once
        self.calls = 0  # predict calls made (tests, benchmarks)

    def submit(self, variant: Variant, part: Part) -> asyncio.Future[dict[str, list[Any]]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, list[Any]]] = loop.create_future()
        self._pending.append((variant, part, future))
        self._schedule(loop)
        return future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        by_variant: dict[str, list[tuple[Variant, Part, asyncio.Future[Any]]]] = {}
        waiting = []
        for item in self._pending:
            if item[0].name in self._busy:
                waiting.append(item)  # goes into the call after the running one
            elif not item[2].done():  # a cancelled request (client gone) is left out
                by_variant.setdefault(item[0].name, []).append(item)
        self._pending = waiting
        for name in [name for name in self._linger if name not in by_variant]:
            self._end_linger(name, paid=None)  # its requests were all cancelled
        for name, items in by_variant.items():
            cost = self._cost.get(name, 0.0)
            if cost < self.offload_s:
                self._expected.pop(name, None)  # counted anew if it turns dear again
                for chunk in self._cut(items):
                    self._finish(chunk, self._predict(chunk))
                continue
            if self._lingers(loop, name, items, cost):
                self._pending.extend(items)  # older than anything submitted from now on
                continue
            chunks = self._cut(items)
            self._expected[name] = len(items)
            try:
                work = loop.run_in_executor(self._thread(), self._predict_all, chunks)
            except RuntimeError as exc:  # the thread pool broke or was shut down
                self._thread_failed(exc)
                for chunk in chunks:
                    self._finish(chunk, self._predict(chunk))
                continue
            self._busy.add(name)
            work.add_done_callback(functools.partial(self._done, loop, name, chunks))

    def _lingers(
        self, loop: asyncio.AbstractEventLoop, name: str, items: list[Any], cost: float
    ) -> bool:
        """Whether ``items`` of dear variant ``name`` wait for more (see the class doc)."""
        linger = self._linger.get(name)
        expected = self._expected.get(name, 0)
        rows = sum(len(part) for _, part, _ in items)
        if len(items) >= expected or rows >= self.max_rows:
            if linger is not None:
                self._end_linger(name, paid=True)
            return False
        if linger is None:
            delay = min(self.max_linger_s, 0.25 * cost)
            skip = self._skip.get(name, 0)
            if delay <= 0 or skip:
                self._skip[name] = max(0, skip - 1)
                return False
            linger = self._linger[name] = _Linger(len(items), expected)
            # The timer, not the clock, ends it: a loop may fire a timer a little early.
            linger.timer = loop.call_later(delay, self._linger_over, loop, linger)
            return True
        if not linger.over:
            return True
        came = len(items) - linger.start
        self._end_linger(name, paid=2 * came >= linger.expected - linger.start)
        return False

    def _linger_over(self, loop: asyncio.AbstractEventLoop, linger: _Linger) -> None:
        linger.over = True
        self._schedule(loop)

    def _end_linger(self, name: str, *, paid: bool | None) -> None:
        """End ``name``'s linger; ``paid``: whether it did (None: no telling)."""
        linger = self._linger.pop(name)
        if linger.timer is not None:
            linger.timer.cancel()
        if paid:
            self._misses.pop(name, None)
        elif paid is not None:  # let the next 1, 2, 4, up to 8 chances pass
            misses = self._misses[name] = self._misses.get(name, 0) + 1
            self._skip[name] = min(2 ** (misses - 1), _MOST_SKIPPED)

    @property
    def lingering(self) -> set[str]:
        """Variants whose waiting requests wait for more before their call."""
        return set(self._linger)

    def _cut(self, items: list[Any]) -> list[list[Any]]:
        """``items`` in calls of at most ``max_rows`` rows (one part is never split)."""
        chunks: list[list[Any]] = [[]]
        rows = 0
        for item in items:
            if chunks[-1] and rows + len(item[1]) > self.max_rows:
                chunks.append([])
                rows = 0
            chunks[-1].append(item)
            rows += len(item[1])
        return chunks

    def _thread(self) -> ThreadPoolExecutor:
        """The predict thread, made on first use (in the worker, never before a fork).

        scikit-learn's settings are per thread; the thread starts with the event loop
        thread's (the worker sets ``assume_finite``, rows being checked already).
        """
        if self._executor is None:
            sklearn = sys.modules.get("sklearn")
            config = sklearn.get_config() if sklearn is not None else None
            self._executor = ThreadPoolExecutor(
                1,
                thread_name_prefix="siklus-predict",
                initializer=(lambda: sklearn.set_config(**config)) if config else None,
            )
        return self._executor

    def _predict_all(self, chunks: list[list[Any]]) -> list[Any]:
        return [self._predict(chunk) for chunk in chunks]

    def _predict(self, chunk: list[tuple[Variant, Part, asyncio.Future[Any]]]) -> Any:
        """One call's outcome: ``(output, seconds)``, or one outcome per request when the
        call failed (each request predicted alone: the one at fault gets its error, the
        others their answers)."""
        started = time.thread_time()
        try:
            out = chunk[0][0].predict([part for _, part, _ in chunk])
        except Exception as exc:
            if len(chunk) == 1:
                return exc
            return [self._predict([item]) for item in chunk]
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # not the rows' fault: every request of the call gets it
            return exc
        return out, time.thread_time() - started

    def _done(
        self,
        loop: asyncio.AbstractEventLoop,
        name: str,
        chunks: list[list[Any]],
        work: asyncio.Future[list[Any]],
    ) -> None:
        self._busy.discard(name)
        # The next call may hold this call's requests again (their clients come back)
        # and those that arrived while it ran.
        self._expected[name] = self._expected.get(name, 0) + sum(
            1 for item in self._pending if item[0].name == name and not item[2].done()
        )
        try:
            if work.cancelled():  # the thread pool was shut down under the call
                for chunk in chunks:
                    for _, _, future in chunk:
                        future.cancel()
                return
            error = work.exception()
            if error is None:
                outcomes = work.result()
            elif isinstance(error, Exception):
                # Not the model's (``_predict`` catches those): the thread pool broke
                # (its initializer failed). The requests are predicted here instead.
                self._thread_failed(error)
                outcomes = [self._predict(chunk) for chunk in chunks]
            else:  # raised by the model and not an Exception: every request gets it
                outcomes = [error] * len(chunks)
            for chunk, outcome in zip(chunks, outcomes, strict=True):
                self._finish(chunk, outcome)
        finally:  # requests that came in during the call are never left waiting
            if self._pending:
                self._schedule(loop)

    def _thread_failed(self, error: BaseException) -> None:
        if not self._thread_broken:
            self._thread_broken = True
            logger.warning(
                "The predict thread failed (%s: %s); predicting on the event loop instead.",
                type(error).__name__,
                error,
            )

    def _finish(self, chunk: list[tuple[Variant, Part, asyncio.Future[Any]]], outcome: Any) -> None:
        """Hand each request of ``chunk`` its slice of the outcome (event-loop thread)."""
        if isinstance(outcome, list):  # the call failed; each request was tried alone
            for item, alone in zip(chunk, outcome, strict=True):
                self._finish([item], alone)
            return
        self.calls += 1
        if self.on_batch is not None:
            self.on_batch(sum(len(part) for _, part, _ in chunk), chunk[0][0].index)
        if isinstance(outcome, BaseException):  # every request of the chunk gets it
            for _, _, future in chunk:
                if not future.done():
                    future.set_exception(outcome)
            return
        out, seconds = outcome
        name = chunk[0][0].name
        previous = self._cost.get(name)
        self._cost[name] = seconds if previous is None else 0.8 * previous + 0.2 * seconds
        start = 0
        for _, part, future in chunk:
            stop = start + len(part)
            if not future.done():  # a cancelled request (client gone) is skipped
                future.set_result(_slice(out, start, stop))
            start = stop


class ShadowRunner:
    """Predicts copies of live requests with the shadow variant on a background thread.

    Its answers are recorded (data capture, counters) and never returned. When the
    shadow falls behind by more than ``_SHADOW_QUEUE`` requests, copies are dropped (and
    counted) rather than slowing production traffic.
    """

    def __init__(self, variant: Variant, record: Callable[[int, int, float], None]) -> None:
        self.variant = variant
        self._record = record
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=_SHADOW_QUEUE)
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.done = 0

    def submit(self, loop: asyncio.AbstractEventLoop, *item: Any) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="siklus-shadow", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait((loop, *item))
        except queue.Full:
            self.dropped += 1

    def _work(self) -> None:
        while True:
            loop, body, content_type, doc, inference_id = self._queue.get()
            started = time.perf_counter()
            status = 200
            try:
                part = self.variant.parse(body, content_type, doc)
                out = self.variant.predict([part])
                if self.variant.capture is not None and self.variant.capture.sampled():
                    self.variant.capture.write(
                        inference_id=inference_id,
                        model=self.variant.ref,
                        columns=self.variant.plan.names,
                        rows=part.as_rows(),
                        predictions=out["predictions"],
                    )
            except SiklusError as exc:
                status = exc.http_status
            except Exception:
                status = 500
                logger.exception("Shadow variant %s failed on a request", self.variant.name)
            seconds = time.perf_counter() - started
            self.done += 1
            try:
                loop.call_soon_threadsafe(self._record, self.variant.index, status, seconds)
            except RuntimeError:  # the loop closed (worker shutting down)
                return


class Invoker:
    """Turns a request into an answer; see the module docstring.

    Args:
        endpoint: Endpoint name (in ``/ping`` and error messages).
        variants: Production variants with their traffic weights.
        shadow: The shadow variant, or None.
        max_payload_bytes: Largest body accepted (enforced by the HTTP layer).
        slot: This worker's shared counters, or None (in-process use).
        max_batch_rows: Most rows in one predict call.
    """

    def __init__(
        self,
        endpoint: str,
        variants: Sequence[tuple[Variant, float]],
        *,
        shadow: Variant | None = None,
        max_payload_bytes: int,
        slot: SlotWriter | None = None,
        max_batch_rows: int = 512,
        seed: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.variants = [v for v, _ in variants]
        self.by_name = {v.name: v for v in self.variants}
        weights = [max(0.0, float(w)) for _, w in variants]
        self._cumulative = list(itertools.accumulate(weights))
        self._total = self._cumulative[-1]
        self._random = random.Random(seed)
        self.max_payload_bytes = max_payload_bytes
        self.slot = slot
        self.batcher = MicroBatcher(max_batch_rows, slot.batch if slot is not None else None)
        self.shadow = ShadowRunner(shadow, self._record) if shadow is not None else None
        self.draining = False
        ping: dict[str, Any] = {"status": "healthy", "endpoint": endpoint}
        if len(self.variants) == 1 and shadow is None:
            ping["model_id"] = self.variants[0].model_id
        else:
            ping["variants"] = {v.name: v.model_id for v in self.variants}
            if shadow is not None:
                ping["shadow"] = {shadow.name: shadow.model_id}
        self.ping_body = json.dumps(ping).encode()

    def _record(self, variant: int, status: int, seconds: float) -> None:
        if self.slot is not None:
            self.slot.record(variant, status, seconds)

    def choose(self, target: str | None) -> Variant:
        if target:
            try:
                return self.by_name[target]
            except KeyError:
                raise InvalidInput(
                    f"X-Siklus-Target-Variant names {target!r}, which is not a production "
                    f"variant of endpoint {self.endpoint!r}; its variants are "
                    f"{sorted(self.by_name)}."
                ) from None
        if len(self.variants) == 1:
            return self.variants[0]
        draw = self._random.random() * self._total
        return self.variants[bisect.bisect_right(self._cumulative, draw)]

    async def invoke(
        self, body: bytes, content_type: str | None, headers: dict[str, str]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Answer one ``POST /invocations``: (status, JSON body, extra response headers)."""
        started = time.perf_counter()
        if self.slot is not None:
            self.slot.begin()
        variant_index = 0
        inference_id = headers.get(INFERENCE_ID_HEADER) or uuid.uuid4().hex
        out_headers = [(b"x-siklus-inference-id", inference_id.encode("latin-1", "replace"))]
        try:
            if not _INFERENCE_ID.match(inference_id):
                raise InvalidInput(
                    f"X-Siklus-Inference-Id {inference_id[:140]!r} is not valid; use 1-128 "
                    "letters, digits, '_', '.', ':' or '-', or leave it out."
                )
            variant = self.choose(headers.get(TARGET_VARIANT_HEADER))
            variant_index = variant.index
            out_headers.append((b"x-siklus-variant", variant.name.encode()))
            doc = json_document(body) if media_type_of(content_type) in JSON_TYPES else None
            part = variant.parse(body, content_type, doc)
            out = await self.batcher.submit(variant, part)
            if variant.capture is not None and variant.capture.sampled():
                variant.capture.write(
                    inference_id=inference_id,
                    model=variant.ref,
                    columns=variant.plan.names,
                    rows=part.as_rows(),
                    predictions=out["predictions"],
                )
            if self.shadow is not None:
                self.shadow.submit(
                    asyncio.get_running_loop(), body, content_type, doc, inference_id
                )
            answer = variant.answer(out)
            answer["variant"] = variant.name
            answer["inference_id"] = inference_id
            status, payload = 200, json.dumps(answer).encode()
        except SiklusError as exc:
            status, payload = exc.http_status, json.dumps(error_body(exc)).encode()
        except Exception as exc:  # the server must outlive any one bad request
            logger.exception("Endpoint %s: unexpected error on /invocations", self.endpoint)
            message = (
                f"Unexpected error while predicting: {type(exc).__name__}: {exc}. "
                f"See the server log of endpoint {self.endpoint!r}."
            )
            status = 500
            payload = json.dumps({"error": {"type": type(exc).__name__, "message": message}})
            payload = payload.encode()
        if self.slot is not None:
            self.slot.end(variant_index, status, time.perf_counter() - started)
        return status, payload, out_headers

    def refused(self, status: int) -> None:
        """Count a request refused before :meth:`invoke` (too large, unreadable)."""
        if self.slot is not None:
            self.slot.record(0, status, 0.0)


__all__ = [
    "INFERENCE_ID_HEADER",
    "TARGET_VARIANT_HEADER",
    "VARIANT_HEADER",
    "Invoker",
    "MicroBatcher",
    "ShadowRunner",
    "Variant",
]
