"""Ground truth typed by hand: a label that is not one of the model's classes is left out
of the window's model quality and reported, instead of failing every execution."""

from __future__ import annotations

import pandas as pd
import pytest

from siklus.exceptions import InvalidInput
from siklus.monitoring import build_baseline, run_monitoring, upload_ground_truth
from siklus.monitoring._model_quality import like_labels, usable_labels

from ._helpers import LABEL, Workspace
from .test_injected_shift import capture


def test_usable_labels_cast_to_the_classes_and_report_the_rest() -> None:
    kept = usable_labels(["1", "cat", 0, "2.5", "0"], [1, 1, 0, 1, 7], [0, 1], "binary")
    assert kept == ([1, 0], [1, 0], ["cat", "2.5", "0"])
    assert usable_labels(["true", "yes"], [True, True], [False, True], "binary") == (
        [True],
        [True],
        ["yes"],
    )
    assert usable_labels(["1.5", "x", "nan"], [1, 2, 3], None, "regression") == (
        [1.5],
        [1.0],
        ["x", "nan"],
    )
    with pytest.raises(InvalidInput, match="'cat' is not of the model's class type"):
        like_labels(["cat"], [0, 1])


def test_a_mistyped_label_does_not_fail_the_execution(bc_workspace: Workspace) -> None:
    ctx = bc_workspace.ctx
    build_baseline(ctx, "bc.train", "bc-typed", label=LABEL, model="bc:1")
    frame = bc_workspace.test.head(20)
    row_ids = capture(bc_workspace, "typed", frame)
    truth = frame[LABEL].tolist()
    truth[0] = "Benign?"
    upload_ground_truth(ctx, "typed", pd.DataFrame({"row_id": row_ids, "label": truth}))
    result = run_monitoring(ctx, baseline="bc-typed", endpoint="typed", emit=False)
    quality = result.model_quality
    assert quality["matched"] == 19 and quality["unusable_labels"] == 1
    assert "Benign?" in quality["note"] and "accuracy" in quality["metrics"]
