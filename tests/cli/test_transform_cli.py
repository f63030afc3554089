"""``siklus transform``: run with a progress bar, list, describe, resume, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.data import read_frame
from siklus.exceptions import InvalidInput, JobFailed
from siklus.store import ApprovalStatus, WorkspaceContext
from siklus.training import infer_signature, save_estimator


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, pd.DataFrame]:
    """A workspace with an approved logistic regression ``bc:1`` and an input CSV."""
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    bunch = load_breast_cancer(as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pipeline.fit(bunch.data, bunch.target)
    ctx = WorkspaceContext.open(tmp_path / "ws")
    model = ctx.store.create_model(
        name="bc", sha256=save_estimator(ctx, pipeline),
        manifest={"format": "skops", "input_signature": infer_signature(bunch.data),
                  "classes": pipeline.classes_.tolist()},
        training_job_id=None, tags={},
    )  # fmt: skip
    ctx.store.ensure_model_package_group("bc")
    package = ctx.store.create_model_package("bc", model_id=model.id, metrics={}, description="",
                                             tags={})  # fmt: skip
    ctx.store.set_approval(package.id, ApprovalStatus.APPROVED, reason="test", by="pytest")
    frame = bunch.data.copy()
    frame.insert(0, "id", range(len(frame)))
    frame.to_csv(tmp_path / "input.csv", index=False)
    frame["predicted"] = pipeline.predict(bunch.data)
    return tmp_path, frame


def _invoke(root: Path, *args: str):
    _register_commands()
    return CliRunner().invoke(app, ["-w", str(root / "ws"), *args])


def test_run_list_describe(workspace: tuple[Path, pd.DataFrame]) -> None:
    root, frame = workspace
    result = _invoke(
        root, "transform", "run", "bc", "--input", str(root / "input.csv"), "--output", "scored",
        "--id-column", "id", "--chunk-rows", "200",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "569/569" in result.output  # the progress bar: rows done / total
    assert "completed" in result.output and "scored:1" in result.output
    _, out = read_frame(WorkspaceContext.open(root / "ws"), "scored")
    assert out["id"].tolist() == frame["id"].tolist()
    assert out["prediction"].tolist() == frame["predicted"].tolist()

    listed = json.loads(_invoke(root, "transform", "list", "--json").output)
    assert [(t["status"], t["output_dataset"], t["rows_done"]) for t in listed] == [
        ("Completed", "scored:1", 569)
    ]
    described = json.loads(_invoke(root, "transform", "describe", listed[0]["id"], "--json").output)
    assert described["chunks_done"] == 3 and described["id_column"] == "id"
    table = _invoke(root, "transform", "list")
    assert "scored:1" in table.output and "569/569" in table.output


def test_failed_run_points_to_resume(workspace: tuple[Path, pd.DataFrame]) -> None:
    root, frame = workspace
    bad = frame.drop(columns="predicted").astype({"mean area": object})
    bad.loc[300, "mean area"] = "n/a!"
    bad.to_csv(root / "bad.csv", index=False)
    result = _invoke(
        root, "transform", "run", "bc", "-i", str(root / "bad.csv"), "-o", "scored",
        "--id-column", "id", "--chunk-rows", "100", "--format", "csv",
    )  # fmt: skip
    assert isinstance(result.exception, JobFailed)
    message = result.exception.message
    assert "Chunk 3" in message and "input row 300" in message and "transform resume" in message
    # Regression: it said "Fix the cause, then continue with resume", which refuses a fixed
    # (changed) input file.
    assert "a fixed input needs a new `siklus transform run`" in message
    again = _invoke(root, "transform", "resume", message.split()[1], "--json")
    assert isinstance(again.exception, JobFailed)  # same bad row, same clear failure
    assert "input row 300" in again.exception.message


def test_errors_are_one_line(workspace: tuple[Path, pd.DataFrame]) -> None:
    root, _ = workspace
    result = subprocess.run(
        [sys.executable, "-m", "siklus", "-w", str(root / "ws"), "transform", "run", "bc",
         "--input", str(root / "missing" / "*.csv"), "--output", "o"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    assert "matches no file" in result.stderr


def test_an_input_without_rows_is_refused_before_any_job(
    workspace: tuple[Path, pd.DataFrame],
) -> None:
    root, frame = workspace
    header_only = root / "header.csv"
    frame.drop(columns="predicted").iloc[:0].to_csv(header_only, index=False)
    result = _invoke(root, "transform", "run", "bc", "--input", str(header_only), "--output", "o")
    assert isinstance(result.exception, InvalidInput), result.output
    assert "header.csv" in str(result.exception) and "has no rows" in str(result.exception)

    from siklus.data import ingest

    ctx = WorkspaceContext.open(root / "ws")
    ingest(ctx, header_only, "nobody")
    result = _invoke(root, "transform", "run", "bc", "--input", "nobody", "--output", "o")
    assert isinstance(result.exception, InvalidInput), result.output
    assert "Dataset nobody:1 has no rows" in str(result.exception)
    assert ctx.store.list_jobs() == [] and ctx.store.list_dataset_versions("o") == []
    assert json.loads(_invoke(root, "transform", "list", "--json").output) == []
