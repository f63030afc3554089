"""The endpoint supervisor: workers on one socket, blue/green rollouts, autoscaling,
metrics and state (the loop that :mod:`siklus.serving._server` runs; see its docstring).

It runs single-threaded (signal handlers only set flags), so forking a worker never
copies a lock held by another thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siklus.exceptions import NotFound, SiklusError
from siklus.serving import _stats as st
from siklus.serving._config import CONFIG_KIND, EVENT_KIND, STATE_KIND, EndpointConfig
from siklus.serving._loading import load_variant_model
from siklus.serving._metrics import NAMESPACE
from siklus.serving._worker import run_worker
from siklus.store import WorkspaceContext

logger = logging.getLogger("siklus.serving")

_TICK_S = 0.05
_CONFIG_POLL_S = 1.0


@dataclass
class _Worker:
    pid: int
    slot: int
    generation: int
    started: float
    draining: bool = False


@dataclass
class _Generation:
    number: int
    revision: int
    config: EndpointConfig
    models: dict[str, Any]
    names: list[str] = field(default_factory=list)  # variant name per counter column
    body: dict[str, Any] = field(default_factory=dict)


class _Totals:
    """Counters of one variant accumulated since the last metrics flush."""

    def __init__(self) -> None:
        self.invocations = 0
        self.errors_4xx = 0
        self.errors_5xx = 0
        self.predict_calls = 0
        self.predict_rows = 0
        self.histogram = np.zeros(st.BUCKETS, dtype=np.int64)

    def add(self, block: np.ndarray) -> None:
        self.invocations += int(block[st.INVOCATIONS])
        self.errors_4xx += int(block[st.ERRORS_4XX])
        self.errors_5xx += int(block[st.ERRORS_5XX])
        self.predict_calls += int(block[st.PREDICT_CALLS])
        self.predict_rows += int(block[st.PREDICT_ROWS])
        self.histogram += block[st.HISTOGRAM :]


class Supervisor:
    """Owns the socket, the workers and the endpoint's state (see the module docstring)."""

    def __init__(self, ctx: WorkspaceContext, name: str, sock: socket.socket) -> None:
        self.ctx = ctx
        self.name = name
        self.sock = sock
        self.stats = st.SharedStats()
        self.workers: dict[int, _Worker] = {}
        self.generations: dict[int, _Generation] = {}
        self.active: _Generation | None = None
        self.failed_revision: int | None = None
        self.last_error: str | None = None
        self.stopping = False
        self.check_config = False
        self.max_payload_bytes = int(ctx.setting("max_payload_bytes"))
        self.start_timeout = float(ctx.setting("endpoint_start_timeout"))
        self._baseline: dict[int, np.ndarray] = {}
        self._totals: dict[str, _Totals] = {}
        self._in_flight: deque[tuple[float, int]] = deque()
        self._last_scale = time.monotonic()
        self._last_flush = time.monotonic()
        self._last_poll = time.monotonic()
        self._last_state: tuple[Any, ...] | None = None
        self._respawn_after = 0.0

    # -- workers -----------------------------------------------------------------------
    def _spawn(self, generation: _Generation) -> _Worker:
        slot = self.stats.free_slot({w.slot for w in self.workers.values()})
        self.stats.reset(slot)
        self._baseline[slot] = self.stats.snapshot(slot)
        self.stats.table[slot, st.GENERATION] = generation.number
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                code = run_worker(
                    root=str(self.ctx.root),
                    endpoint=self.name,
                    config=generation.config,
                    models=generation.models,
                    stats=self.stats,
                    slot=slot,
                    sock=self.sock,
                    max_payload_bytes=self.max_payload_bytes,
                    parent=parent,
                )
            except BaseException:
                logger.exception("Worker of endpoint %s failed", self.name)
            finally:
                logging.shutdown()
                os._exit(code)
        self.stats.table[slot, st.PID] = pid
        worker = _Worker(pid, slot, generation.number, time.monotonic())
        self.workers[pid] = worker
        return worker

    def _drain(self, worker: _Worker) -> None:
        worker.draining = True
        self.stats.table[worker.slot, st.DRAIN] = 1

    def _wait_until_not_accepting(self, workers: list[_Worker], timeout: float = 5.0) -> None:
        """Return once ``workers`` have closed their listening sockets (or exited).

        The rollout is recorded as complete only after this, so a request sent after
        ``update_endpoint`` returns reaches the new config, never a draining worker that
        had not yet noticed its drain flag (workers look at it every 0.1 s).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._reap()
            if all(
                w.pid not in self.workers or not self.stats.table[w.slot, st.READY] for w in workers
            ):
                return
            time.sleep(0.005)
        logger.warning(
            "Endpoint %s: draining workers still accepting after %s s", self.name, timeout
        )

    def _serving(self) -> list[_Worker]:
        if self.active is None:
            return []
        return [
            w
            for w in self.workers.values()
            if w.generation == self.active.number and not w.draining
        ]

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            self._collect(worker.slot, worker.generation)
            self._baseline.pop(worker.slot, None)
            self.stats.reset(worker.slot)
            if not worker.draining and not self.stopping:
                code = os.waitstatus_to_exitcode(status)
                logger.error("Worker %s of endpoint %s died (exit %s)", pid, self.name, code)
                self._event({"event": "worker-died", "pid": pid, "exit_code": code})

    def _replace_dead(self) -> None:
        """Keep at least the minimum of workers (a crashed one is restarted, at most 1/s)."""
        active = self.active
        if active is None or self.stopping or time.monotonic() < self._respawn_after:
            return
        if len(self._serving()) < max(1, active.config.min_workers):
            self._spawn(active)
            self._respawn_after = time.monotonic() + 1.0

    # -- rollout -----------------------------------------------------------------------
    def _load(self, revision: int, body: dict[str, Any]) -> _Generation:
        config = EndpointConfig.from_dict(body)
        models: dict[str, Any] = {}
        for spec in config.all_variants:
            if spec.runtime == "native":  # ONNX sessions are made in the worker (fork-unsafe)
                models[spec.name] = load_variant_model(self.ctx, spec.package_id, spec.runtime)
        number = max(self.generations, default=0) + 1
        names = [spec.name for spec in config.all_variants]
        return _Generation(number, revision, config, models, names, dict(body))

    def rollout(self, revision: int, body: dict[str, Any]) -> None:
        """Start the config's workers, wait until they serve, then drain the old ones.

        Raises:
            SiklusError, RuntimeError: the new config did not come up; nothing changed.
        """
        generation = self._load(revision, body)
        wanted = generation.config.initial_workers
        if self.active is not None:  # keep the current scale within the new bounds
            wanted = min(
                max(len(self._serving()), generation.config.min_workers),
                generation.config.max_workers,
            )
        wanted = max(1, wanted)
        self._event({"event": "rollout-started", "revision": revision, "workers": wanted})
        self.generations[generation.number] = generation
        fresh = [self._spawn(generation) for _ in range(wanted)]
        deadline = time.monotonic() + self.start_timeout
        while not all(self.stats.table[w.slot, st.READY] for w in fresh):
            self._reap()
            dead = [w for w in fresh if w.pid not in self.workers]
            if dead or time.monotonic() > deadline:
                for w in fresh:
                    if w.pid in self.workers:
                        w.draining = True  # expected to go: not a "worker died" event
                        os.kill(w.pid, signal.SIGKILL)
                reason = (
                    f"worker {dead[0].pid} exited while starting; see the endpoint log"
                    if dead
                    else f"workers did not start within {self.start_timeout:g} s"
                )
                del self.generations[generation.number]
                raise RuntimeError(reason)
            time.sleep(0.01)
        old = [w for w in self.workers.values() if w.generation != generation.number]
        for worker in old:
            self._drain(worker)
        self._wait_until_not_accepting(old)
        previous = self.active
        self.active = generation
        self._last_scale = time.monotonic()
        self._in_flight.clear()
        if previous is not None:
            previous.models = {}
        self.failed_revision, self.last_error = None, None
        self._event({"event": "rollout-completed", "revision": revision, "workers": wanted})
        logger.info(
            "Endpoint %s serves config revision %s with %s worker(s): %s",
            self.name,
            revision,
            wanted,
            ", ".join(f"{v.name}={v.model}" for v in generation.config.all_variants),
        )

    def _poll_config(self) -> None:
        now = time.monotonic()
        if not self.check_config and now - self._last_poll < _CONFIG_POLL_S:
            return
        self.check_config = False
        self._last_poll = now
        try:
            resource = self.ctx.store.get_resource(CONFIG_KIND, self.name)
        except NotFound:
            return
        active = self.active.revision if self.active is not None else 0
        if resource.revision <= active or resource.revision == self.failed_revision:
            return
        if self.active is not None and resource.body == self.active.body:
            # The same config written again (e.g. restored after a failed update).
            self.active.revision = resource.revision
            self.write_state(force=True)
            return
        try:
            self.rollout(resource.revision, resource.body)
        except Exception as exc:
            self.failed_revision = resource.revision
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.error(
                "Endpoint %s: update to revision %s failed: %s",
                self.name,
                resource.revision,
                self.last_error,
            )
            self._event(
                {"event": "rollout-failed", "revision": resource.revision, "error": self.last_error}
            )
        self.write_state(force=True)

    # -- autoscaling -------------------------------------------------------------------
    def _autoscale(self) -> None:
        active = self.active
        if active is None or self.stopping:
            return
        now = time.monotonic()
        serving = self._serving()
        in_flight = int(sum(self.stats.table[w.slot, st.IN_FLIGHT] for w in serving))
        window = active.config.autoscaling.window_s
        self._in_flight.append((now, in_flight))
        while self._in_flight and self._in_flight[0][0] < now - window:
            self._in_flight.popleft()
        if now - self._last_scale < window:
            return
        scaling = active.config.autoscaling
        average = sum(v for _, v in self._in_flight) / max(1, len(self._in_flight))
        desired = math.ceil(average / scaling.target_in_flight)
        desired = min(max(desired, active.config.min_workers, 1), active.config.max_workers)
        current = len(serving)
        if desired > current and now - self._last_scale >= scaling.scale_out_cooldown_s:
            for _ in range(desired - current):
                self._spawn(active)
            self._scaled(current, desired, average)
        elif desired < current and now - self._last_scale >= scaling.scale_in_cooldown_s:
            newest = max(serving, key=lambda w: w.started)
            self._drain(newest)
            self._scaled(current, current - 1, average)

    def _scaled(self, before: int, after: int, average: float) -> None:
        self._last_scale = time.monotonic()
        logger.info(
            "Endpoint %s scaled from %s to %s worker(s) (%.2f requests in flight on average)",
            self.name,
            before,
            after,
            average,
        )
        self._event(
            {"event": "scaled", "from": before, "to": after, "in_flight": round(average, 3)}
        )

    # -- metrics -----------------------------------------------------------------------
    def _collect(self, slot: int, generation: int) -> None:
        """Move what ``slot`` counted since the last collection into the totals."""
        gen = self.generations.get(generation)
        baseline = self._baseline.get(slot)
        if gen is None or baseline is None:
            return
        current = self.stats.snapshot(slot)
        delta = current - baseline
        self._baseline[slot] = current
        for index, name in enumerate(gen.names):
            block = st.variant_block(delta, index)
            if block[: st.HISTOGRAM].any():
                self._totals.setdefault(name, _Totals()).add(block)

    def _flush_metrics(self, force: bool = False) -> None:
        active = self.active
        interval = active.config.metrics_interval_s if active is not None else 10.0
        now = time.monotonic()
        if not force and now - self._last_flush < interval:
            return
        self._last_flush = now
        for worker in self.workers.values():
            self._collect(worker.slot, worker.generation)
        stamp = time.time()
        # Like CloudWatch: an interval without requests writes no points.
        for name in sorted(self._totals):
            totals = self._totals.pop(name)
            dims = {"endpoint": self.name, "variant": name}
            values: dict[str, float | None] = {
                "Invocations": totals.invocations,
                "Errors4xx": totals.errors_4xx,
                "Errors5xx": totals.errors_5xx,
                # Micro-batching at work: rows per call is PredictedRows / PredictCalls.
                "PredictCalls": totals.predict_calls or None,
                "PredictedRows": totals.predict_rows or None,
            }
            p50, p90, p99 = st.percentiles(totals.histogram, (50, 90, 99))
            values.update(LatencyP50=p50, LatencyP90=p90, LatencyP99=p99)
            try:
                for metric, value in values.items():
                    if value is not None:
                        self.ctx.store.put_metric_data(
                            NAMESPACE, metric, [(stamp, float(value))], dimensions=dims
                        )
            except SiklusError:
                logger.exception("Endpoint %s: could not write metrics", self.name)
        # Drop generations no worker runs any more.
        live = {w.generation for w in self.workers.values()}
        if active is not None:
            live.add(active.number)
        for number in [n for n in self.generations if n not in live]:
            del self.generations[number]

    # -- state -------------------------------------------------------------------------
    def _event(self, body: dict[str, Any]) -> None:
        try:
            self.ctx.store.append_event(EVENT_KIND, self.name, {**body, "time": time.time()})
        except SiklusError:
            logger.exception("Endpoint %s: could not record an event", self.name)

    def write_state(self, force: bool = False) -> None:
        serving = self._serving()
        draining = [w for w in self.workers.values() if w.draining]
        key = (
            self.active.revision if self.active else None,
            len(serving),
            len(draining),
            self.failed_revision,
        )
        if key == self._last_state and not force:
            return
        self._last_state = key
        active = self.active
        body = {
            "revision": key[0],
            "workers": len(serving),
            "draining": len(draining),
            "pids": sorted(w.pid for w in serving),
            "min_workers": active.config.min_workers if active else None,
            "max_workers": active.config.max_workers if active else None,
            "failed_revision": self.failed_revision,
            "error": self.last_error,
            "supervisor_pid": os.getpid(),
            "time": time.time(),
        }
        try:
            self.ctx.store.put_resource(STATE_KIND, self.name, body)
        except SiklusError:
            logger.exception("Endpoint %s: could not record its state", self.name)

    # -- main loop ---------------------------------------------------------------------
    def serve(self) -> None:
        def on_signal(sig: int, frame: Any) -> None:
            if sig == signal.SIGHUP:
                self.check_config = True
            else:
                self.stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        while not self.stopping:
            try:
                self._reap()
                self._poll_config()
                self._replace_dead()
                self._autoscale()
                self._flush_metrics()
                self.write_state()
            except Exception:  # e.g. the store briefly unavailable: keep serving, retry
                logger.exception("Endpoint %s: supervisor step failed; retrying", self.name)
                time.sleep(1.0)
            time.sleep(_TICK_S)
        self.shutdown()

    def shutdown(self, grace_seconds: float = 8.0) -> None:
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.workers and time.monotonic() < deadline:
            self._reap()
            time.sleep(_TICK_S)
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        self._reap()
        self._flush_metrics(force=True)


__all__ = ["Supervisor"]
