"""Profiling and checks run as recorded jobs: outputs, artifacts and lineage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

from siklus.data import store_table
from siklus.data.quality import (
    CheckReport,
    Profile,
    check_dataset,
    load_check_report,
    load_profile,
    load_profile_html,
    profile_dataset,
)
from siklus.exceptions import InvalidParameter
from siklus.store import JobStatus


@pytest.fixture
def orders(ctx):
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 3, 5],
            "amount": [10.0, None, 30.0, -4.0, 50.0],
            "when": pd.to_datetime(
                ["2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04", "2024-06-05"]
            ),
        }
    )
    version, _ = store_table(
        ctx, pa.Table.from_pandas(frame, preserve_index=False), "orders", source="test"
    )
    return version


def edges_from(ctx, entity_id):
    return {
        (e.relation, e.target_type, e.target_id)
        for e in ctx.store.list_lineage(entity_id, direction="downstream")
    }


def test_profile_job(ctx, orders):
    job, profile = profile_dataset(ctx, "orders", top_k=3)
    assert job.kind == "profile" and job.status == JobStatus.COMPLETED
    assert job.inputs == {"dataset": orders.id}
    assert job.parameters == {"top_k": 3, "bins": 20, "cramers_v": True}
    assert profile.dataset == "orders:1" and profile.sha256 == orders.sha256
    assert profile.column("amount").missing == 1
    stored = json.loads(ctx.artifacts.get_bytes(job.outputs["profile_sha256"]))
    assert Profile.from_dict(stored) == profile == load_profile(ctx, job)
    assert "Profile of orders:1" in load_profile_html(ctx, job)
    assert (("input", "job", job.id)) in edges_from(ctx, orders.id)
    assert edges_from(ctx, job.id) == {
        ("profile", "artifact", job.outputs["profile_sha256"]),
        ("profile-report", "artifact", job.outputs["report_sha256"]),
    }


def test_check_job_reports_failures_as_a_completed_job(ctx, orders):
    rules = [
        {"type": "uniqueness", "column": "id"},
        {"type": "range", "column": "amount", "min": 0, "severity": "warning"},
        {"type": "freshness", "column": "when", "max_age": "2d"},
    ]
    job, report = check_dataset(ctx, orders, rules, now=datetime(2024, 6, 6, tzinfo=UTC))
    assert job.kind == "data-quality" and job.status == JobStatus.COMPLETED
    assert job.outputs["passed"] is False and report.passed is False
    assert job.outputs["failed_errors"] == 1 and job.outputs["failed_warnings"] == 1
    assert [r.passed for r in report.results] == [False, False, True]
    assert report.results[0].offending_rows == 2 and report.now == "2024-06-06T00:00:00+00:00"
    assert load_check_report(ctx, job) == report
    assert isinstance(report, CheckReport)
    assert ("data-quality-report", "artifact", job.outputs["report_sha256"]) in edges_from(
        ctx, job.id
    )
    with pytest.raises(InvalidParameter, match="no stored profile"):
        load_profile(ctx, job)


def test_bad_rules_fail_before_any_job(ctx, orders):
    with pytest.raises(InvalidParameter, match="orders:1 has no column 'price'"):
        check_dataset(ctx, "orders", [{"type": "not_null", "column": "price"}])
    with pytest.raises(InvalidParameter, match="top_k"):
        profile_dataset(ctx, "orders", top_k=0)
    assert ctx.store.list_jobs() == []
