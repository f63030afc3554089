"""An endpoint worker: one forked process serving the shared socket with uvicorn.

The supervisor (:mod:`siklus.serving._server`) forks workers after loading the models,
so a worker starts serving at once with the models already in memory (ONNX sessions,
which must not cross a fork, are loaded in the worker). All workers accept on the one
listening socket the supervisor owns; the kernel hands each new connection to one of
them.

A worker stops in one of two ways:

- **drain** (an update or a scale-in; the supervisor sets the slot's ``DRAIN`` flag): it
  stops accepting, answers every further request on its open connections with
  ``Connection: close`` so clients reconnect (to the other workers), and exits when its
  last connection is gone (idle keep-alive connections are closed by uvicorn's keep-alive
  timeout), or after :data:`DRAIN_TIMEOUT_S`. No request is refused or cut off.
- **SIGTERM** (endpoint deleted): uvicorn's graceful shutdown; in-flight requests finish.

A worker whose supervisor died exits on its own (parent-death signal, and a check of
the parent pid every tick), so a killed endpoint leaves no orphan serving its port.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn

from siklus.serving._app import build_app
from siklus.serving._config import EndpointConfig, VariantSpec
from siklus.serving._invoker import Invoker, Variant
from siklus.serving._loading import load_variant_model
from siklus.serving._stats import SharedStats, SlotWriter
from siklus.store.capture import CaptureWriter

logger = logging.getLogger("siklus.serving")

#: Longest a draining worker waits for its clients to leave before closing on them.
DRAIN_TIMEOUT_S = 30.0
#: Seconds SIGTERM lets in-flight requests finish.
GRACEFUL_SHUTDOWN_S = 5
#: Idle keep-alive connections are closed after this many seconds.
KEEP_ALIVE_S = 5


class _WorkerServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, invoker: Invoker, slot: SlotWriter, parent: int
    ) -> None:
        super().__init__(config)
        self.invoker = invoker
        self.slot = slot
        self.parent = parent

    async def on_tick(self, counter: int) -> bool:
        if counter == 0:
            self.slot.set_ready()
        if os.getppid() != self.parent:
            logger.warning("Worker %s: the endpoint supervisor is gone; exiting", os.getpid())
            self.should_exit = True
        elif self.slot.draining and not self.invoker.draining:
            self.invoker.draining = True
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.invoker.draining:
            for server in self.servers:
                server.close()  # stop accepting; the other workers take new connections
            self.slot.set_not_accepting()  # the supervisor waits for this before switching
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_TIMEOUT_S
            while self.server_state.connections and loop.time() < deadline:
                await asyncio.sleep(0.05)
        await super().shutdown(sockets=None)


def _parent_death_signal() -> None:
    """Ask Linux to send SIGTERM when the supervisor dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def build_invoker(
    ctx_loader: Any,
    root: str | os.PathLike[str],
    endpoint: str,
    config: EndpointConfig,
    models: dict[str, Any],
    *,
    max_payload_bytes: int,
    slot: SlotWriter | None,
) -> Invoker:
    """The invoker of one worker: every variant of ``config``, with capture writers.

    ``models`` maps a variant name to its loaded model; a variant missing from it (an
    ONNX one) is loaded here through ``ctx_loader()`` (a WorkspaceContext factory).
    """

    def variant(spec: VariantSpec, index: int) -> Variant:
        model = models.get(spec.name)
        if model is None:
            model = load_variant_model(ctx_loader(), spec.package_id, spec.runtime)
        capture = None
        if config.capture_percent > 0:
            capture = CaptureWriter(
                root,
                endpoint,
                spec.name,
                sampling_percentage=config.capture_percent,
                max_file_bytes=config.capture_max_file_bytes,
            )
        return Variant(spec.name, model, spec.model, spec.model_id, index, capture)

    production: Sequence[tuple[Variant, float]] = [
        (variant(spec, i), spec.weight) for i, spec in enumerate(config.variants)
    ]
    shadow = None
    if config.shadow is not None:
        shadow = variant(config.shadow, len(config.variants))
    return Invoker(
        endpoint,
        production,
        shadow=shadow,
        max_payload_bytes=max_payload_bytes,
        slot=slot,
        max_batch_rows=config.max_batch_rows,
    )


def run_worker(
    *,
    root: str,
    endpoint: str,
    config: EndpointConfig,
    models: dict[str, Any],
    stats: SharedStats,
    slot: int,
    sock: socket.socket,
    max_payload_bytes: int,
    parent: int,
) -> int:
    """Serve until drained or stopped; runs in the forked child. Returns the exit code."""
    _parent_death_signal()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    if os.getppid() != parent:
        return 0

    def open_ctx() -> Any:
        from siklus.store import WorkspaceContext

        return WorkspaceContext.open(root)

    # Rows were checked for infinities (and for missing values where the signature does
    # not allow them) before they reach the model: skip scikit-learn's second scan.
    # (scikit-learn is imported only when a native variant was loaded.)
    sklearn = sys.modules.get("sklearn")
    if sklearn is not None:
        sklearn.set_config(assume_finite=True)
    writer = SlotWriter(stats, slot)
    invoker = build_invoker(
        open_ctx,
        root,
        endpoint,
        config,
        models,
        max_payload_bytes=max_payload_bytes,
        slot=writer,
    )
    uv_config = uvicorn.Config(
        build_app(invoker),
        interface="asgi3",
        http="h11",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _WorkerServer(uv_config, invoker, writer, parent).run(sockets=[sock])
    return 0


__all__ = ["DRAIN_TIMEOUT_S", "build_invoker", "run_worker"]
