"""``siklus monitor baseline | constraints | run | violations | ground-truth`` (CliRunner)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from siklus.cli import _register_commands, app
from siklus.cli.monitor import parse_time
from siklus.exceptions import InvalidParameter
from siklus.monitoring import ground_truth
from siklus.store import WorkspaceContext
from siklus.store.capture import CaptureWriter

from ._helpers import frame, store


def invoke(root: Path, *args: str) -> Result:
    _register_commands()
    return CliRunner().invoke(app, ["-w", str(root), *args])


@pytest.mark.slow
def test_baseline_run_violations_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    store(ctx, frame(300, 1), "people")
    store(ctx, frame(300, 2, shift=2.0), "today")
    out = tmp_path / "baseline"
    made = invoke(root, "monitor", "baseline", "people", "--name", "p", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert "Baseline stored" in made.output and "income" in made.output
    edited = json.loads((out / "constraints.json").read_text(encoding="utf-8"))
    assert {f["name"] for f in edited["features"]} == {"age", "income", "score", "city"}
    edited["features"][0]["completeness"] = "all"
    (out / "bad.json").write_text(json.dumps(edited), encoding="utf-8")
    bad = invoke(root, "monitor", "constraints", "p", "--import", str(out / "bad.json"))
    assert isinstance(bad.exception, InvalidParameter)
    assert "$.features[0].completeness" in str(bad.exception)

    exported = tmp_path / "exported.json"
    assert invoke(root, "monitor", "constraints", "p", "--export", str(exported)).exit_code == 0
    loaded = invoke(root, "monitor", "constraints", "p", "--import", str(exported))
    assert loaded.exit_code == 0 and "revision 2" in loaded.output

    report = tmp_path / "report.html"
    ran = invoke(root, "monitor", "run", "--baseline", "p", "--dataset", "today", "--json",
                 "--html", str(report))  # fmt: skip
    assert ran.exit_code == 1  # violations found
    record = json.loads(ran.output)
    assert record["drifted_features"] == ["score"]
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    shown = invoke(root, "monitor", "violations", "p", "--json")
    assert shown.exit_code == 1
    assert json.loads(shown.output)["violations"][0]["feature_name"] == "score"
    table = invoke(root, "monitor", "violations", record["execution_id"])
    assert "baseline_drift_check" in table.output


def test_ground_truth_upload_and_time_parsing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"row_id": ["r1", "r2"], "y": [1, 0]}).to_csv(labels, index=False)
    writer = CaptureWriter(root, "ep", "v1")  # labels are for rows the endpoint captured
    writer.write(inference_id="r", model="m:1", columns=["x"], rows=[[1], [2]], predictions=[0, 1])
    writer.close()
    done = invoke(root, "monitor", "ground-truth", "ep", str(labels), "--label", "y")
    assert done.exit_code == 0, done.output
    assert "Stored 2 labels" in done.output
    assert ground_truth(ctx, "ep") == {"r1": 1, "r2": 0}
    assert parse_time("1700000000", "--since") == 1_700_000_000.0
    assert parse_time("2026-01-31T00:00:00+00:00", "--since") == 1_769_817_600.0
    assert abs(parse_time("2h", "--since") - (time.time() - 7200)) < 5
    with pytest.raises(InvalidParameter, match="not a time"):
        parse_time("yesterday", "--since")
    both = invoke(root, "monitor", "run", "--baseline", "b", "--endpoint", "e", "--dataset", "d")
    assert isinstance(both.exception, InvalidParameter)


def test_run_on_captured_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint form, with the job replaced by the same function in-process."""
    from siklus.monitoring import build_baseline, run_monitoring

    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    build_baseline(ctx, store(ctx, frame(300, 1), "people"), "p")
    writer = CaptureWriter(ctx.root, "ep", "v1")
    for i, row in enumerate(frame(20, 3).itertuples()):
        writer.write(
            inference_id=f"r{i}", model="m:1", columns=["age", "income", "score", "city"],
            rows=[[int(row.age), float(row.income), float(row.score), row.city]],
            predictions=[1], when=1_000.0 + i,
        )  # fmt: skip
    writer.close()
    seen = {}

    def in_process(ws: WorkspaceContext, **request: object) -> tuple[None, dict]:
        seen.update(request)
        result = run_monitoring(
            ws, baseline=request["baseline"], endpoint=request["endpoint"],
            window=(request["window_start"], request["window_end"]),
        )  # fmt: skip
        return None, result.to_dict()

    monkeypatch.setattr("siklus.monitoring.start_monitoring_job", in_process)
    ran = invoke(root, "monitor", "run", "--baseline", "p", "--endpoint", "ep",
                 "--since", "1000", "--until", "1010")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert seen["window_start"] == 1000.0 and seen["window_end"] == 1010.0
    assert "10 rows, 0 violation(s)" in " ".join(ran.output.split())


def test_unwritable_output_paths_are_one_line_errors(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ctx = WorkspaceContext.open(root)
    store(ctx, frame(50, 1), "people")
    made = invoke(root, "monitor", "baseline", "people", "--name", "p")
    assert made.exit_code == 0, made.output
    missing = tmp_path / "no" / "such"
    export = invoke(root, "monitor", "constraints", "p", "--export", str(missing / "c.json"))
    assert isinstance(export.exception, InvalidParameter), export.exception
    assert "Cannot write constraints" in str(export.exception)
    report = invoke(root, "monitor", "run", "--baseline", "p", "--dataset", "people",
                    "--html", str(missing / "r.html"))  # fmt: skip
    assert isinstance(report.exception, InvalidParameter), report.exception
    assert "--html does not exist" in str(report.exception)
