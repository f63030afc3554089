"""Start and stop a real endpoint for one candidate configuration.

The recommender measures what would be deployed: a real-time endpoint created through
:func:`siklus.serving.create_endpoint` from a one-variant config (runtime, a fixed worker
count: min = max = initial, so autoscaling does not move it during the test), on
127.0.0.1, forced past the approval gate (a load test is not a deployment; the endpoint
is deleted once measured).
"""

from __future__ import annotations

import psutil

from siklus import serving
from siklus.exceptions import NotFound
from siklus.serving.recommender._candidates import Candidate
from siklus.store import Endpoint, ModelPackage, WorkspaceContext


def endpoint_config(package: ModelPackage, candidate: Candidate) -> dict:
    """The endpoint config that deploys ``candidate``."""
    return {
        "variants": [
            {
                "model": package.ref,
                "runtime": candidate.runtime,
                "initial_workers": candidate.workers,
                "min_workers": candidate.workers,
                "max_workers": candidate.workers,
            }
        ]
    }


def start(
    ctx: WorkspaceContext, name: str, package: ModelPackage, candidate: Candidate
) -> Endpoint:
    """Create the endpoint and wait until it answers ``/ping``."""
    config = endpoint_config(package, candidate)
    return serving.create_endpoint(ctx, name, config=config, force=True)


def memory_bytes(endpoint: Endpoint) -> int:
    """Resident memory of the endpoint's server process and all its workers."""
    if endpoint.pid is None:
        return 0
    try:
        root = psutil.Process(endpoint.pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def stop(ctx: WorkspaceContext, name: str) -> None:
    """Delete the endpoint (stops its processes); one that was never created is fine."""
    try:
        serving.delete_endpoint(ctx, name, grace_seconds=5.0)
    except NotFound:
        return
