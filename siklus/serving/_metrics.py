"""The per-variant request metrics of an endpoint, as written by its supervisor.

Every ``metrics_interval_s`` the supervisor writes one point per series to the metric
namespace ``siklus/endpoints`` with dimensions ``{"endpoint", "variant"}``:
``Invocations``, ``Errors4xx``, ``Errors5xx`` (counts in the interval),
``LatencyP50``/``LatencyP90``/``LatencyP99`` (milliseconds, over the interval's requests,
all workers together) and ``PredictCalls``/``PredictedRows`` (the micro-batched predict
calls and the rows they held: their ratio says how much batching concurrent requests
gained). :func:`endpoint_metrics` sums the counts over a time range and
summarises the latency percentiles as the request-weighted mean of the intervals'
values (exact for one interval; a close summary over several).
"""

from __future__ import annotations

import time
from typing import Any

from siklus.serving._config import CONFIG_KIND
from siklus.store import WorkspaceContext

NAMESPACE = "siklus/endpoints"
COUNTS = ("Invocations", "Errors4xx", "Errors5xx", "PredictCalls", "PredictedRows")
LATENCIES = ("LatencyP50", "LatencyP90", "LatencyP99")


def endpoint_metrics(
    ctx: WorkspaceContext, name: str, *, since_seconds: float | None = 3600.0
) -> list[dict[str, Any]]:
    """One summary row per variant that has metrics in the last ``since_seconds``.

    Returns:
        ``[{"variant", "invocations", "errors_4xx", "errors_5xx", "error_rate",
        "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "intervals",
        "predict_calls", "rows_per_call"}]`` by variant. The shadow variant predicts each
        copy alone, outside the micro-batcher: it counts no predict calls.
    """
    start = time.time() - since_seconds if since_seconds is not None else None
    variants = sorted(
        {
            dims["variant"]
            for namespace, _, dims in ctx.store.list_metric_series(NAMESPACE)
            if namespace == NAMESPACE and dims.get("endpoint") == name and "variant" in dims
        }
    )
    try:
        body = ctx.store.get_resource(CONFIG_KIND, name).body
        roles = {v["name"]: "production" for v in body.get("variants", [])}
        if body.get("shadow"):
            roles[body["shadow"]["name"]] = "shadow"
    except Exception:  # a deleted endpoint keeps its metrics, not its config
        roles = {}
    rows = []
    for variant in variants:
        dims = {"endpoint": name, "variant": variant}

        def series(metric: str, dims: dict[str, str] = dims) -> list[tuple[float, float]]:
            points = ctx.store.get_metric_data(NAMESPACE, metric, dimensions=dims, start=start)
            return [(p.timestamp, p.value) for p in points]

        counts = {metric: series(metric) for metric in COUNTS}
        invocations = sum(v for _, v in counts["Invocations"])
        weight = {t: v for t, v in counts["Invocations"]}
        row: dict[str, Any] = {
            "variant": variant,
            "role": roles.get(variant, "-"),
            "invocations": int(invocations),
            "errors_4xx": int(sum(v for _, v in counts["Errors4xx"])),
            "errors_5xx": int(sum(v for _, v in counts["Errors5xx"])),
            "intervals": len(counts["Invocations"]),
        }
        calls = sum(v for _, v in counts["PredictCalls"])
        row["predict_calls"] = int(calls)
        row["rows_per_call"] = (
            round(sum(v for _, v in counts["PredictedRows"]) / calls, 2) if calls else None
        )
        errors = row["errors_4xx"] + row["errors_5xx"]
        row["error_rate"] = round(errors / invocations, 4) if invocations else None
        for metric in LATENCIES:
            points = series(metric)
            total = sum(weight.get(t, 0.0) for t, _ in points)
            key = f"latency_{metric[-3:].lower()}_ms"
            row[key] = (
                round(sum(v * weight.get(t, 0.0) for t, v in points) / total, 3) if total else None
            )
        rows.append(row)
    return rows


__all__ = ["COUNTS", "LATENCIES", "NAMESPACE", "endpoint_metrics"]
