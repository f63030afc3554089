"""``siklus experiments`` and ``siklus runs``: the real command in a subprocess for the
main paths (search, and compare with the HTML report), the rest in-process through
the same entry point (``siklus.cli.main``), which is much faster than a new interpreter."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from siklus.cli import main
from siklus.experiments import start_run
from siklus.store import WorkspaceContext


def siklus(ws: WorkspaceContext, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m siklus -w WS ARGS…`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "siklus", "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def cli(ws: WorkspaceContext, *args: str) -> tuple[int, str, str]:
    """``siklus -w WS ARGS…`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["-w", str(ws.root), *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def runs(ws: WorkspaceContext) -> dict[str, str]:
    """Three runs of experiment ``demo`` (name → id); accuracy rises with C."""
    ids = {}
    for name, c, accuracy in [("small", 0.1, 0.80), ("large", 10.0, 0.95), ("medium", 1.0, 0.90)]:
        with start_run("demo", name=name, params={"C": c}, tags={"model": "lr"}, ctx=ws) as run:
            for step in range(5):
                run.log_metric("loss", 1.0 / (step + 1) / c)
            run.log_metric("accuracy", accuracy)
        ids[name] = run.run_id
    return ids


def test_search_and_compare_in_a_real_subprocess(
    ws: WorkspaceContext, runs: dict[str, str], tmp_path: Path
) -> None:
    result = siklus(
        ws, "runs", "search", "--experiment", "demo",
        "--filter", "metrics.accuracy > 0.85 and params.C >= '1.0' and tags.model = 'lr'",
        "--order-by", "metrics.accuracy DESC", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [r["id"] for r in found] == [runs["large"], runs["medium"]]
    assert found[0]["status"] == "Completed" and found[0]["params"] == {"C": 10.0}

    report = tmp_path / "report.html"
    compared = siklus(
        ws, "runs", "compare", "--experiment", "demo", "--metric", "accuracy", "--html", str(report)
    )
    assert compared.returncode == 0, compared.stderr
    assert "3 runs by accuracy (higher is better)" in compared.stdout
    positions = [compared.stdout.index(runs[name]) for name in ("large", "medium", "small")]
    assert positions == sorted(positions), "the table is sorted by the metric, best first"
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and all(run_id in html for run_id in runs.values())


def test_search_table_is_in_the_asked_order(ws: WorkspaceContext, runs: dict[str, str]) -> None:
    code, out, err = cli(ws, "runs", "search", "-o", "metrics.accuracy")
    assert code == 0, err
    lines = out.splitlines()
    order = [next(i for i, line in enumerate(lines) if runs[n] in line) for n in runs]
    assert order[0] < order[2] < order[1], "ascending accuracy: small, medium, large"


def test_compare_given_runs_as_json(ws: WorkspaceContext, runs: dict[str, str]) -> None:
    code, out, err = cli(
        ws, "runs", "compare", runs["small"], runs["large"], "-m", "loss", "--ascending", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert [r["id"] for r in data["runs"]] == [runs["large"], runs["small"]]
    assert data["metric"] == "loss" and data["ascending"] is True and data["report"] is None


def test_experiments_list_and_describe(ws: WorkspaceContext, runs: dict[str, str]) -> None:
    code, out, err = cli(ws, "experiments", "list", "--json")
    assert code == 0, err
    [demo] = json.loads(out)
    assert (demo["name"], demo["runs"]) == ("demo", 3)
    code, out, err = cli(ws, "experiments", "describe", "demo")
    assert code == 0, err
    assert "Newest 3 of 3 runs" in out and runs["small"] in out
    code, out, err = cli(ws, "runs", "describe", runs["small"], "--json")
    assert code == 0 and json.loads(out)["metrics"]["accuracy"] == 0.8


def test_errors_are_one_clean_message(ws: WorkspaceContext, runs: dict[str, str]) -> None:
    code, out, err = cli(ws, "runs", "search", "--filter", "metrics.accuracy >> 0.5")
    assert code == 2 and err.startswith("Error: Invalid run filter at column 19")
    assert "Traceback" not in err + out
    code, _, err = cli(ws, "runs", "compare", "--experiment", "nope", "--metric", "accuracy")
    assert code == 1 and "Known experiments: demo" in err
    code, _, err = cli(ws, "runs", "compare")
    assert code == 2 and "either given runs" in err
