from __future__ import annotations

import pytest

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.registry import approve, get_package, parse_package_ref, register_model, reject
from siklus.store import ApprovalStatus


@pytest.fixture
def model(ctx):
    return ctx.store.create_model(
        name="m",
        sha256="a" * 64,
        manifest={"metrics": {"train": {"accuracy": 0.9}}},
        training_job_id=None,
        tags={},
    )


def test_register_starts_pending_and_versions_increase(ctx, model):
    first = register_model(ctx, model.id, "churn")
    second = register_model(ctx, model.id, "churn")
    assert (first.version, second.version) == (1, 2)
    assert first.approval_status == ApprovalStatus.PENDING
    assert first.metrics["train"]["accuracy"] == 0.9
    assert get_package(ctx, "churn").id == second.id
    assert get_package(ctx, "churn:1").id == first.id


def test_approve_and_reject_keep_who_when_why(ctx, model):
    package = register_model(ctx, model.id, "churn")
    approved = approve(ctx, package.ref, reason="meets criteria", by="ana")
    assert approved.approval_status == ApprovalStatus.APPROVED
    assert (approved.status_by, approved.status_reason) == ("ana", "meets criteria")
    assert approved.status_at is not None
    with pytest.raises(InvalidState, match="already Approved"):
        approve(ctx, package.ref, reason="again")
    rejected = reject(ctx, package.ref, reason="drift found", by="budi")
    assert rejected.approval_status == ApprovalStatus.REJECTED


def test_reason_required_and_bad_refs(ctx, model):
    package = register_model(ctx, model.id, "churn")
    with pytest.raises(InvalidParameter, match="reason is required"):
        approve(ctx, package.ref, reason="  ")
    with pytest.raises(InvalidParameter, match="GROUP:VERSION"):
        parse_package_ref("churn:x")
    with pytest.raises(NotFound):
        get_package(ctx, "churn:9")
    with pytest.raises(NotFound):
        register_model(ctx, "model-missing", "churn")


def test_register_carries_latest_evaluation_and_lineage(ctx, model):
    ctx.store.create_evaluation(
        model_id=model.id,
        dataset_version_id="ds-x",
        split="test",
        metrics={"recall": 0.95},
        verdict={"passed": True, "criteria": []},
        tags={},
    )
    package = register_model(ctx, model.id, "churn")
    assert package.metrics["test"] == {"recall": 0.95}
    assert package.metrics["verdicts"]["test"]["passed"] is True
    edges = ctx.store.list_lineage(package.id, "upstream")
    assert [(e.source_id, e.relation) for e in edges] == [(model.id, "registered")]
