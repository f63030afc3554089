"""The real ``siklus`` command in a subprocess: happy path and every error class.

Errors must be one line on stderr, no traceback, and a non-zero exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def siklus(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "siklus", "-w", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"siklus {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("Error:")
    text = " ".join(result.stderr.split())
    for fragment in fragments:
        assert fragment in text, text


@pytest.fixture
def workspace(tmp_path: Path, breast_cancer_csv: Path) -> Path:
    ws = tmp_path / "ws"
    siklus(ws, "init", str(ws), "--target", "diagnosis")
    siklus(ws, "data", "ingest", str(breast_cancer_csv), "--name", "bc")
    siklus(ws, "data", "split", "bc", "--stratify", "diagnosis")
    return ws


def test_init_ingest_split_train_evaluate_register(workspace: Path, breast_cancer_csv: Path):
    again = siklus(workspace, "data", "ingest", str(breast_cancer_csv), "--name", "bc", "--json")
    assert json.loads(again.stdout)["created"] is False
    listed = json.loads(siklus(workspace, "data", "list", "--json").stdout)
    assert {d["name"] for d in listed} == {"bc", "bc.train", "bc.validation", "bc.test"}
    trained = siklus(
        workspace,
        "train",
        "-e",
        "sklearn.ensemble.RandomForestClassifier",
        "--data",
        "bc",
        "--hp",
        "n_estimators=20",
        "--json",
    )
    model_id = json.loads(trained.stdout)["model"]["id"]
    evaluated = json.loads(siklus(workspace, "evaluate", model_id, "--data", "bc", "--json").stdout)
    assert evaluated["split"] == "test" and 0.8 < evaluated["metrics"]["accuracy"] <= 1.0
    assert evaluated["verdict"] is not None  # the scaffolded project has test criteria
    table = siklus(workspace, "evaluate", model_id, "--data", "bc").stdout
    assert "Confusion matrix" in table and "Success criteria" in table
    registered = siklus(workspace, "models", "register", model_id, "--group", "bc", "--json")
    assert json.loads(registered.stdout)["approval_status"] == "PendingManualApproval"
    assert_clean_error(
        siklus(workspace, "endpoints", "create", "bc", "--model", "bc:1", check=False),
        "bc:1",
        "PendingManualApproval",
        "siklus models approve",
    )
    siklus(workspace, "models", "reject", "bc:1", "--reason", "too slow")
    jobs = json.loads(siklus(workspace, "jobs", "list", "--json").stdout)
    assert [j["status"] for j in jobs] == ["Completed"]
    assert "fitting" in siklus(workspace, "jobs", "logs", jobs[0]["id"]).stdout


def test_errors_are_one_line_without_traceback(workspace: Path, tmp_path: Path):
    assert_clean_error(
        siklus(workspace, "data", "ingest", str(tmp_path / "missing.csv"), "-n", "x", check=False),
        "missing.csv",
        "does not exist",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3\n")
    assert_clean_error(
        siklus(workspace, "data", "ingest", str(bad), "-n", "bad", check=False),
        "Cannot read",
        "bad.csv",
    )
    logreg = "sklearn.linear_model.LogisticRegression"
    assert_clean_error(
        siklus(workspace, "train", "-e", logreg, "--data", "bc", "-t", "nope", check=False),
        "Target column 'nope'",
    )
    assert_clean_error(
        siklus(
            workspace, "train", "-e", "sklearn.linear_model.Logistic", "--data", "bc", check=False
        ),
        "Unknown estimator",
    )
    result = siklus(workspace, "train", "-e", logreg, "--data", "bc", "--hp", "C=-1", check=False)
    assert_clean_error(result, "Bad hyperparameter", "'C'")
    assert result.returncode == 2
    assert_clean_error(
        siklus(workspace, "models", "approve", "nope:1", "-r", "x", check=False), "does not exist"
    )


def test_error_messages_keep_their_brackets(monkeypatch, capsys) -> None:
    """A message is text, not Rich markup: "siklus[redis]" must not lose "[redis]"."""
    from siklus.cli import _app
    from siklus.exceptions import InvalidParameter

    def broken(**_: object) -> None:
        raise InvalidParameter("Install it with: pip install 'siklus[redis]' [bold]now[/]")

    monkeypatch.setattr(_app, "app", broken)
    with pytest.raises(SystemExit) as exited:
        _app.main([])
    assert exited.value.code == InvalidParameter.exit_code
    assert "pip install 'siklus[redis]' [bold]now[/]" in capsys.readouterr().err
