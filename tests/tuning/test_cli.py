"""``siklus tune`` and ``siklus tuning-jobs list|describe``, through the real entry point."""

from __future__ import annotations

import json

import pytest

from siklus.cli import main


@pytest.fixture
def siklus(ctx, capsys, monkeypatch):
    """``siklus(*args) -> (exit code, stdout, stderr)`` in the test's workspace."""
    monkeypatch.setenv("COLUMNS", "250")  # Rich tables: no truncated cells

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(["-w", str(ctx.root), *args])
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    return run


def test_tune_shows_the_trials_and_the_best_model(siklus, diabetes, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(
        "max_depth: {type: int, low: 2, high: 8}\nmin_samples_leaf: {type: int, low: 5, high: 40}\n"
    )
    code, out, err = siklus(
        "tune", "-e", "sklearn.tree.DecisionTreeRegressor", "--data", "diabetes",
        "--target-column", "target", "--space", str(space), "--objective", "validation:rmse",
        "--strategy", "random", "--max-jobs", "2", "--max-parallel", "2", "--seed", "0",
        "--name", "diabetes-tree",
    )  # fmt: skip
    assert code == 0, err
    text = " ".join(out.split())
    assert "trials 2/2 done: 2 completed, 0 failed" in text
    assert "Best: trial" in text and "Register it with `siklus models register model-" in text

    code, out, _ = siklus("tuning-jobs", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["name"] == "diabetes-tree" and listed["status"] == "Completed"
    assert listed["objective"] == "validation:rmse" and listed["direction"] == "minimize"

    code, out, _ = siklus("tuning-jobs", "describe", listed["id"], "--json")
    described = json.loads(out)
    assert [t["state"] for t in described["trials"]] == ["Completed", "Completed"]
    assert described["best_value"] == min(t["value"] for t in described["trials"])

    code, out, _ = siklus("tuning-jobs", "describe", listed["id"])
    assert code == 0 and "best_model_id" in out and "Trials" in out
    code, out, _ = siklus("tuning-jobs", "list")
    assert code == 0 and "diabetes-tree" in out


def test_tune_refuses_bad_input_without_a_traceback(siklus, diabetes):
    base = (
        "tune", "-e", "sklearn.tree.DecisionTreeRegressor", "--data", "diabetes",
        "--target-column", "target", "--objective", "validation:rmse",
    )  # fmt: skip
    code, out, err = siklus(*base, "--space", "{max_depth: {type: int, low: 2, high: 8}}",
                            "--strategy", "nope")  # fmt: skip
    assert code == 2 and err.startswith("Error:") and "Traceback" not in out + err
    assert "Unknown tuning strategy 'nope'" in " ".join(err.split())
    code, _, err = siklus(*base, "--space", "{depth: {type: int, low: 2, high: 8}}")
    assert code == 2 and "unknown hyperparameter(s) 'depth'" in " ".join(err.split())
    code, _, err = siklus(*base, "--space", "missing.yaml")
    assert code == 1 and "Search space file 'missing.yaml' does not exist" in err
    code, _, err = siklus("tuning-jobs", "describe", "job-nope")
    assert code == 1 and "No tuning job 'job-nope'" in err
