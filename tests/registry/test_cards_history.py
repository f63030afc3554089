"""Model cards, the approval history and lineage links of a really trained model."""

from __future__ import annotations

import json

import pytest

from siklus.exceptions import InvalidParameter, InvalidState
from siklus.registry import (
    approve,
    get_model_card,
    get_onnx_export,
    package_history,
    package_lineage,
    parse_assignments,
    read_card_file,
    register_model,
    reject,
    render_model_card,
    update_model_card,
)


def test_card_is_written_at_registration_from_what_is_known(trained):
    ctx, model = trained
    package = register_model(ctx, model.id, "bc-card", description="first try")
    card = get_model_card(ctx, package)
    assert card["package"] == package.ref and card["model_id"] == model.id
    assert card["intended_use"] == "first try"
    channels = {d["channel"]: d for d in card["training_data"]}
    assert channels["train"]["ref"] == ctx.store.get_dataset_version("bc.train").ref
    assert channels["train"]["rows"] == ctx.store.get_dataset_version("bc.train").row_count
    assert set(channels) == {"train", "validation"}
    # Evaluation: the package's metrics, per split, including the test evaluation.
    assert card["evaluation"]["test"] == package.metrics["test"]
    assert 0.9 < card["evaluation"]["test"]["accuracy"] <= 1.0
    assert card["model_details"]["task"] == "binary_classification"
    assert card["model_details"]["classes"] == ["benign", "malignant"]
    assert "mean radius (number)" in card["model_details"]["inputs"]


def test_card_edits_are_kept_and_recorded(trained, tmp_path):
    ctx, model = trained
    package = register_model(ctx, model.id, "bc-card", onnx=False)
    changes = parse_assignments(["limitations=Not for children", "owner=ana", "threshold=0.3"])
    assert changes["threshold"] == 0.3  # JSON values parse
    update_model_card(ctx, package.ref, changes, by="ana")
    path = tmp_path / "card.yaml"
    path.write_text("intended_use: Second opinion for radiologists\nreviewers: [budi, citra]\n")
    card = update_model_card(ctx, package, read_card_file(path), by="budi")
    assert card["intended_use"] == "Second opinion for radiologists"
    assert card["limitations"] == "Not for children" and card["owner"] == "ana"
    assert card["reviewers"] == ["budi", "citra"] and card["updated_by"] == "budi"
    assert get_model_card(ctx, package) == card  # stored
    markdown = render_model_card(card, "markdown")
    for text in ("# Model card: bc-card:", "## Intended use", "Second opinion", "## Evaluation",
                 "## Limitations", "Not for children", "**owner**: ana", "bc.train"):  # fmt: skip
        assert text in markdown
    assert json.loads(render_model_card(card, "json"))["owner"] == "ana"
    edits = [e for e in package_history(ctx, package) if e["action"] == "card-updated"]
    assert [(e["by"], e["fields"]) for e in edits] == [
        ("ana", ["limitations", "owner", "threshold"]),
        ("budi", ["intended_use", "reviewers"]),
    ]


def test_card_errors(trained, tmp_path):
    ctx, model = trained
    package = register_model(ctx, model.id, "bc-card", onnx=False)
    with pytest.raises(InvalidParameter, match="KEY=VALUE"):
        parse_assignments(["no-equals-sign"])
    with pytest.raises(InvalidParameter, match="maintained by siklus"):
        update_model_card(ctx, package, {"model_id": "x"})
    with pytest.raises(InvalidParameter, match="Nothing to change"):
        update_model_card(ctx, package, {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(InvalidParameter, match="mapping"):
        read_card_file(bad)
    with pytest.raises(InvalidParameter, match="does not exist"):
        read_card_file(tmp_path / "missing.yaml")
    with pytest.raises(InvalidParameter, match="markdown or json"):
        render_model_card({}, "html")


def test_history_keeps_every_approval_change(trained):
    ctx, model = trained
    package = register_model(ctx, model.id, "bc-history", onnx=False, by="ana")
    approve(ctx, package.ref, reason="recall 0.95 on test", by="budi")
    reject(ctx, package.ref, reason="drift in new clinic", by="citra")
    with pytest.raises(InvalidState):
        reject(ctx, package.ref, reason="again", by="citra")  # no change, no entry
    approve(ctx, package.ref, reason="retested", by="budi")
    history = package_history(ctx, package)
    assert [(e["action"], e["by"]) for e in history] == [
        ("registered", "ana"),
        ("approval", "budi"),
        ("approval", "citra"),
        ("approval", "budi"),
    ]
    changes = [(e["from"], e["to"], e["reason"]) for e in history[1:]]
    assert changes == [
        ("PendingManualApproval", "Approved", "recall 0.95 on test"),
        ("Approved", "Rejected", "drift in new clinic"),
        ("Rejected", "Approved", "retested"),
    ]
    assert all(e["at"] for e in history)
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)


def test_lineage_links_data_job_evaluation_and_onnx(trained):
    ctx, model = trained
    package = register_model(ctx, model.id, "bc-lineage")
    links = package_lineage(ctx, package.ref)
    assert links["model"]["id"] == model.id
    assert links["training_job"]["id"] == model.training_job_id
    assert links["training_job"]["status"] == "Completed"
    refs = {d["channel"]: d["ref"] for d in links["datasets"]}
    assert refs == {
        "train": ctx.store.get_dataset_version("bc.train").ref,
        "validation": ctx.store.get_dataset_version("bc.validation").ref,
    }
    [evaluation] = links["evaluations"]
    assert evaluation["split"] == "test"
    assert evaluation["dataset"] == ctx.store.get_dataset_version("bc.test").ref
    onnx = get_onnx_export(ctx, package)
    assert onnx["status"] == "exported"
    assert links["artifacts"] == [{"relation": "onnx", "sha256": onnx["sha256"]}]


def test_a_trained_model_exports_and_onnx_matches_on_every_row(trained):
    """The model a real training job wrote (text labels) answers the same through ONNX."""
    import numpy as np

    from siklus.data import read_frame
    from siklus.serving._onnx import load_onnx_model
    from siklus.training import load_model

    ctx, model = trained
    package = register_model(ctx, model.id, "bc-onnx")
    _, frame = read_frame(ctx, "bc")
    rows = frame.drop(columns=["diagnosis"])
    native = load_model(ctx, model).predict(rows)
    onnx = load_onnx_model(ctx, package).predict(rows)
    assert onnx["predictions"] == native["predictions"]
    assert set(onnx["predictions"]) == {"benign", "malignant"}
    np.testing.assert_allclose(onnx["probabilities"], native["probabilities"], atol=1e-5)
