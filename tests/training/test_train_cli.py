"""``siklus train`` in a subprocess: script mode, stopping flags and their errors.

(Kept with the training tests; ``tests/cli`` covers the estimator path.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siklus.cli import main
from siklus.store import DatasetVersion, WorkspaceContext

FIXTURES = Path(__file__).resolve().parent / "script_fixtures"


def siklus(ctx: WorkspaceContext, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siklus", "-w", str(ctx.root), *args],
        capture_output=True, text=True, timeout=180, cwd=ctx.root,
    )  # fmt: skip


def test_train_script_from_the_command_line(
    ctx: WorkspaceContext, bc_parts: dict[str, DatasetVersion], tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES, source, ignore=shutil.ignore_patterns("__pycache__"))

    result = siklus(
        ctx, "train", "--script", "train_sgd.py", "--source-dir", str(source), "--data", "bc",
        "--target", "diagnosis", "--hp", "epochs=3", "--hp", "lr=0.05", "--cpus", "1", "--json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["model"]["manifest"]["format"] == "directory"
    assert out["job"]["parameters"]["hyperparameters"] == {"epochs": 3, "lr": 0.05}
    assert len(out["job"]["outputs"]["history"]["validation_accuracy"]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--script", "nope.py"], "Training script 'nope.py' does not exist"),
        (["--script", "x.py", "-e", "ridge"], "Give exactly one of --estimator"),
        (["--script", "x.py", "--patience", "3"], "apply to --estimator"),
        (["-e", "sklearn.neighbors.KNeighborsClassifier", "-t", "diagnosis",
          "--max-iterations", "5"], "has no iterations to bound"),
        (["-e", "ridge", "-t", "diagnosis", "--gpus", "99"], "99 GPU(s) but this machine has"),
    ],
)  # fmt: skip
def test_bad_train_requests_are_one_line_errors(
    ctx: WorkspaceContext,
    bc_parts: dict[str, DatasetVersion],
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In this process (the same main() the console script runs): errors come before any job.
    with pytest.raises(SystemExit) as info:
        main(["-w", str(ctx.root), "train", "--data", "bc", *args])

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "Traceback" not in err
    assert message in " ".join(err.split())
    assert ctx.store.list_jobs() == []
