"""The inference recommender: the cost model, the choice, and a real run over endpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rich.console import Console
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.cli.recommend import results_table
from siklus.data import ingest
from siklus.exceptions import InvalidParameter, NotFound
from siklus.registry import register_model
from siklus.serving.recommender import (
    CostModel,
    Recommendation,
    candidate_grid,
    choose,
    read_progress,
    recommendation_spec,
)
from siklus.store import WorkspaceContext

from ..._models import stored_logistic_regression

FIELDS = ("package", "p99_ms", "results", "recommended", "message", "notes", "job_id")


def _row(label: str, p99: float | None, cost: float, errors: int = 0) -> dict:
    return {"label": label, "p99_ms": p99, "cost_per_million": cost, "errors": errors,
            "rows_per_second": 100.0}  # fmt: skip


def test_cost_per_million_is_price_times_time_per_inference():
    prices = CostModel(cpu_hour=0.036, gb_hour=0.0036)
    # 2 CPUs + 0.5 GB for an hour = 0.0738; at 1000 inferences/s a million take 1000 s.
    cost = prices.per_million(cpus=2, memory_gb=0.5, rows_per_second=1000)
    assert cost == pytest.approx((2 * 0.036 + 0.5 * 0.0036) / 3600 * 1000)
    assert prices.per_million(cpus=1, memory_gb=1, rows_per_second=0) == math.inf
    with pytest.raises(InvalidParameter, match="cpu_hour"):
        CostModel(cpu_hour=-1)


def test_choose_cheapest_meeting_the_target():
    results = [
        _row("fast-expensive", 5.0, 2.0),
        _row("slow-cheap", 50.0, 0.1),
        _row("ok", 15.0, 0.5),
        _row("ok-but-errors", 10.0, 0.2, errors=3),
        _row("skipped", None, math.inf),
    ]
    best, message = choose(results, 20)
    assert best["label"] == "ok" and "ok" in message
    best, message = choose(results, 1)
    assert best is None
    assert "No candidate meets p99 <= 1 ms" in message and "fast-expensive" in message
    assert choose([_row("skipped", None, math.inf)], 20)[0] is None


def test_candidate_grid_validates():
    grid = candidate_grid(["native", "onnx"], [1, 10, 1], [1, 2])
    assert len(grid) == 2 * 2 * 2 and grid[0].label == "native, batch 1, 1 worker"
    with pytest.raises(InvalidParameter, match="Runtimes"):
        candidate_grid(["tensorrt"], [1], [1])
    with pytest.raises(InvalidParameter, match="batch sizes"):
        candidate_grid(["native"], [0], [1])
    with pytest.raises(InvalidParameter, match="worker counts"):
        candidate_grid(["native"], [1], [])


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with a small registered logistic regression (8 breast-cancer features)."""
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    model = stored_logistic_regression(ctx)
    register_model(ctx, model.id, "bc")
    return root


def test_spec_errors(workspace):
    ctx = WorkspaceContext.open(workspace)
    with pytest.raises(NotFound):
        recommendation_spec(ctx, "nope:1")
    with pytest.raises(InvalidParameter, match="p99_ms"):
        recommendation_spec(ctx, "bc:1", p99_ms=0)
    with pytest.raises(InvalidParameter, match="duration"):
        recommendation_spec(ctx, "bc:1", duration_s=10_000)
    other = workspace.parent / "other.csv"
    other.write_text("x,y\n1,2\n")
    ingest(ctx, other, "other")
    with pytest.raises(InvalidParameter, match="lacks the model's input column"):
        recommendation_spec(ctx, "bc:1", data="other")
    spec, notes = recommendation_spec(ctx, "bc:1", batch_sizes=[1, 5], workers=[1])
    assert [c["runtime"] for c in spec.parameters["candidates"]] == ["native"] * 2 + ["onnx"] * 2
    assert spec.kind == "recommendation" and notes == []


@pytest.mark.slow
def test_recommend_cli_measures_every_candidate(workspace):
    """Two real endpoints (native and ONNX), each loaded with 1 and 8 rows per request."""
    _register_commands()
    args = ["-w", str(workspace), "recommend", "bc:1", "--p99-ms", "5000", "--duration", "0.5",
            "--warmup", "0.2", "-b", "1", "-b", "8", "--workers", "1"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rec = json.loads(result.output)
    labels = [r["label"] for r in rec["results"]]
    assert labels == [
        "native, batch 1, 1 worker",
        "native, batch 8, 1 worker",
        "onnx, batch 1, 1 worker",
        "onnx, batch 8, 1 worker",
    ]
    for row in rec["results"]:
        assert row["errors"] == 0 and row["requests"] > 0, row
        rate = row["batch_size"] * row["requests_per_second"]
        assert row["rows_per_second"] == pytest.approx(rate)
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["memory_gb"] > 0 and row["cost_per_million"] > 0
        expected = CostModel().per_million(
            cpus=1, memory_gb=row["memory_gb"], rows_per_second=row["rows_per_second"]
        )
        assert row["cost_per_million"] == pytest.approx(expected)
    best = rec["recommended"]
    assert best is not None and best["p99_ms"] <= 5000
    assert best["cost_per_million"] == min(r["cost_per_million"] for r in rec["results"])
    # The same results against an impossible target: no recommendation, and it says so.
    none, message = choose(rec["results"], 1e-6)
    assert none is None and "No candidate meets" in message
    ctx = WorkspaceContext.open(workspace)
    progress = read_progress(ctx, rec["job_id"])
    assert progress["done"] == progress["total"] == 4 and progress["current"] is None
    # Every load-test endpoint was deleted afterwards.
    assert all(e.status.value == "Deleted" for e in ctx.store.list_endpoints())
    # The table a person sees: every candidate, the recommended one starred.
    console = Console(record=True, width=200)
    console.print(results_table(Recommendation(**{k: rec[k] for k in FIELDS})))
    text = console.export_text()
    assert text.count("native") == 2 and text.count("onnx") == 2 and text.count("*") == 1


def test_request_rows_come_from_a_dataset_or_the_input_example(workspace, tmp_path):
    from siklus.registry import get_package
    from siklus.serving.recommender._job import payload, sample_rows

    ctx = WorkspaceContext.open(workspace)
    package = get_package(ctx, "bc:1")
    example = sample_rows(ctx, package, None)
    assert len(example) == 3 and list(example.columns) == list(
        load_breast_cancer(as_frame=True).data.columns[:8]
    )
    frame = load_breast_cancer(as_frame=True).frame
    frame.loc[0, "mean radius"] = float("nan")
    path = tmp_path / "bc.csv"
    frame.to_csv(path, index=False)
    ingest(ctx, path, "bc-rows")
    rows = sample_rows(ctx, package, "bc-rows")
    assert len(rows) == 569 and "target" not in rows.columns
    body = json.loads(payload(rows, 600))
    assert len(body) == 600 and body[0]["mean radius"] is None  # NaN travels as null
    assert body[569] == body[0]  # rows repeat to fill the batch
