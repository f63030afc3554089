"""``siklus models import`` review: example paths, labels typed on the command line, and
a bad ``--register`` group that must fail before anything is stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from siklus.cli import _register_commands, app
from siklus.exceptions import InvalidParameter
from siklus.store import WorkspaceContext


@pytest.fixture
def files(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    rows["won"] = rows["a"] > 0  # booleans
    rows["score"] = rows["won"].astype(float)  # 0.0 / 1.0
    sio.dump(LogisticRegression().fit(rows[["a", "b"]], rows["won"]), tmp_path / "bool.skops")
    sio.dump(LogisticRegression().fit(rows[["a", "b"]], rows["score"]), tmp_path / "float.skops")
    (tmp_path / "data").mkdir()
    rows.to_csv(tmp_path / "data" / "rows.txt", index=False)  # a path, not a dataset name
    return tmp_path


def invoke(root: Path, *args: str) -> object:
    _register_commands()
    return CliRunner().invoke(
        app, ["-w", str(root), "models", "import", *args], catch_exceptions=False
    )


def test_an_example_path_that_is_no_dataset_name_is_read_as_a_file(files: Path) -> None:
    root = files / "ws"
    example = str(files / "data" / "rows.txt")
    for skops, target, typed, stored in [
        ("bool.skops", "won", "true", True),
        ("float.skops", "score", "1", 1.0),
    ]:
        result = invoke(
            root, str(files / skops), "--name", target, "--example", example, "--target",
            target, "--positive-label", typed,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        model = next(m for m in WorkspaceContext.open(root).store.list_models() if m.name == target)
        label = model.manifest["positive_label"]
        assert label == stored and type(label) is type(stored)
        assert [c["name"] for c in model.manifest["input_signature"]] == ["a", "b"]


def test_bad_labels_and_groups_fail_before_anything_is_stored(files: Path) -> None:
    root = files / "ws"
    example = str(files / "data" / "rows.txt")
    with pytest.raises(InvalidParameter, match="not one of the model's classes"):
        invoke(
            root, str(files / "float.skops"), "--name", "m", "--example", example,
            "--target", "score", "--positive-label", "2",
        )  # fmt: skip
    with pytest.raises(InvalidParameter):
        invoke(
            root, str(files / "float.skops"), "--name", "m", "--example", example,
            "--target", "score", "--register", "no spaces allowed",
        )  # fmt: skip
    assert WorkspaceContext.open(root).store.list_models() == []
