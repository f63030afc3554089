"""Fixtures of the pipeline tests: a workspace with the breast-cancer data and step code."""

from __future__ import annotations

from pathlib import Path

import pytest

from siklus.data import ingest
from siklus.store import WorkspaceContext

STEP_MODULE = '''
"""Custom step functions of the pipeline tests (imported by job processes)."""
import json
from pathlib import Path


def count_and_echo(ctx, *, counter, value=None):
    path = Path(counter)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("ran\\n")
    return {"value": value, "runs": len(path.read_text().splitlines())}


def read_number(ctx, *, path, attempts_file):
    with Path(attempts_file).open("a", encoding="utf-8") as handle:
        handle.write("attempt\\n")
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {"number": data["number"]}


def wait_for_stop(ctx, *, seconds):
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not ctx.should_stop():
        time.sleep(0.05)
    return {"stopped": ctx.should_stop()}
'''


@pytest.fixture
def step_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module ``pipeline_test_steps`` importable here and in job processes."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "pipeline_test_steps.py").write_text(STEP_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    return "pipeline_test_steps"


@pytest.fixture
def bc_ctx(ctx: WorkspaceContext, breast_cancer_csv: Path) -> WorkspaceContext:
    """A workspace holding dataset ``bc`` (the breast-cancer data)."""
    ingest(ctx, breast_cancer_csv, "bc")
    return ctx
