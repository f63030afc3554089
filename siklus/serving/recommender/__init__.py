"""Inference recommender: load-test configurations of a model package, recommend one.

Candidates combine a runtime (native scikit-learn or ONNX), a batch size (rows per
request) and a worker count. Each is deployed as a real endpoint, driven by a closed-loop
load generator and measured: throughput, p50/p99 latency, memory, and an estimated cost
per million inferences from a documented price per CPU-hour and GB-hour
(:class:`CostModel`). The cheapest candidate meeting the p99 target is recommended.

Example:
    >>> rec = recommend(ctx, "breast-cancer:1", p99_ms=20, duration_s=5)  # doctest: +SKIP
    >>> print(rec.message)  # doctest: +SKIP
"""

from siklus.serving.recommender._candidates import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_WORKERS,
    RUNTIMES,
    Candidate,
    candidate_grid,
    choose,
)
from siklus.serving.recommender._costs import (
    DEFAULT_CPU_HOUR_PRICE,
    DEFAULT_GB_HOUR_PRICE,
    CostModel,
)
from siklus.serving.recommender._loadtest import LoadResult, load_test
from siklus.serving.recommender._recommend import (
    Recommendation,
    read_progress,
    recommend,
    recommendation_spec,
)

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "DEFAULT_CPU_HOUR_PRICE",
    "DEFAULT_GB_HOUR_PRICE",
    "DEFAULT_WORKERS",
    "RUNTIMES",
    "Candidate",
    "CostModel",
    "LoadResult",
    "Recommendation",
    "candidate_grid",
    "choose",
    "load_test",
    "read_progress",
    "recommend",
    "recommendation_spec",
]
