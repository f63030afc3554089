"""The recommendation job: deploy, load-test and tear down each candidate in turn.

Submitted by :func:`siklus.serving.recommender.recommend`. Progress (candidates done,
the one running, results so far) is written after every step to the
``("recommendation", <job id>)`` resource, which the CLI reads for its progress bar.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from siklus.data import read_frame
from siklus.jobs import JobContext
from siklus.serving.recommender import _deploy
from siklus.serving.recommender._candidates import Candidate, choose
from siklus.serving.recommender._costs import CostModel
from siklus.serving.recommender._loadtest import load_test
from siklus.store import Endpoint, ModelPackage, WorkspaceContext

ENTRYPOINT = "siklus.serving.recommender._job:run"
PROGRESS_KIND = "recommendation"


def payload(rows: pd.DataFrame, batch_size: int) -> bytes:
    """A JSON list of ``batch_size`` records, repeating ``rows`` as needed."""
    repeats = math.ceil(batch_size / len(rows))
    batch = pd.concat([rows] * repeats, ignore_index=True).head(batch_size)
    batch = batch.astype(object).where(batch.notna(), None)
    return json.dumps(batch.to_dict(orient="records"), default=str).encode()


def sample_rows(ctx: WorkspaceContext, package: ModelPackage, data: str | None) -> pd.DataFrame:
    """Rows to send: up to 1000 from ``data`` (signature columns), else the input example."""
    manifest = ctx.store.get_model(package.model_id).manifest
    columns = [c["name"] for c in manifest["input_signature"]]
    if data:
        _, frame = read_frame(ctx, data)
        return frame[columns].head(1000).reset_index(drop=True)
    return pd.DataFrame(manifest["input_example"])[columns]


def _empty_row(candidate: Candidate, prices: CostModel) -> dict[str, Any]:
    return {
        **candidate.to_dict(), "label": candidate.label, "concurrency": None, "requests": 0,
        "errors": 0, "requests_per_second": 0.0, "rows_per_second": 0.0, "p50_ms": None,
        "p99_ms": None, "cpus": candidate.workers, "memory_gb": None,
        "cost_per_million": math.inf, "currency": prices.currency, "note": None,
    }  # fmt: skip


def _measure_batch(
    job: JobContext, endpoint: Endpoint, candidate: Candidate, rows: pd.DataFrame,
    prices: CostModel,
) -> dict[str, Any]:  # fmt: skip
    """Load one deployed endpoint with ``candidate.batch_size`` rows per request."""
    params = job.parameters
    row = _empty_row(candidate, prices)
    concurrency = int(params.get("concurrency") or candidate.workers)
    result = load_test(
        f"{endpoint.url}/invocations", payload(rows, candidate.batch_size),
        rows_per_request=candidate.batch_size, concurrency=concurrency,
        duration_s=float(params["duration_s"]), warmup_s=float(params["warmup_s"]),
        should_stop=job.should_stop,
    )  # fmt: skip
    memory_gb = _deploy.memory_bytes(endpoint) / 1e9
    row.update(
        concurrency=concurrency, requests=result.requests, errors=result.errors,
        requests_per_second=result.requests_per_second, rows_per_second=result.rows_per_second,
        p50_ms=result.percentile_ms(50), p99_ms=result.percentile_ms(99), memory_gb=memory_gb,
        cost_per_million=prices.per_million(
            cpus=candidate.workers, memory_gb=memory_gb, rows_per_second=result.rows_per_second
        ),
        note=f"errors: {result.first_error}" if result.errors else None,
    )  # fmt: skip
    return row


def _deployments(candidates: list[Candidate]) -> dict[tuple[str, int], list[Candidate]]:
    """Candidates grouped by what needs a new endpoint (runtime, workers), in order.

    The batch size is the client's choice, so one endpoint serves every batch size.
    """
    groups: dict[tuple[str, int], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.runtime, candidate.workers), []).append(candidate)
    return groups


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: measure every candidate, then choose."""
    ctx = job.workspace
    params = job.parameters
    package = ctx.store.get_model_package_by_id(job.inputs["package_id"])
    candidates = [Candidate(**c) for c in params["candidates"]]
    prices = CostModel(**params["prices"])
    rows = sample_rows(ctx, package, params.get("data"))
    results: list[dict[str, Any]] = []

    def report(current: str | None) -> None:
        ctx.store.put_resource(
            PROGRESS_KIND, job.job_id,
            {"package": package.ref, "total": len(candidates), "done": len(results),
             "current": current, "results": [_json_safe(r) for r in results]},
        )  # fmt: skip

    for index, ((runtime, workers), group) in enumerate(_deployments(candidates).items()):
        if job.should_stop():
            break
        name = f"rec-{job.job_id[-12:]}-{index}".replace("_", "-")
        report(f"{runtime} with {workers} worker(s): starting the endpoint")
        try:
            endpoint = _deploy.start(ctx, name, package, group[0])
            for candidate in group:
                if job.should_stop():
                    break
                report(candidate.label)
                row = _measure_batch(job, endpoint, candidate, rows, prices)
                results.append(row)
                job.log.info(
                    "%s: %.0f inferences/s, p50 %s ms, p99 %s ms%s", candidate.label,
                    row["rows_per_second"], _ms(row["p50_ms"]), _ms(row["p99_ms"]),
                    f" ({row['note']})" if row["note"] else "",
                )  # fmt: skip
        except Exception as exc:  # one bad configuration must not end the recommendation
            job.log.exception("%s with %d worker(s) failed", runtime, workers)
            note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            done = {r["label"] for r in results}
            for candidate in group:
                if candidate.label not in done:
                    results.append({**_empty_row(candidate, prices), "note": note})
        finally:
            _deploy.stop(ctx, name)
    if job.should_stop():
        job.log.info("stop requested: %d of %d candidates measured", len(results), len(candidates))
    report(None)
    best, message = choose(results, float(params["p99_ms"]))
    job.log.info("%s", message)
    return {
        "package": package.ref,
        "p99_ms": params["p99_ms"],
        "results": [_json_safe(r) for r in results],
        "recommended": _json_safe(best) if best else None,
        "message": message,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """``inf`` is not JSON: an unmeasured cost is stored as None."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }
