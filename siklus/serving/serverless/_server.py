"""The serverless endpoint process: ``python -m siklus.serving.serverless._server NAME``.

Started detached by :func:`siklus.serving.serverless.create_serverless_endpoint`. It binds
its socket and records InService without loading the model: the first request loads it
(a *cold start*, timed), and it is dropped again after ``idle_timeout`` seconds without
requests. Each cold start is recorded as a metric point
(``siklus/endpoints``/``ColdStartMs``, dimension ``endpoint``) and on the endpoint's
record; those writes happen on a background thread so the cold request does not wait for
the metadata store.
"""

from __future__ import annotations

import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import uvicorn

from siklus.serving._loading import load_variant_model
from siklus.serving.asynchronous import _hosting as hosting
from siklus.serving.serverless._app import OnDemandModel, create_app
from siklus.store import WorkspaceContext

KIND = "serverless-endpoint"
METRIC_NAMESPACE = "siklus/endpoints"
COLD_START_METRIC = "ColdStartMs"
logger = logging.getLogger("siklus.serving.serverless")


def main(argv: list[str] | None = None) -> int:
    """Bind, record InService, serve until SIGTERM; the model loads on demand."""
    begun = hosting.begin_process(
        KIND, "Serverless endpoint", "python -m siklus.serving.serverless._server", argv
    )
    if begun is None:
        return 1
    args, ctx, record = begun
    name = args.name
    recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record")

    def on_load(ms: float) -> None:
        recorder.submit(_record_load, ctx, name, ms)

    def on_unload() -> None:
        logger.info("Serverless endpoint %s unloaded its idle model", name)
        recorder.submit(_record, ctx, name, model_state="Unloaded", unloaded_at=_now())

    try:
        sock = hosting.bind_socket(str(ctx.setting("endpoint_host")), args.port or 0)
        model = ctx.store.get_model(record["model_id"])
        package_id, runtime = str(record["model_package_id"]), record.get("runtime", "native")
        holder = OnDemandModel(
            lambda: load_variant_model(ctx, package_id, runtime),
            idle_timeout=float(record["idle_timeout"]),
            on_load=on_load,
            on_unload=on_unload,
        )
        app = create_app(
            holder,
            list(model.manifest["input_signature"]),
            max_concurrency=int(record["max_concurrency"]),
            max_payload_bytes=int(ctx.setting("max_payload_bytes")),
            endpoint_name=name,
        )
    except Exception as exc:
        reason = f"could not start: {type(exc).__name__}: {exc}"
        logger.exception("Serverless endpoint %s %s", name, reason)
        hosting.update(ctx, KIND, name, status="Failed", failure_reason=reason)
        return 1
    if not hosting.record_serving(ctx, KIND, name, sock):
        logger.error("Serverless endpoint %s was deleted while starting; exiting", name)
        return 1
    logger.info("Serverless endpoint %s listening (model not loaded yet)", name)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        holder.close()
        recorder.shutdown(wait=True)
    logger.info("Serverless endpoint %s stopped", name)
    return 0


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _record(ctx: WorkspaceContext, name: str, **changes: object) -> None:
    try:
        hosting.update(ctx, KIND, name, **changes)
    except Exception:  # bookkeeping must never take the endpoint down
        logger.exception("Serverless endpoint %s: could not update its record", name)


def _record_load(ctx: WorkspaceContext, name: str, ms: float) -> None:
    logger.info("Serverless endpoint %s cold start: model loaded in %.1f ms", name, ms)
    try:
        ctx.store.put_metric_data(
            METRIC_NAMESPACE, COLD_START_METRIC, [(time.time(), ms)], dimensions={"endpoint": name}
        )
        body = ctx.store.get_resource(KIND, name).body
    except Exception:
        logger.exception("Serverless endpoint %s: could not record its cold start", name)
        return
    _record(
        ctx,
        name,
        model_state="Loaded",
        loaded_at=_now(),
        last_cold_start_ms=round(ms, 3),
        cold_starts=int(body.get("cold_starts") or 0) + 1,
    )


if __name__ == "__main__":
    sys.exit(main())
