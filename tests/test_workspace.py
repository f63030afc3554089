"""The ``Workspace`` facade reaches every stage with the workspace bound (one real path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from siklus import Workspace


def test_facade_drives_data_catalog_registry_monitoring_and_pipelines(
    tmp_path: Path, breast_cancer_frame: pd.DataFrame
) -> None:
    ws = Workspace(tmp_path / "ws")
    raw = tmp_path / "landing" / "bc"
    raw.mkdir(parents=True)
    breast_cancer_frame.to_csv(raw / "part-1.csv", index=False)

    loaded = ws.data.load_files(str(raw / "*.csv"), "bc")
    version = ws.data.get("bc")
    assert version.row_count == len(breast_cancer_frame)
    assert loaded is not None

    ws.catalog.crawl(str(tmp_path / "landing"), "landing")
    [table] = ws.catalog.tables("landing")
    assert "mean radius" in [c.name for c in ws.catalog.table(f"landing.{table.name}").columns]
    assert len(ws.catalog.versions(f"landing.{table.name}")) == 1

    parts = ws.data.split("bc", stratify="diagnosis")
    _, model = ws.training.train(
        estimator="sklearn.linear_model.LogisticRegression",
        train=parts["train"].ref,
        target="diagnosis",
        hyperparameters={"max_iter": 500},
    )
    package = ws.models.register(model.id, group="bc")
    assert ws.models.card(package.ref)["model_details"]
    ws.models.approve(package.ref, reason="reviewed")
    assert [e["to"] for e in ws.models.history(package.ref) if "to" in e][-1] == "Approved"

    ws.monitoring.baseline(parts["train"].ref, "bc-base")
    result = ws.monitoring.run(baseline="bc-base", dataset=parts["test"].ref)
    assert result.item_count == parts["test"].row_count
    assert ws.pipelines.executions() == []
