"""``siklus quickstart`` end to end from the CLI, in a fresh temp workspace.

The quickstart is the project's pipeline (``pipeline:`` in ``siklus.yaml``); caching on
a second run is shown in tests/pipelines/test_execution.py and test_pipelines_cli.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from siklus.cli.quickstart import _prepare
from siklus.exceptions import InvalidParameter
from siklus.workspace import Workspace


def _siklus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siklus", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_quickstart_runs_the_project_pipeline(tmp_path: Path):
    """``--no-serve`` leaves out deploy and the endpoint's monitoring schedule; the served
    variant (endpoint answering, lineage to it) is tests/lineage/test_lineage.py."""
    folder = tmp_path / "demo"
    result = _siklus(
        "quickstart", "--workspace", str(folder), "--no-serve", "-p", "max_tuning_jobs=1"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("ingest", "prepare", "check", "split", "tune", "evaluate", "criteria",
                 "register", "baseline"):  # fmt: skip
        assert step in out
    assert "deploy" not in out.split("Test metrics")[0]
    assert "Test metrics" in out and "Success criteria" in out and "recall" in out
    assert "succeeded" in out and "endpoints create breast-cancer --model breast-cancer:1" in out
    ws = Workspace(folder)
    assert ws.project is not None and ws.project.pipeline is not None
    (package,) = ws.models.list("breast-cancer")
    assert package.approval_status.value == "Approved"
    evaluation = ws.ctx.store.list_evaluations(package.model_id)[0]
    assert evaluation.verdict["passed"] is True
    assert evaluation.metrics["recall"] >= 0.90
    assert ws.endpoints.list() == []
    # Every resource the pipeline created carries the project's cost-allocation tags.
    # Records created inside job processes (the recipe's output dataset, tuning trial
    # jobs) do not yet: the job runner opens the workspace without the job's tags.
    tags = ws.project.tags
    made_in_jobs = {"breast_cancer.prepared"}
    assert tags and all(
        r.tags.items() >= tags.items()
        for r in [*ws.data.list(), package, *ws.jobs.list()]
        if getattr(r, "name", "") not in made_in_jobs and "tuning_job_id" not in r.tags
    )


def test_quickstart_refuses_to_empty_a_folder_that_is_not_a_workspace(tmp_path: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InvalidParameter, match="not empty and is not a siklus workspace"):
        _prepare(folder, fresh=False)
    with pytest.raises(InvalidParameter, match="Refusing to empty"):
        _prepare(folder, fresh=True)
    assert (folder / "notes.txt").exists()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "siklus.yaml").write_text("name: x\n", encoding="utf-8")
    _prepare(workspace, fresh=True)
    assert workspace.exists() and not any(workspace.iterdir())
