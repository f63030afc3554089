"""Ground truth uploaded later, joined by capture row id; later uploads win."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siklus.exceptions import InvalidInput, NotFound
from siklus.monitoring import ground_truth, upload_ground_truth
from siklus.store import WorkspaceContext
from siklus.store.capture import CaptureWriter


def captured(ctx: WorkspaceContext, *endpoints: str) -> None:
    """Give each endpoint captured data: labels are only taken for rows an endpoint saw."""
    for endpoint in endpoints:
        writer = CaptureWriter(ctx.root, endpoint, "v1")
        writer.write(inference_id="r", model="m:1", columns=["x"], rows=[[1]], predictions=[0])
        writer.close()


def test_csv_upload_and_later_uploads_win(ctx: WorkspaceContext, tmp_path: Path) -> None:
    captured(ctx, "ep", "other")
    path = tmp_path / "labels.csv"
    pd.DataFrame({"row_id": ["a", "b:0", "b:1"], "churned": [1, 0, 1]}).to_csv(path, index=False)
    first = upload_ground_truth(ctx, "ep", path)
    assert first["rows"] == 3 and first["label_column"] == "churned"
    upload_ground_truth(ctx, "ep", pd.DataFrame({"row_id": ["a"], "label": [0]}))
    upload_ground_truth(ctx, "other", pd.DataFrame({"row_id": ["a"], "label": [9]}))
    assert ground_truth(ctx, "ep") == {"a": 0, "b:0": 0, "b:1": 1}
    events = ctx.store.list_events("monitoring-ground-truth", "ep")
    assert [e.body["rows"] for e in events] == [3, 1]


def test_bad_uploads_say_what_to_fix(ctx: WorkspaceContext, tmp_path: Path) -> None:
    captured(ctx, "ep")
    with pytest.raises(InvalidInput, match="'row_id' column"):
        upload_ground_truth(ctx, "ep", pd.DataFrame({"id": [1], "label": [1]}))
    with pytest.raises(InvalidInput, match="Which column is the label"):
        upload_ground_truth(ctx, "ep", pd.DataFrame({"row_id": ["a"], "x": [1], "y": [2]}))
    with pytest.raises(InvalidInput, match="empty row ids or labels"):
        upload_ground_truth(ctx, "ep", pd.DataFrame({"row_id": ["a", None], "label": [1, 2]}))
    with pytest.raises(NotFound, match="does not exist"):
        upload_ground_truth(ctx, "ep", tmp_path / "missing.csv")
    assert ground_truth(ctx, "ep") == {}


def test_an_unknown_endpoint_or_clashing_labels_are_refused(ctx: WorkspaceContext) -> None:
    with pytest.raises(NotFound, match="'gohst'"):
        upload_ground_truth(ctx, "gohst", pd.DataFrame({"row_id": ["a"], "label": [1]}))
    captured(ctx, "ep")
    with pytest.raises(InvalidInput, match=r"different labels, e.g. \['a'\]"):
        upload_ground_truth(
            ctx, "ep", pd.DataFrame({"row_id": ["a", "b", "a"], "label": [1, 0, 0]})
        )
    same = upload_ground_truth(ctx, "ep", pd.DataFrame({"row_id": ["a", "a"], "label": [1, 1]}))
    assert same["rows"] == 1 and ground_truth(ctx, "ep") == {"a": 1}
