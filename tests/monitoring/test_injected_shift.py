"""Must show: injected shifts in real data are flagged, untouched features are not.

Breast-cancer rows held out of training are sent through data capture as if an endpoint
had scored them, after three injected changes (fixed seeds): ``mean texture`` scaled by
1.5, 70% of the ``small`` size band relabelled ``large``, and the true labels flipped for
the ``medium`` band (concept drift). The same rows without the changes raise nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from siklus.monitoring import (
    NAMESPACE,
    build_baseline,
    list_executions,
    load_violations,
    run_monitoring,
    upload_ground_truth,
)
from siklus.store.capture import CaptureWriter, row_ids_for
from siklus.testing import browser_probe

from ._helpers import BAND, LABEL, Workspace

SCALED = "mean texture"
T0 = 1_764_000_000.0


def capture(ws: Workspace, endpoint: str, frame: pd.DataFrame) -> list[str]:
    """Write ``frame`` as requests of 5 rows each; returns the row ids in frame order."""
    writer = CaptureWriter(ws.ctx.root, endpoint, "v1")
    features = frame.drop(columns=[LABEL])
    predictions = ws.model.predict(features).tolist()
    row_ids: list[str] = []
    for start in range(0, len(frame), 5):
        rows = features.iloc[start : start + 5]
        inference = f"{endpoint}-req-{start}"
        writer.write(
            inference_id=inference,
            model="bc:1",
            columns=list(rows.columns),
            rows=rows.to_numpy(dtype=object).tolist(),
            predictions=predictions[start : start + 5],
            when=T0 + start,
        )
        row_ids += row_ids_for(inference, len(rows))
    writer.close()
    return row_ids


def shifted(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(11)
    out = frame.copy()
    out[SCALED] = out[SCALED] * 1.5
    small = out.index[out[BAND] == "small"]
    moved = rng.choice(small, size=int(0.7 * len(small)), replace=False)
    out.loc[moved, BAND] = "large"
    flip = {"benign": "malignant", "malignant": "benign"}
    truth = frame[LABEL].where(frame[BAND] != "medium", frame[LABEL].map(flip))
    return out, truth


@pytest.fixture(scope="module")
def baseline(bc_workspace: Workspace) -> str:
    built = build_baseline(bc_workspace.ctx, "bc.train", "bc", label=LABEL, model="bc:1")
    assert built.model_quality is not None
    assert built.model_quality["dataset"].startswith("bc.validation")
    assert built.constraints.model_quality()["recall"].comparison_operator == "LessThanThreshold"
    return built.name


def test_shifted_features_and_quality_drop_are_flagged(
    bc_workspace: Workspace, baseline: str
) -> None:
    ws = bc_workspace
    current = pd.concat([ws.validation, ws.test], ignore_index=True)
    changed, truth = shifted(current)
    row_ids = capture(ws, "shifted", changed)
    upload_ground_truth(ws.ctx, "shifted", pd.DataFrame({"row_id": row_ids, "label": truth}))

    result = run_monitoring(ws.ctx, baseline=baseline, endpoint="shifted", window=(T0, T0 + 10_000))

    assert result.item_count == len(current)
    assert sorted(result.drifted_features) == sorted([SCALED, BAND])
    checks = {v["constraint_check_type"] for v in result.violations if "feature_name" in v}
    assert checks == {"baseline_drift_check"}  # no type, completeness or column problems
    quality = {v["metric_name"]: v for v in result.violations if "metric_name" in v}
    assert {"accuracy", "recall"} <= set(quality)
    assert result.model_quality is not None and result.model_quality["matched"] == len(current)
    assert result.model_quality["metrics"]["accuracy"] < 0.8

    # The reported statistics are SciPy's on the same samples (the baseline of 455 rows
    # is kept whole in its sketch, so nothing is approximated).
    drift = {d.feature: d.statistics for d in result.drift}
    base_values = ws.train[SCALED].to_numpy()
    cur_values = changed[SCALED].to_numpy()
    ks = stats.ks_2samp(base_values, cur_values, method="asymp")
    assert drift[SCALED]["ks"] == pytest.approx(ks.statistic, abs=1e-12)
    assert drift[SCALED]["ks_p_value"] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
    assert drift[SCALED]["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(base_values, cur_values), rel=1e-9
    )
    edges = np.unique(np.quantile(base_values, np.arange(1, 10) / 10))
    bins = [-np.inf, *edges, np.inf]
    p = np.histogram(base_values, bins)[0] / len(base_values)
    q = np.histogram(cur_values, bins)[0] / len(cur_values)
    assert drift[SCALED]["jensen_shannon"] == pytest.approx(
        distance.jensenshannon(p, q, base=2), rel=1e-9
    )
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)  # PSI floors empty bins
    assert drift[SCALED]["psi"] == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    bands = sorted(set(ws.train[BAND]) | set(changed[BAND]))
    table = np.array(
        [
            [int((ws.train[BAND] == b).sum()) for b in bands],
            [int((changed[BAND] == b).sum()) for b in bands],
        ]
    )
    chi2 = stats.chi2_contingency(table)
    assert drift[BAND]["chi_square"] == pytest.approx(chi2.statistic)
    assert drift[BAND]["chi_square_p_value"] == pytest.approx(chi2.pvalue)
    assert drift[BAND]["jensen_shannon"] == pytest.approx(
        distance.jensenshannon(table[0], table[1], base=2)
    )

    # Results: AWS-format violations file, a self-contained report, metric series, event.
    document = json.loads(Path(result.paths["violations"]).read_text(encoding="utf-8"))
    assert document == {"violations": result.violations}
    assert load_violations(ws.ctx, {"artifacts": result.artifacts}) == document
    html = Path(result.paths["report"]).read_text(encoding="utf-8")
    assert html.count("<svg") >= 31 and "http://" not in html and "https://" not in html
    seen = browser_probe(result.paths["report"])
    assert seen["errors"] == []
    charts = [svg for svg in seen["svgs"] if svg["width"] > 50]  # the rest: legend swatches
    assert len(charts) >= 31
    assert all(svg["height"] > 20 and svg["shapes"] > 0 for svg in charts)
    assert SCALED in seen["text"] and "mean radius" in seen["text"]
    series = ws.ctx.store.get_metric_data(
        NAMESPACE, "feature_drift_psi", dimensions={"endpoint": "shifted", "feature": SCALED}
    )
    assert [(p.timestamp, p.value) for p in series] == [
        (T0 + 10_000, pytest.approx(drift[SCALED]["psi"]))
    ]
    recall = ws.ctx.store.get_metric_data(NAMESPACE, "recall", dimensions={"endpoint": "shifted"})
    assert recall[0].value == pytest.approx(result.model_quality["metrics"]["recall"])
    count = ws.ctx.store.get_metric_data(
        NAMESPACE, "violations_count", dimensions={"endpoint": "shifted"}
    )
    assert count[0].value == len(result.violations)
    [event] = list_executions(ws.ctx, baseline=baseline)[-1:]
    assert event["execution_id"] == result.execution_id
    assert event["paths"] == result.paths


def test_unchanged_rows_raise_nothing(bc_workspace: Workspace, baseline: str) -> None:
    ws = bc_workspace
    current = pd.concat([ws.validation, ws.test], ignore_index=True)
    row_ids = capture(ws, "control", current)
    upload_ground_truth(ws.ctx, "control", pd.DataFrame({"row_id": row_ids, "y": current[LABEL]}))
    result = run_monitoring(ws.ctx, baseline=baseline, endpoint="control")
    assert result.violations == []
    assert result.drifted_features == []
    assert len(result.drift) == 31
    assert result.model_quality is not None and result.model_quality["matched"] == len(current)


def test_dataset_version_with_a_model_is_checked_the_same_way(
    bc_workspace: Workspace, baseline: str
) -> None:
    result = run_monitoring(bc_workspace.ctx, baseline=baseline, dataset="bc.test")
    assert result.violations == [] and result.dataset is not None
    assert result.model_quality is not None and result.model_quality["matched"] == 57
