"""Must show: an alarm action starts a retraining job that registers a new model version,
on the latest data, with its evaluation beside the current one."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from siklus.data import ingest, read_frame, split_dataset
from siklus.exceptions import InvalidState, NotFound
from siklus.jobs import LocalExecutor, process_alive
from siklus.monitoring.alarms import alarm_history, evaluate_alarm, put_alarm
from siklus.monitoring.retrain import current_package, format_comparison, get_comparison
from siklus.registry import approve, register_model
from siklus.store import WorkspaceContext
from siklus.training import evaluate_model, load_model, train


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceContext]:
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    ctx = WorkspaceContext.open(tmp_path / "ws")
    yield ctx
    for job in ctx.store.list_jobs(limit=1000):
        if job.status.is_final or not job.pid:
            continue
        with contextlib.suppress(ProcessLookupError):
            if process_alive(job.pid, job.pid_started_at) and os.getpgid(job.pid) == job.pid:
                os.killpg(job.pid, signal.SIGKILL)
    ctx.store.close()


@pytest.mark.slow
def test_alarm_action_retrains_and_registers_a_new_version(
    ws: WorkspaceContext, tmp_path: Path, breast_cancer_frame: pd.DataFrame
) -> None:
    first = tmp_path / "bc-v1.csv"
    breast_cancer_frame.iloc[:400].to_csv(first, index=False)
    ingest(ws, first, "bc")
    split_dataset(ws, "bc", stratify="diagnosis")
    _, model = train(
        ws, estimator="sklearn.linear_model.LogisticRegression", target="diagnosis",
        train="bc.train", validation="bc.validation", hyperparameters={"max_iter": 2000},
        positive_label="malignant",
    )  # fmt: skip
    evaluate_model(ws, model.id, "bc.test")
    v1 = register_model(ws, model.id, "bc")
    approve(ws, "bc:1", reason="first model", by="tester")
    # New data arrives: the whole dataset, a new version of "bc".
    latest = tmp_path / "bc-v2.csv"
    breast_cancer_frame.to_csv(latest, index=False)
    bc_v2, created = ingest(ws, latest, "bc")
    assert created and bc_v2.version == 2

    put_alarm(
        ws, "accuracy-drop", namespace="siklus/monitoring", metric="accuracy",
        dimensions={"schedule": "nightly"}, statistic="Average", period=60, threshold=0.9,
        comparison="LessThanThreshold", evaluation_periods=2, datapoints_to_alarm=2,
        alarm_actions=["log", "retrain:bc"],
    )  # fmt: skip
    ws.store.put_metric_data(
        "siklus/monitoring", "accuracy", [(6_000, 0.71), (6_070, 0.69)],
        dimensions={"schedule": "nightly"},
    )  # fmt: skip
    result = evaluate_alarm(ws, "accuracy-drop", now=6_120)
    assert result.alarm.state.value == "ALARM"
    [_, fired] = result.fired
    assert fired["action"] == {"type": "retrain", "group": "bc"} and fired["status"] == "Submitted"

    job = LocalExecutor(ws).wait(fired["job_id"], timeout=240)
    assert job.status.value == "Completed", LocalExecutor(ws).logs(job.id)
    assert job.kind == "retraining" and job.tags["alarm"] == "accuracy-drop"
    assert job.outputs["package"] == "bc:2" and job.outputs["compared_with"] == "bc:1"

    v2 = ws.store.get_model_package("bc", 2)
    assert v2.approval_status.value == "PendingManualApproval"
    assert v2.tags["retrained_from"] == "bc:1" and "alarm accuracy-drop" in v2.description
    # The training spec was reused, on the re-split newest data (same seed, stratified).
    training = ws.store.get_job(job.outputs["training_job_id"])
    old_training = ws.store.get_job(model.training_job_id)
    assert training.entrypoint == old_training.entrypoint
    assert training.parameters["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert training.parameters["hyperparameters"] == {"max_iter": 2000}
    new_train = ws.store.get_dataset_version_by_id(training.inputs["train"])
    assert new_train.name == "bc.train" and new_train.parent_id == bc_v2.id
    assert new_train.row_count == pytest.approx(0.8 * len(breast_cancer_frame), abs=2)
    assert "stratify=diagnosis" in new_train.source

    comparison = get_comparison(ws, "bc:2")
    assert comparison["dataset"] == "bc.test:2" and comparison["current"]["ref"] == "bc:1"
    assert comparison["trigger"]["alarm_name"] == "accuracy-drop"
    # Independent check of the current model's score on the new test split.
    _, test = read_frame(ws, "bc.test:2")
    loaded = load_model(ws, ws.store.get_model(v1.model_id))
    truth = test.pop("diagnosis")
    reference = accuracy_score(truth, loaded.estimator.predict(loaded.conform(test)))
    assert comparison["current"]["metrics"]["accuracy"] == pytest.approx(reference)
    cand, cur = comparison["candidate"]["metrics"], comparison["current"]["metrics"]
    assert comparison["deltas"]["accuracy"] == pytest.approx(cand["accuracy"] - cur["accuracy"])
    assert "accuracy" in format_comparison(comparison)
    upstream = ws.store.list_lineage(v2.id, "upstream")
    assert any(e.source_id == v1.id and e.relation == "retrained" for e in upstream)
    # The action fired once: a second evaluation in ALARM starts nothing new.
    evaluate_alarm(ws, "accuracy-drop", now=6_120)
    assert len(alarm_history(ws, "accuracy-drop", types=["Action"])) == 2
    assert len(ws.store.list_jobs(kind="retraining")) == 1


def test_retraining_needs_a_training_job_and_a_group(ws: WorkspaceContext) -> None:
    with pytest.raises(NotFound):
        current_package(ws, "nothing")
    model = ws.store.create_model(
        name="external", sha256="0" * 64, manifest={}, training_job_id=None, tags={}
    )
    register_model(ws, model.id, "ext")
    from siklus.monitoring.retrain import retrain

    with pytest.raises(InvalidState, match="no training spec"):
        retrain(ws, "ext")


def test_the_comparison_says_why_a_side_was_not_evaluated() -> None:
    side = {"ref": "g:1", "approval_status": "Approved", "metrics": {}}
    comparison = {
        "current": {**side, "error": "format 'directory' is not a siklus model"},
        "candidate": {**side, "ref": "g:2", "error": "format 'directory' is not a siklus model"},
        "dataset": "bc.test:2",
        "deltas": {},
    }
    text = format_comparison(comparison)
    assert "current g:1 was not evaluated: format 'directory'" in text
    assert "candidate g:2 was not evaluated" in text
