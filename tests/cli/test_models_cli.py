"""``siklus models register | describe | card | history | export-onnx`` in-process (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.exceptions import InvalidParameter
from siklus.store import WorkspaceContext

from .._models import stored_logistic_regression


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    """A workspace holding one stored logistic-regression model; returns (root, model id)."""
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    model = stored_logistic_regression(ctx)
    return root, model.id


def run(root: Path, *args: str) -> str:
    _register_commands()
    result = CliRunner().invoke(app, ["-w", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_register_describe_card_history_export(workspace, tmp_path):
    root, model_id = workspace
    out = run(root, "models", "register", model_id, "-g", "bc", "--description", "baseline")
    assert "Registered bc:1" in out and "ONNX export: exported" in out
    # Says which gaps the export was checked with (docs/registry.md, "missing_values").
    assert "missing values in any column" in " ".join(out.split())
    described = json.loads(run(root, "models", "describe", "bc:1", "--json"))
    assert described["lineage"]["model"]["id"] == model_id
    assert described["onnx"]["status"] == "exported"
    assert "Lineage of bc:1" in run(root, "models", "describe", "bc:1")

    card_file = tmp_path / "card.yaml"
    card_file.write_text("limitations: Only adults were in the training data.\n")
    shown = run(
        root, "models", "card", "bc:1", "--set", "owner=ana", "--from-file", str(card_file),
        "--by", "ana",
    )  # fmt: skip
    assert "Model card: bc:1" in shown and "Only adults" in shown and "baseline" in shown
    card = json.loads(run(root, "models", "card", "bc:1", "--format", "json"))
    assert card["owner"] == "ana" and card["updated_by"] == "ana"

    run(root, "models", "approve", "bc:1", "--reason", "good enough", "--by", "budi")
    history = json.loads(run(root, "models", "history", "bc:1", "--json"))
    assert [e["action"] for e in history] == [
        "registered",
        "onnx-export",
        "card-updated",
        "approval",
    ]
    table = run(root, "models", "history", "bc:1")
    assert "good enough" in table and "budi" in table

    exported = json.loads(run(root, "models", "export-onnx", "bc:1", "--json"))
    assert exported["status"] == "exported" and exported["sha256"]


def test_no_onnx_and_errors(workspace):
    root, model_id = workspace
    out = run(root, "models", "register", model_id, "-g", "bc", "--no-onnx")
    assert "ONNX" not in out
    _register_commands()
    with pytest.raises(InvalidParameter, match="markdown or json"):
        CliRunner().invoke(
            app, ["-w", str(root), "models", "card", "bc:1", "--format", "html"],
            catch_exceptions=False,
        )  # fmt: skip
    with pytest.raises(InvalidParameter, match="KEY=VALUE"):
        CliRunner().invoke(
            app, ["-w", str(root), "models", "card", "bc:1", "--set", "oops"],
            catch_exceptions=False,
        )  # fmt: skip
