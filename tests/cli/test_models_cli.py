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


def test_import_a_model_fitted_elsewhere(tmp_path: Path) -> None:
    """A .skops file from a notebook, its example rows from a CSV, registered at once; then
    from a dataset; a pickle-only custom class is refused through the allow-list."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from siklus.data import store_table
    from siklus.exceptions import NotFound, UntrustedModel
    from siklus.training import load_model

    root = tmp_path / "ws"
    frame = load_breast_cancer(as_frame=True).frame
    x, y = frame.drop(columns="target"), frame["target"]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    sio.dump(pipeline, tmp_path / "bc.skops")
    frame.to_csv(tmp_path / "bc.csv", index=False)
    out = run(
        root, "models", "import", str(tmp_path / "bc.skops"), "--name", "bc-notebook",
        "--example", str(tmp_path / "bc.csv"), "--target", "target", "--positive-label", "1",
        "--register", "bc",
    )  # fmt: skip
    out = " ".join(out.split())  # rich wraps lines at the terminal's width
    assert "binary classification, 30 input columns" in out and "Registered bc:1" in out
    assert "ONNX export: exported" in out
    ctx = WorkspaceContext.open(root)
    model = ctx.store.list_models()[0]
    assert model.manifest["positive_label"] == 1  # as the target column holds it
    assert model.manifest["training_dataset"] is None  # a file, not a dataset
    np.testing.assert_array_equal(
        load_model(ctx, model).predict(x.head(20))["predictions"], pipeline.predict(x.head(20))
    )

    store_table(ctx, pa.Table.from_pandas(frame, preserve_index=False), "bc", source="test")
    listed = json.loads(run(
        root, "models", "import", str(tmp_path / "bc.skops"), "--name", "again",
        "--example", "bc", "--target", "target", "--json",
    ))  # fmt: skip
    assert listed["package"] is None and listed["model"]["manifest"]["training_dataset"] == "bc:1"

    _register_commands()
    hostile = make_pipeline(FunctionTransformer(pd.DataFrame.abs), StandardScaler())
    sio.dump(hostile.fit(x), tmp_path / "hostile.skops")
    with pytest.raises(UntrustedModel, match="abs"):
        CliRunner().invoke(
            app, ["-w", str(root), "models", "import", str(tmp_path / "hostile.skops"),
                  "--name", "h", "--example", "bc"], catch_exceptions=False,
        )  # fmt: skip
    with pytest.raises(NotFound, match="neither a dataset"):
        CliRunner().invoke(
            app, ["-w", str(root), "models", "import", str(tmp_path / "bc.skops"),
                  "--name", "h", "--example", "nope.csv"], catch_exceptions=False,
        )  # fmt: skip
