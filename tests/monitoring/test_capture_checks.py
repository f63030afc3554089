"""Captured data: corrupt lines are reported and skipped; the six checks fire on bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.monitoring import build_baseline, get_execution, latest_execution, run_monitoring
from siklus.store import WorkspaceContext
from siklus.store.capture import CaptureWriter, capture_files

from ._helpers import frame, store

COLUMNS = ["age", "income", "score", "city"]


@pytest.fixture
def baseline(ctx: WorkspaceContext) -> str:
    build_baseline(ctx, store(ctx, frame(400, 1), "people"), "people")
    return "people"


def write(ctx: WorkspaceContext, rows: list[list[object]], columns: list[str] = COLUMNS) -> None:
    writer = CaptureWriter(ctx.root, "ep", "v1")
    for i in range(0, len(rows), 4):
        chunk = rows[i : i + 4]
        writer.write(
            inference_id=f"r{i}",
            model="m:1",
            columns=columns,
            rows=chunk,
            predictions=[0] * len(chunk),
            when=1000.0 + i,
        )
    writer.close()


def good_rows(n: int = 40) -> list[list[object]]:
    data = frame(n, 2)
    return [[int(r.age), float(r.income), float(r.score), r.city] for r in data.itertuples()]


def test_corrupt_lines_are_reported_and_skipped(ctx: WorkspaceContext, baseline: str) -> None:
    write(ctx, good_rows())
    [path] = capture_files(ctx.root, "ep")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"inference_id": "x", "time": 1.0, "columns": ["a"]}) + "\n")
        handle.write('{"inference_id": "cut", "time": 1001.0, "columns": ["age"], "ro')
    result = run_monitoring(ctx, baseline=baseline, endpoint="ep")
    assert result.item_count == 40
    assert [c["line"] for c in result.corrupt_records] == [11, 12, 13]
    assert all(c["file"] == str(path) for c in result.corrupt_records)
    assert "missing field(s) rows, predictions" in result.corrupt_records[1]["reason"]
    assert result.violations == []
    stored = get_execution(ctx, result.execution_id)
    assert len(stored["corrupt_records"]) == 3
    html = Path(result.paths["report"]).read_text(encoding="utf-8")
    assert "3 corrupt captured line(s) skipped" in html


def test_the_five_data_quality_checks(ctx: WorkspaceContext, baseline: str) -> None:
    rows = good_rows(40)
    for row in rows[:8]:
        row[0] = "eighty"  # text in an Integral column: 20% > 10% allowed
    for row in rows[8:14]:
        row[1] = None  # income 85% complete; the baseline was complete
    for row in rows[14:24]:
        row[3] = "medan"  # a city the baseline never saw: 25%
    # 'score' is left out, 'channel' is new.
    write(ctx, [[a, b, d, "web"] for a, b, _, d in rows], ["age", "income", "city", "channel"])
    result = run_monitoring(ctx, baseline=baseline, endpoint="ep", kinds=["data_quality"])
    found = {(v["feature_name"], v["constraint_check_type"]) for v in result.violations}
    assert found == {
        ("age", "data_type_check"),
        ("income", "completeness_check"),
        ("city", "categorical_values_check"),
        ("score", "missing_column_check"),
        ("channel", "extra_column_check"),
    }
    by_check = {v["constraint_check_type"]: v["description"] for v in result.violations}
    assert "Expected data type: Integral" in by_check["data_type_check"]
    assert "only 80.00% of data is Integral" in by_check["data_type_check"]
    assert "Observed: only 85.00%" in by_check["completeness_check"]
    assert "'medan'" in by_check["categorical_values_check"]
    assert result.drift == []  # data_drift was not asked for


def test_latest_execution_by_baseline_and_errors(ctx: WorkspaceContext, baseline: str) -> None:
    write(ctx, good_rows())
    first = run_monitoring(ctx, baseline=baseline, endpoint="ep", kinds=["data_drift"])
    assert latest_execution(ctx, baseline)["execution_id"] == first.execution_id
    assert latest_execution(ctx, first.execution_id)["execution_id"] == first.execution_id
    with pytest.raises(NotFound, match="nothing"):
        latest_execution(ctx, "nothing")
    with pytest.raises(InvalidParameter, match="exactly one"):
        run_monitoring(ctx, baseline=baseline)
    with pytest.raises(InvalidParameter, match="not valid"):
        run_monitoring(ctx, baseline=baseline, endpoint="ep", kinds=["vibes"])
    with pytest.raises(NotFound, match="siklus monitor baseline"):
        run_monitoring(ctx, baseline="nope", endpoint="ep")


def test_an_empty_window_is_not_an_error(ctx: WorkspaceContext, baseline: str) -> None:
    write(ctx, good_rows())
    result = run_monitoring(ctx, baseline=baseline, endpoint="ep", window=(5000.0, None))
    assert result.item_count == 0
    assert {v["constraint_check_type"] for v in result.violations} == {"missing_column_check"}


def test_an_unknown_endpoint_or_a_backwards_window_is_refused(
    ctx: WorkspaceContext, baseline: str
) -> None:
    """A misspelt endpoint once passed as "0 rows, 0 violations"; so did --since after
    --until."""
    with pytest.raises(NotFound, match="'gohst'"):
        run_monitoring(ctx, baseline=baseline, endpoint="gohst")
    write(ctx, good_rows())
    with pytest.raises(InvalidParameter, match="window is empty"):
        run_monitoring(ctx, baseline=baseline, endpoint="ep", window=(2000.0, 1000.0))
