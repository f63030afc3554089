"""The pieces of script mode, in this process: archives, arguments, metrics, tracking."""

from __future__ import annotations

import logging
import os
import sys
import types
from pathlib import Path

import pytest

from siklus.exceptions import InvalidParameter
from siklus.training import hyperparameter_args, read_metrics_file
from siklus.training._archive import list_files, pack_directory, unpack_archive
from siklus.training._tracking import RUN_ID_ENV, Tracker, run_id_of

LOG = logging.getLogger("test")


def _tree(root: Path) -> None:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "train.py").write_text("print('hi')\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0")
    (root / ".env").write_text("SECRET=1\n")


def test_archives_are_deterministic_and_round_trip(tmp_path: Path) -> None:
    _tree(tmp_path / "a")
    first, second = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz"
    info = pack_directory(tmp_path / "a", first)
    os.utime(tmp_path / "a" / "train.py", (0, 1_000_000))  # only the time changes
    pack_directory(tmp_path / "a", second)

    assert first.read_bytes() == second.read_bytes()
    assert [f["path"] for f in info.files] == [
        ".env", "pkg/__pycache__/util.cpython-311.pyc", "pkg/util.py", "train.py",
    ]  # fmt: skip
    unpack_archive(first, tmp_path / "out")
    assert (tmp_path / "out" / "pkg" / "util.py").read_text() == "X = 1\n"
    assert (tmp_path / "out" / "empty").is_dir()


def test_source_snapshots_leave_out_hidden_files_and_caches(tmp_path: Path) -> None:
    _tree(tmp_path)

    files, _ = list_files(tmp_path, skip_hidden=True)

    assert [name for name, _ in files] == ["pkg/util.py", "train.py"]
    with pytest.raises(InvalidParameter, match=r"more than the 0 MiB a source snapshot"):
        pack_directory(tmp_path, tmp_path.parent / "x.tar.gz", skip_hidden=True, max_bytes=1)


def test_hyperparameters_become_arguments() -> None:
    args = hyperparameter_args({"epochs": 10, "lr": 0.01, "arch": "mlp", "bn": True, "l": [1]})

    assert args == [
        "--epochs", "10", "--lr", "0.01", "--arch", "mlp", "--bn", "true", "--l", "[1]",
    ]  # fmt: skip


def test_metrics_file_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(
        '{"key": "loss", "value": 0.5, "step": 0}\n'
        '{"key": "loss", "value": 0.25, "step": 1}\n'
        "\n"
        '{"key": "acc", "value": NaN}\n'
        '{"key": "acc", "value": "high"}\n'
        '{"key": "loss", "value": 1, "step": 1.5}\n'
        "[1, 2]\n"
    )

    with caplog.at_level(logging.WARNING):
        series, skipped = read_metrics_file(path, LOG)

    assert series == {"loss": [(0, 0.5), (1, 0.25)], "acc": [(None, None)]}
    assert skipped == 3
    assert "line 5 skipped" in caplog.text
    assert read_metrics_file(tmp_path / "none.jsonl", LOG) == ({}, 0)


def test_tracker_forwards_to_siklus_experiments(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[tuple[str, float, int | None, str | None]] = []

    def log_metric(key: str, value: float, step: int | None = None) -> None:
        logged.append((key, value, step, os.environ.get(RUN_ID_ENV)))
        if key == "boom":
            raise RuntimeError("store down")

    fake = types.ModuleType("siklus.experiments")
    fake.log_metric = log_metric  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "siklus.experiments", fake)
    monkeypatch.setenv(RUN_ID_ENV, "previous")  # restored after the tracker overrides it

    tracker = Tracker("run-7", LOG)
    tracker.log_series({"loss": [(0, 0.5), (1, None), (2, 0.25)]})
    tracker.log_metric("boom", 1.0)
    tracker.log_metric("after", 2.0)

    assert logged == [
        ("loss", 0.5, 0, "run-7"), ("loss", 0.25, 2, "run-7"), ("boom", 1.0, None, "run-7"),
    ]  # fmt: skip
    assert tracker.status == "failed: RuntimeError: store down" and not tracker.active


def test_tracking_is_off_without_a_run_or_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "siklus.experiments", None)  # import fails
    monkeypatch.setenv(RUN_ID_ENV, "from-env")

    assert run_id_of({}) == "from-env"
    assert run_id_of({"run_id": "explicit"}) == "explicit"
    assert Tracker(None, LOG).status == "off"
    missing = Tracker("run-1", LOG)
    assert not missing.active and missing.status.startswith("unavailable")
