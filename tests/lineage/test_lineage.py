"""Lineage: walks, exports, and the two audit questions on the quickstart pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from siklus.cli.quickstart import write_breast_cancer_csv
from siklus.data import ingest, read_frame
from siklus.exceptions import NotFound
from siklus.lineage import (
    endpoints_from_dataset,
    export,
    model_provenance,
    resolve_node,
    walk,
)
from siklus.pipelines import parse_definition, reproduce, start_execution
from siklus.project import breast_cancer_project
from siklus.store import WorkspaceContext
from siklus.testing import browser_probe


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_walk_follows_recorded_edges_both_ways_and_exports(ctx: WorkspaceContext) -> None:
    store = ctx.store
    store.add_lineage(("dataset", "d1"), ("job", "j1"), "input")
    store.add_lineage(("recipe", "r1"), ("job", "j1"), "recipe")
    store.add_lineage(("job", "j1"), ("model", "m1"), "output")
    store.add_lineage(("model", "m1"), ("evaluation", "e1"), "evaluated")
    store.add_lineage(("model", "m1"), ("dataset", "d1"), "odd-loop")  # cycles end the walk
    up = walk(store, ("model", "m1"), "up")
    assert up.upstream_of(("model", "m1")) == {("job", "j1"), ("dataset", "d1"), ("recipe", "r1"),
                                               ("model", "m1")}  # fmt: skip
    down = walk(store, ("job", "j1"), "down")
    assert {k for k in down.nodes} >= {("model", "m1"), ("evaluation", "e1")}
    assert ("recipe", "r1") not in down.nodes
    both = walk(store, ("job", "j1"), "both")
    assert {("recipe", "r1"), ("evaluation", "e1")} <= set(both.nodes)

    data = json.loads(export(both, "json"))
    assert data["root"] == "job:j1"
    assert {"source": "job:j1", "target": "model:m1", "relation": "output"} in data["edges"]
    dot = export(both, "dot")
    assert dot.startswith("digraph lineage {") and '"job:j1" -> "model:m1"' in dot
    page = export(both, "html")
    assert "<svg" in page and "<script>" in page and page.count('class="node"') == len(both.nodes)
    # Self-contained: nothing is fetched (the only URL is the SVG namespace).
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"]
    assert "src=" not in page and "<link" not in page
    seen = browser_probe(_write(ctx.root / "lineage.html", page))
    assert seen["errors"] == []
    [svg] = seen["svgs"]
    assert svg["width"] > 100 and svg["height"] > 50
    assert svg["shapes"] >= len(both.nodes) + len(both.edges)
    for node in ("job:j1", "model:m1", "recipe:r1", "evaluation:e1"):
        assert node.split(":")[1] in seen["text"]
    with pytest.raises(NotFound, match="Nothing in the workspace is called 'nope'"):
        walk(store, "nope")
    assert resolve_node(store, "recipe=r1") == ("recipe", "r1")


@pytest.mark.slow
def test_quickstart_pipeline_lineage_answers_both_questions_and_reproduces(
    tmp_path: Path,
) -> None:
    root = tmp_path / "qs"
    root.mkdir()
    spec = breast_cancer_project()
    (root / "siklus.yaml").write_text(spec.dump_yaml(), encoding="utf-8")
    write_breast_cancer_csv(root / "data" / "breast_cancer.csv")
    ctx = WorkspaceContext.open(root)
    definition = parse_definition(spec.pipeline_definition())
    body = start_execution(ctx, definition, {"max_tuning_jobs": 1, "endpoint": "bc-lineage"})
    try:
        assert body["status"] == "Succeeded", body["failure_reason"]
        steps = body["steps"]
        raw = ctx.store.get_dataset_version("breast_cancer", 1)
        prepared = ctx.store.get_dataset_version("breast_cancer.prepared", 1)

        # The quickstart leaves a working endpoint on 127.0.0.1.
        from siklus import serving

        endpoint = serving.describe_endpoint(ctx, "bc-lineage")
        assert endpoint.status.value == "InService" and endpoint.host == "127.0.0.1"
        rows = read_frame(ctx, steps["split"]["outputs"]["test"])[1].head(3)
        payload = json.dumps(rows.drop(columns=["diagnosis"]).to_dict(orient="records"))
        answer = serving.invoke_endpoint(ctx, "bc-lineage", payload.encode())
        assert len(answer["predictions"]) == 3
        assert set(answer["predictions"]) <= {"benign", "malignant"}

        # Which dataset versions and which code trained the model behind the endpoint?
        answer = model_provenance(ctx.store, "bc-lineage")
        assert answer["endpoint"]["name"] == "bc-lineage"
        assert answer["model_package"]["ref"] == steps["register"]["outputs"]["package"]
        assert answer["model"]["id"] == steps["tune"]["outputs"]["model_id"]
        channels = {c["channel"]: c["ref"] for c in answer["training_datasets"]}
        assert channels == {"train": steps["split"]["outputs"]["train"],
                            "validation": steps["split"]["outputs"]["validation"]}  # fmt: skip
        upstream = {d["id"] for d in answer["upstream_datasets"]}
        assert {raw.id, prepared.id} <= upstream
        assert answer["code"]["estimator"] == "sklearn.linear_model.LogisticRegression"
        assert answer["code"]["seed"] == 42 and "C" in answer["code"]["hyperparameters"]
        assert answer["code"]["library_versions"]["siklus"]
        assert answer["recipes"] == [steps["prepare"]["outputs"]["recipe_version"]]

        # Which endpoints serve models trained from dataset version Y?
        for ref in ("breast_cancer:1", prepared.id, steps["split"]["outputs"]["train"]):
            (hit,) = endpoints_from_dataset(ctx.store, ref)
            assert hit["endpoint"] == "bc-lineage"
        other = tmp_path / "other.csv"
        other.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
        version, _ = ingest(ctx, other, "unrelated")
        assert endpoints_from_dataset(ctx.store, version.ref) == []
        # The test split only evaluated the model; it did not train it.
        assert endpoints_from_dataset(ctx.store, steps["split"]["outputs"]["test"]) == []

        # The monitoring schedule watches the endpoint, downstream of the raw data.
        down = walk(ctx.store, "breast_cancer:1", "down")
        assert ("monitoring-schedule", "breast-cancer-hourly") in down.nodes
        assert ("endpoint", "bc-lineage") in down.nodes

        graph = walk(ctx.store, "bc-lineage", "up")
        kinds = {k for k, _ in graph.nodes}
        assert {"endpoint", "model_package", "model", "job", "dataset", "recipe",
                "pipeline_execution"} <= kinds  # fmt: skip

        # reproduce yields the identical content hash.
        result = reproduce(ctx, answer["model_package"]["ref"])
        assert result["identical"] is True
        assert result["reproduced_sha256"] == result["original_sha256"]
        assert result["reproduced_model_id"] != result["model_id"]
        assert {i["channel"] for i in result["inputs"]} == {"train", "validation"}
    finally:
        from siklus import serving

        for endpoint in serving.list_endpoints(ctx):
            serving.delete_endpoint(ctx, endpoint.name)


def test_type_equals_id_reaches_any_recorded_node_and_rejects_unknown_ones(
    ctx: WorkspaceContext,
) -> None:
    # Regression: only six types were accepted (pipeline executions, evaluations, baselines
    # were unreachable), and `model=typo` gave an empty graph instead of an error.
    store = ctx.store
    store.add_lineage(("pipeline_execution", "px-1"), ("model", "m9"), "step:train")
    store.add_lineage(("dataset", "d9"), ("monitoring-baseline", "base-1"), "baseline")
    assert resolve_node(store, "pipeline_execution=px-1") == ("pipeline_execution", "px-1")
    assert resolve_node(store, "monitoring-baseline=base-1") == ("monitoring-baseline", "base-1")
    assert resolve_node(store, "model=m9") == ("model", "m9")  # known only from an edge
    down = walk(store, "pipeline_execution=px-1", "down")
    assert down.downstream_of(("pipeline_execution", "px-1")) == {("model", "m9")}
    for text in ("model=nosuch", "pipeline_execution=m9", "evaluation=px-1"):
        with pytest.raises(NotFound, match="no lineage edge touches it"):
            resolve_node(store, text)
