"""The endpoint supervisor process: ``python -m siklus.serving._server NAME [--port N]``.

:func:`siklus.serving.create_endpoint` starts this module detached; it is never imported
by a long-lived caller. It opens the workspace named by its ``SIKLUS_*`` environment,
binds the endpoint's socket (so the real port is known, even when the OS picks it),
loads the models of the endpoint config and forks worker processes
(:mod:`siklus.serving._worker`) that all accept on that socket. Then it records
``InService`` with host, port and its own process identity, and loops:

- **updates (blue/green):** a new revision of the ``endpoint-config`` resource (noticed
  on SIGHUP, which ``update_endpoint`` sends, or by polling) is rolled out by starting the
  new config's workers on the same socket, waiting until each is serving, then draining
  the old ones (see the worker docstring). A config that fails to load leaves the old
  workers serving and records why.
- **autoscaling:** the requests in flight, averaged over a window, set the number of
  workers between the config's min and max, with cool-downs.
- **metrics:** every ``metrics_interval_s`` the workers' shared counters become metric
  data ``siklus/endpoints`` per variant: ``Invocations``, ``Errors4xx``, ``Errors5xx``,
  ``LatencyP50``, ``LatencyP90``, ``LatencyP99`` (milliseconds).
- **state:** the resource ``("endpoint-state", NAME)`` says which config revision is
  live, how many workers run, and the last failure; events ``("endpoint", NAME)`` keep
  the history (rollouts, scaling, worker deaths).

A failure before serving is recorded as ``Failed`` with the reason, so the caller
waiting on the record learns why without reading the log.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time

from siklus.exceptions import InvalidParameter, SiklusError
from siklus.jobs import process_create_time
from siklus.serving._config import CONFIG_KIND
from siklus.serving._supervisor import Supervisor
from siklus.store import EndpointStatus, WorkspaceContext

logger = logging.getLogger("siklus.serving")


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
    sock.set_inheritable(True)
    return sock


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m siklus.serving._server")
    parser.add_argument("name", help="Endpoint name (the record must exist, Creating).")
    parser.add_argument("--port", type=int, default=None, help="Port (default: a free one).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the workers, record where the endpoint listens, then supervise until SIGTERM.

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
    supervisor: Supervisor | None = None
    try:
        # Bind first: a taken port is reported at once, not after loading the model.
        sock = bind_socket(str(ctx.setting("endpoint_host")), args.port or 0)
        supervisor = Supervisor(ctx, name, sock)
        resource = ctx.store.get_resource(CONFIG_KIND, name)
        supervisor.rollout(resource.revision, resource.body)
    except Exception as exc:
        reason = f"could not start: {type(exc).__name__}: {exc}"
        logger.exception("Endpoint %s %s", name, reason)
        if supervisor is not None:
            supervisor.shutdown(grace_seconds=2.0)
        try:
            ctx.store.update_endpoint(name, status=EndpointStatus.FAILED, failure_reason=reason)
        except Exception:  # the store itself may be what failed; the log keeps the reason
            logger.exception("Endpoint %s: could not record the failure", name)
        return 1
    if ctx.store.get_endpoint(name).status != EndpointStatus.CREATING:
        logger.error("Endpoint %s was deleted or failed while its model loaded; exiting", name)
        supervisor.shutdown(grace_seconds=2.0)
        return 1

    host, port = sock.getsockname()[:2]
    pid = os.getpid()
    supervisor.write_state(force=True)
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
        "Endpoint %s serves at http://%s:%s, ready in %.2f s",
        name,
        host,
        port,
        time.monotonic() - started,
    )
    supervisor.serve()
    logger.info("Endpoint %s stopped", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
