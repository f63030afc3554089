"""``siklus async …`` and ``siklus serverless …`` in-process (CliRunner), real servers behind."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.exceptions import InvalidParameter, JobFailed
from siklus.store import ApprovalStatus, WorkspaceContext
from siklus.testing import redis_server_url
from siklus.training import infer_signature, save_estimator

pytestmark = pytest.mark.slow  # starts two endpoint servers


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, object]:
    """A workspace with an Approved package ``bc:1``; returns (root, fitted pipeline)."""
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    features = load_breast_cancer(as_frame=True).data.iloc[:, :6]
    target = load_breast_cancer(as_frame=True).target
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(features, target)
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    model = ctx.store.create_model(
        name="bc",
        sha256=save_estimator(ctx, pipeline),
        manifest={"input_signature": infer_signature(features), "classes": [0, 1]},
        training_job_id=None,
        tags={},
    )
    ctx.store.ensure_model_package_group("bc")
    package = ctx.store.create_model_package(
        "bc", model_id=model.id, metrics={}, description="", tags={}
    )
    ctx.store.set_approval(package.id, ApprovalStatus.APPROVED, reason="ok", by="pytest")
    features.iloc[:20].to_csv(root / "rows.csv", index=False)
    return root, pipeline


def run(root: Path, *args: str) -> str:
    _register_commands()
    result = CliRunner().invoke(app, ["-w", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_async_and_serverless_commands(workspace: tuple[Path, object], tmp_path: Path) -> None:
    root, pipeline = workspace
    features = load_breast_cancer(as_frame=True).data.iloc[:20, :6]
    expected = pipeline.predict(features).tolist()  # type: ignore[attr-defined]

    # The endpoint tests use the default SQLite queue; here the Redis one (when installed).
    with contextlib.ExitStack() as stack:
        queue = []
        if shutil.which("redis-server"):
            queue = ["--queue-url", stack.enter_context(redis_server_url(tmp_path))]
        _async_commands(root, expected, features, queue)
    _serverless_commands(root, expected)


def _async_commands(root: Path, expected: list, features: pd.DataFrame, queue: list) -> None:
    created = json.loads(run(root, "async", "create", "a1", "-m", "bc:1", "--json", *queue))
    try:
        assert created["status"] == "InService"
        assert created["queue_url"].startswith("redis://" if queue else "sqlite:///")
        done = json.loads(
            run(root, "async", "invoke", "a1", "--input-location", "rows.csv", "--wait", "60")
        )
        assert done["status"] == "Completed" and done["result"]["predictions"] == expected
        ticket = json.loads(run(root, "async", "invoke", "a1", "-b", features.iloc[:3].to_json(
            orient="records")))  # fmt: skip
        result = json.loads(
            run(root, "async", "result", "a1", ticket["inference_id"], "--wait", "60")
        )
        assert result["result"]["predictions"] == expected[:3]
        assert "a1" in run(root, "async", "list")
        assert json.loads(run(root, "async", "describe", "a1", "--json"))["name"] == "a1"
        with pytest.raises(InvalidParameter, match="exactly one"):
            run(root, "async", "invoke", "a1")
        # Regression: a Failed inference exited 0 under --wait (and for `result`).
        bad = root / "bad.csv"
        features.iloc[:3].assign(extra=1).to_csv(bad, index=False)
        with pytest.raises(JobFailed, match="Failed: Unexpected column"):
            run(root, "async", "invoke", "a1", "--input-location", str(bad), "--wait", "60")
    finally:
        assert "deleted" in run(root, "async", "delete", "a1")


def _serverless_commands(root: Path, expected: list) -> None:
    run(root, "serverless", "create", "s1", "-m", "bc", "--max-concurrency", "2")
    try:
        first = json.loads(run(root, "serverless", "invoke", "s1", "-f", str(root / "rows.csv")))
        assert first["predictions"] == expected and first["cold_start_ms"] > 0
        second = json.loads(run(root, "serverless", "invoke", "s1", "-f", str(root / "rows.csv")))
        assert second["cold_start_ms"] is None
        assert "s1" in run(root, "serverless", "list")
        assert "cold_start" in run(root, "serverless", "describe", "s1")
    finally:
        assert "deleted" in run(root, "serverless", "delete", "s1")
