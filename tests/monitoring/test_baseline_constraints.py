"""Baselines: statistics.json / constraints.json in SageMaker's formats, hand edits validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.monitoring import (
    build_baseline,
    load_baseline,
    parse_constraints,
    run_monitoring,
    set_constraints,
)
from siklus.store import WorkspaceContext

from ._helpers import frame, store


def test_statistics_and_suggested_constraints(ctx: WorkspaceContext) -> None:
    data = frame(3000, 1)
    data.loc[::10, "income"] = np.nan
    ref = store(ctx, data, "people")
    baseline = build_baseline(ctx, ref, "people", sketch_size=256)
    stats = baseline.statistics
    assert stats["version"] == 0 and stats["dataset"] == {"item_count": 3000}
    features = baseline.features
    assert [f["inferred_type"] for f in stats["features"]] == [
        "Integral", "Fractional", "Fractional", "String",
    ]  # fmt: skip
    income = features["income"]["numerical_statistics"]
    assert income["common"] == {"num_present": 2700, "num_missing": 300}
    present = data["income"].dropna()
    assert income["mean"] == pytest.approx(present.mean())
    assert income["sum"] == pytest.approx(present.sum())
    assert income["std_dev"] == pytest.approx(present.std(ddof=0))
    assert (income["min"], income["max"]) == (present.min(), present.max())
    kll = income["distribution"]["kll"]
    assert len(kll["buckets"]) == 10 and sum(b["count"] for b in kll["buckets"]) == 2700
    assert kll["sketch"]["parameters"]["k"] == 256 and len(kll["sketch"]["data"][0]) == 256
    city = features["city"]["string_statistics"]
    assert city["distinct_count"] == 3
    counts = {b["value"]: b["count"] for b in city["distribution"]["categorical"]["buckets"]}
    assert counts == data["city"].value_counts().to_dict()

    raw = baseline.constraints_raw
    by_name = {f["name"]: f for f in raw["features"]}
    assert by_name["age"]["completeness"] == 1.0
    assert by_name["age"]["num_constraints"] == {"is_non_negative": True}
    assert 0.85 < by_name["income"]["completeness"] < 0.9  # below 90%, for sampling noise
    assert by_name["city"]["string_constraints"]["domains"] == ["bandung", "jakarta", "surabaya"]
    config = raw["monitoring_config"]
    assert config["datatype_check_threshold"] == 0.1
    assert config["distribution_constraints"]["comparison_method"] == "Simple"
    assert config["distribution_constraints"]["drift_method"] == "auto"
    assert load_baseline(ctx, "people").statistics == stats


def test_bad_constraints_name_the_json_path(ctx: WorkspaceContext, tmp_path: Path) -> None:
    build_baseline(ctx, store(ctx, frame(200, 1), "people"), "people")
    document = json.loads(json.dumps(load_baseline(ctx, "people").constraints_raw))
    document["features"][1]["completeness"] = 1.5
    document["features"][3]["inferred_type"] = "Text"
    document["monitoring_config"]["distribution_constraints"]["psi_threshold"] = "high"
    with pytest.raises(InvalidParameter) as info:
        set_constraints(ctx, "people", document)
    message = str(info.value)
    assert "$.features[1].completeness: must be a number between 0 and 1, got 1.5" in message
    assert "$.features[3].inferred_type" in message and "'Text'" in message
    assert "$.monitoring_config.distribution_constraints.psi_threshold" in message
    bad_file = tmp_path / "constraints.json"
    bad_file.write_text('{"features": [', encoding="utf-8")
    with pytest.raises(InvalidParameter, match=r"is not JSON: .* line 1"):
        set_constraints(ctx, "people", bad_file)
    with pytest.raises(InvalidParameter, match=r"feature\(s\) \['zip'\]"):
        set_constraints(ctx, "people", {"features": [{"name": "zip", "inferred_type": "String"}]})
    with pytest.raises(InvalidParameter, match="listed twice"):
        parse_constraints({"features": [{"name": "a", "inferred_type": "String"}] * 2})
    with pytest.raises(NotFound, match="existing: \\['people'\\]"):
        load_baseline(ctx, "nope")


def test_a_hand_edit_changes_the_verdict(ctx: WorkspaceContext, tmp_path: Path) -> None:
    build_baseline(ctx, store(ctx, frame(600, 1), "people"), "people")
    current = store(ctx, frame(600, 2, shift=0.35), "today")
    assert run_monitoring(ctx, baseline="people", dataset=current).drifted_features == ["score"]
    document = load_baseline(ctx, "people").constraints_raw
    for feature in document["features"]:
        if feature["name"] == "score":
            feature["monitoringConfigOverrides"] = {"drift_method": "psi", "psi_threshold": 5.0}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    edited = set_constraints(ctx, "people", path)
    assert edited.revision == 2
    assert edited.constraints.drift_settings("score")["psi_threshold"] == 5.0
    assert edited.constraints.drift_settings("age")["psi_threshold"] == 0.2
    result = run_monitoring(ctx, baseline="people", dataset=current)
    assert result.drifted_features == []
    [score] = [d for d in result.drift if d.feature == "score"]
    assert score.method == "psi" and score.statistics["psi"] < 5.0


def test_options_are_checked(ctx: WorkspaceContext) -> None:
    ref = store(ctx, frame(50, 1), "people")
    with pytest.raises(InvalidParameter, match="needs the label"):
        build_baseline(ctx, ref, "b", model="bc:1")
    with pytest.raises(InvalidParameter, match=r"\['nope'\] are not in dataset"):
        build_baseline(ctx, ref, "b", exclude=["nope"])
    with pytest.raises(InvalidParameter, match="sketch_size"):
        build_baseline(ctx, ref, "b", sketch_size=3)
    with pytest.raises(InvalidParameter, match="not valid"):
        build_baseline(ctx, ref, "bad name!")
    assert build_baseline(ctx, ref.replace(":", "@"), "b", exclude=["age"]).features.keys() == {
        "income", "score", "city",
    }  # fmt: skip


def test_a_baseline_of_nothing_is_refused(ctx: WorkspaceContext) -> None:
    """A 0-row baseline once succeeded (every feature Unknown) and then passed everything."""
    empty = store(ctx, frame(5, 1).head(0), "nobody")
    with pytest.raises(InvalidInput, match="0 row"):
        build_baseline(ctx, empty, "b")
    ref = store(ctx, frame(5, 1), "few")
    with pytest.raises(InvalidInput, match="0 feature"):
        build_baseline(ctx, ref, "b", exclude=["age", "income", "score", "city"])
