"""The endpoint server process: ``python -m siklus.serving._server NAME [--port N]``.

:func:`siklus.serving.create_endpoint` starts this module detached; it is never imported
by a long-lived caller. It opens the workspace named by its ``SIKLUS_*`` environment,
loads the endpoint's model, binds its own socket (so the real port is known, even when
the OS picks it) and records ``InService`` with host, port and its process identity
before serving. A failure before serving is recorded as ``Failed`` with the reason, so
the caller waiting on the record learns why without reading the log.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time

import uvicorn

from siklus.exceptions import InvalidParameter, SiklusError
from siklus.jobs import process_create_time
from siklus.serving._app import create_app
from siklus.store import EndpointStatus, WorkspaceContext
from siklus.training import load_model

logger = logging.getLogger("siklus.serving")

#: Seconds uvicorn lets in-flight requests finish after SIGTERM before closing them.
GRACEFUL_SHUTDOWN_S = 5


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``(host, port)``; port 0 lets the OS pick a free one.

    Raises:
        InvalidParameter: The address cannot be bound (port taken, unknown interface).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InvalidParameter(
            f"Cannot resolve endpoint host {host!r} ({exc}); set SIKLUS_ENDPOINT_HOST to an "
            "address of this machine, e.g. 127.0.0.1."
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InvalidParameter(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
            "or leave it out to use a free one."
        ) from None
    sock.set_inheritable(True)  # uvicorn may hand it to worker processes
    return sock


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m siklus.serving._server")
    parser.add_argument("name", help="Endpoint name (the record must exist, Creating).")
    parser.add_argument("--port", type=int, default=None, help="Port (default: a free one).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load the endpoint's model, record where it listens, then serve until SIGTERM.

    Returns:
        The process exit status: 0 after a normal shutdown, 1 when it could not start.
    """
    args = _parse_args(argv)
    # Warnings from libraries, but siklus' own lifecycle lines too: the log is what a user
    # reads when an endpoint misbehaves.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("siklus").setLevel(logging.INFO)
    started = time.monotonic()
    ctx = WorkspaceContext.open()
    name = args.name
    try:
        endpoint = ctx.store.get_endpoint(name)
    except SiklusError as exc:
        logger.error("Endpoint %s cannot start: %s", name, exc)
        return 1
    if endpoint.status != EndpointStatus.CREATING:
        # Not ours to change: this may be a live endpoint someone started by hand again.
        logger.error(
            "Endpoint %s is %s, not Creating; it is started by `siklus endpoints create %s "
            "--model GROUP:VERSION`, not by running this module. Its record is unchanged.",
            name,
            endpoint.status.value,
            name,
        )
        return 1
    try:
        # Bind first: a taken port is reported at once, not after loading the model.
        sock = bind_socket(str(ctx.setting("endpoint_host")), args.port or 0)
        package = ctx.store.get_model_package_by_id(endpoint.model_package_id)
        model = ctx.store.get_model(package.model_id)
        app = create_app(
            load_model(ctx, model),
            max_payload_bytes=int(ctx.setting("max_payload_bytes")),
            endpoint_name=name,
        )
    except Exception as exc:
        reason = f"could not start: {type(exc).__name__}: {exc}"
        logger.exception("Endpoint %s %s", name, reason)
        try:
            ctx.store.update_endpoint(name, status=EndpointStatus.FAILED, failure_reason=reason)
        except Exception:  # the store itself may be what failed; the log keeps the reason
            logger.exception("Endpoint %s: could not record the failure", name)
        return 1
    if ctx.store.get_endpoint(name).status != EndpointStatus.CREATING:
        logger.error("Endpoint %s was deleted or failed while its model loaded; exiting", name)
        return 1

    host, port = sock.getsockname()[:2]
    pid = os.getpid()
    ctx.store.update_endpoint(
        name,
        status=EndpointStatus.IN_SERVICE,
        host=host,
        port=port,
        pid=pid,
        pid_started_at=process_create_time(pid),
        failure_reason=None,
    )
    logger.info(
        "Endpoint %s serves model package %s (model %s) at http://%s:%s, ready in %.2f s",
        name,
        package.ref,
        model.id,
        host,
        port,
        time.monotonic() - started,
    )
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    uvicorn.Server(config).run(sockets=[sock])  # handles SIGTERM/SIGINT gracefully
    logger.info("Endpoint %s stopped", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
