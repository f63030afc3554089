"""``siklus quickstart`` end to end from the CLI, in a fresh temp workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from siklus.workspace import Workspace


@pytest.mark.slow
def test_quickstart_completes_and_leaves_a_working_endpoint(tmp_path: Path):
    folder = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "siklus", "quickstart", "--workspace", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    ws = None
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        for step in ("[1/9] Ingest", "[3/9] Train", "[4/9] Evaluate", "[7/9] Deploy", "[9/9]"):
            assert step in out
        assert "Test metrics" in out and "Success criteria" in out and "recall" in out
        ws = Workspace(folder)
        assert ws.project is not None and ws.project.name == "breast-cancer"
        (package,) = ws.models.list("breast-cancer")
        assert package.approval_status.value == "Approved"
        evaluation = ws.ctx.store.list_evaluations(package.model_id)[0]
        assert evaluation.verdict["passed"] is True
        assert evaluation.metrics["recall"] >= 0.90
        endpoint = ws.endpoints.get("breast-cancer")
        assert endpoint.status.value == "InService" and endpoint.host == "127.0.0.1"
        rows = ws.data.read("breast_cancer.test").drop(columns=["diagnosis"]).head(5)
        answer = httpx.post(
            f"{endpoint.url}/invocations",
            content=json.dumps(rows.to_dict(orient="records")),
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert set(answer.json()["predictions"]) <= {"benign", "malignant"}
        # Every resource carries the project's cost-allocation tags.
        tags = ws.project.tags
        assert tags and all(
            r.tags.items() >= tags.items()
            for r in [*ws.data.list(), package, endpoint, *ws.jobs.list()]
        )
        # Running it again with --fresh replaces the workspace and its endpoint.
        again = subprocess.run(
            [
                sys.executable,
                "-m",
                "siklus",
                "quickstart",
                "-w",
                str(folder),
                "--fresh",
                "--no-serve",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "endpoints create breast-cancer" in again.stdout
    finally:
        if folder.exists():
            for endpoint in Workspace(folder).endpoints.list():
                Workspace(folder).endpoints.delete(endpoint.name)
