"""Data-capture files: sampling, rotation, per-row ids, corrupt lines skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from siklus.exceptions import InvalidParameter
from siklus.store.capture import CaptureWriter, capture_files, read_capture, row_ids_for


def test_round_trip_and_row_ids(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "v1")
    writer.write(
        inference_id="a",
        model="g:1",
        columns=["x", "y"],
        rows=[[1.5, "u"]],
        predictions=[np.int64(1)],
        when=100.0,
    )
    writer.write(
        inference_id="b",
        model="g:1",
        columns=["x", "y"],
        rows=[[2.0, "v"], [float("nan"), "w"]],
        predictions=[0, 1],
        when=50.0,
    )
    writer.close()
    scan = read_capture(tmp_path, "ep")
    assert scan.errors == []
    assert [r.inference_id for r in scan.records] == ["b", "a"]  # ordered by time
    assert scan.records[0].row_ids == ["b:0", "b:1"]
    assert scan.records[0].rows[1] == [None, "w"]  # NaN is stored as null
    assert scan.records[1].predictions == [1]
    assert read_capture(tmp_path, "ep", start=60).records[0].inference_id == "a"
    assert row_ids_for("z", 1) == ["z"]


def test_sampling_share_is_close_to_the_setting(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "v1", sampling_percentage=20, seed=7)
    drawn = sum(writer.sampled() for _ in range(5000))
    assert 900 < drawn < 1100
    with pytest.raises(InvalidParameter):
        CaptureWriter(tmp_path, "ep", "v1", sampling_percentage=120)


def test_rotation_by_size(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "v1", max_file_bytes=2048)
    for i in range(100):
        writer.write(
            inference_id=str(i), model="m", columns=["x"], rows=[[i]], predictions=[i], when=1000.0
        )
    writer.close()
    files = capture_files(tmp_path, "ep")
    assert len(files) > 1
    assert all(f.stat().st_size <= 2048 for f in files)
    assert len(read_capture(tmp_path, "ep").records) == 100


def test_corrupt_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "v1")
    writer.write(inference_id="ok", model="m", columns=["x"], rows=[[1]], predictions=[1])
    writer.close()
    [path] = capture_files(tmp_path, "ep")
    with path.open("a") as handle:
        handle.write("not json\n")
        handle.write(
            json.dumps(
                {
                    "inference_id": "x",
                    "time": 1,
                    "columns": ["a"],
                    "rows": [[1, 2]],
                    "predictions": [1],
                }
            )
            + "\n"
        )
        handle.write('{"inference_id": "cut", "ti')  # a process killed mid-line
    scan = read_capture(tmp_path, "ep")
    assert [r.inference_id for r in scan.records] == ["ok"]
    assert [line for _, line, _ in scan.errors] == [2, 3, 4]
    assert "every row" in scan.errors[1][2]
