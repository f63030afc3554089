"""Executing pipelines: caching, conditions, retries, resume, stop, alarm-action jobs."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import pytest

from siklus.data import ingest
from siklus.exceptions import InvalidState
from siklus.jobs import JobSpec, LocalExecutor
from siklus.pipelines import (
    PIPELINE_JOB_ENTRYPOINT,
    PipelineDefinition,
    Step,
    describe_execution,
    list_executions,
    param,
    ref,
    resume_execution,
    save_pipeline,
    start_execution,
    stop_execution,
)
from siklus.store import WorkspaceContext

LOGREG = "sklearn.linear_model.LogisticRegression"


def _train_pipeline(min_recall: float = 0.5) -> PipelineDefinition:
    return PipelineDefinition(
        name="train-eval",
        parameters={"min_recall": {"type": "float", "default": min_recall}},
        steps=[
            Step(name="split", type="split", args={"dataset": "bc", "stratify": "diagnosis"}),
            Step(name="train", type="training", args={
                "estimator": LOGREG, "target": "diagnosis", "positive_label": "malignant",
                "hyperparameters": {"max_iter": 2000},
                "train": ref("split.train"), "validation": ref("split.validation")}),
            Step(name="evaluate", type="evaluation", args={
                "model": ref("train.model_id"), "dataset": ref("split.test"),
                "criteria": ["recall >= 0.5 on test"]}),
            Step(name="gate", type="condition",
                 conditions=[{"left": ref("evaluate.recall"), "op": ">=",
                              "right": param("min_recall")}],
                 if_steps=["register"], else_steps=["too-low"]),
            Step(name="register", type="register",
                 args={"model": ref("train.model_id"), "group": "bc", "approve": True}),
            Step(name="too-low", type="fail", args={"message": "recall below the bar"}),
        ],
    )  # fmt: skip


def _training_jobs(ctx: WorkspaceContext) -> int:
    return len(LocalExecutor(ctx).list(kind="training"))


@pytest.mark.slow
def test_second_run_is_served_from_cache_and_condition_takes_both_branches(
    bc_ctx: WorkspaceContext,
) -> None:
    pipeline = _train_pipeline()
    started = time.monotonic()
    first = start_execution(bc_ctx, pipeline)
    first_s = time.monotonic() - started
    assert first["status"] == "Succeeded", first["failure_reason"]
    assert _training_jobs(bc_ctx) == 1
    steps = first["steps"]
    assert steps["gate"]["outputs"]["branch"] == "if"
    assert steps["register"]["status"] == "Succeeded"
    assert steps["too-low"]["status"] == "Skipped"
    assert steps["train"]["job_ids"] and not steps["train"]["cached"]

    started = time.monotonic()
    second = start_execution(bc_ctx, pipeline)
    second_s = time.monotonic() - started
    print(f"\nfirst run {first_s:.2f}s, cached run {second_s:.2f}s "
          f"({second_s / first_s:.0%} of the first)")  # fmt: skip
    assert second["status"] == "Succeeded"
    assert _training_jobs(bc_ctx) == 1  # no training job started
    for name in ("split", "train", "evaluate"):
        assert second["steps"][name]["cached"] is True
        assert second["steps"][name]["outputs"] == steps[name]["outputs"]
    assert second["steps"]["train"]["job_ids"] == []
    # Registering the same model again adds no version.
    assert len(bc_ctx.store.list_model_packages("bc")) == 1

    # The else branch: an impossible bar fails the execution at the fail step.
    third = start_execution(bc_ctx, pipeline, {"min_recall": 1.01})
    assert third["status"] == "Failed"
    assert third["steps"]["gate"]["outputs"]["branch"] == "else"
    assert third["steps"]["register"]["status"] == "Skipped"
    assert third["steps"]["too-low"]["status"] == "Failed"
    assert "recall below the bar" in third["failure_reason"]
    assert _training_jobs(bc_ctx) == 1

    # A new version of the input data is a cache miss from the first step on.
    frame = bc_ctx.store.get_dataset_version("bc")
    assert frame.version == 1
    assert len(list_executions(bc_ctx, "train-eval")) == 3


def test_condition_branches_on_parameters_and_skips_downstream(ctx: WorkspaceContext) -> None:
    pipeline = PipelineDefinition(
        name="branches",
        parameters={"go": {"type": "boolean", "default": True}, "n": {"type": "integer",
                                                                      "default": 3}},
        steps=[
            Step(name="gate", type="condition",
                 conditions=[{"left": param("go"), "op": "==", "right": True},
                             {"left": param("n"), "op": ">", "right": 2}],
                 if_steps=["yes"], else_steps=["no"]),
            Step(name="yes", type="condition",
                 conditions=[{"left": 1, "op": "==", "right": 1}]),
            Step(name="after-yes", type="condition", depends_on=["yes"],
                 conditions=[{"left": 1, "op": "==", "right": 1}]),
            Step(name="no", type="fail", args={"message": "took the else branch"}),
        ],
    )  # fmt: skip
    taken = start_execution(ctx, pipeline)
    assert taken["status"] == "Succeeded"
    assert [taken["steps"][s]["status"] for s in ("gate", "yes", "after-yes", "no")] == [
        "Succeeded", "Succeeded", "Succeeded", "Skipped"
    ]  # fmt: skip
    other = start_execution(ctx, pipeline, {"n": 2})
    assert other["status"] == "Failed"
    assert [other["steps"][s]["status"] for s in ("gate", "yes", "after-yes", "no")] == [
        "Succeeded", "Skipped", "Skipped", "Failed"
    ]  # fmt: skip
    assert other["steps"]["gate"]["outputs"]["conditions"][1] == {
        "left": 2, "op": ">", "right": 2, "holds": False
    }  # fmt: skip
    with pytest.raises(InvalidState, match="only a Failed or Stopped"):
        resume_execution(ctx, taken["id"])


@pytest.mark.slow
def test_failing_step_is_retried_then_resumed_without_rerunning_earlier_steps(
    bc_ctx: WorkspaceContext, tmp_path: Path, step_module: str
) -> None:
    attempts, number = tmp_path / "attempts", tmp_path / "n.json"
    number.write_text("not json", encoding="utf-8")
    pipeline = PipelineDefinition(
        name="retry-resume",
        steps=[
            Step(name="first", type="split", args={"dataset": "bc", "seed": 3}),
            Step(name="read", type="custom", depends_on=["first"], cache=False,
                 retry={"max_attempts": 2, "backoff_seconds": 0.1, "backoff_rate": 2.0},
                 args={"function": f"{step_module}:read_number",
                       "args": {"path": str(number), "attempts_file": str(attempts)}}),
            Step(name="check", type="condition", conditions=[
                {"left": ref("read.number"), "op": ">", "right": 2}]),
        ],
    )  # fmt: skip
    failed = start_execution(bc_ctx, pipeline)
    assert failed["status"] == "Failed"
    read = failed["steps"]["read"]
    assert read["status"] == "Failed" and read["attempts"] == 2
    assert len(attempts.read_text().splitlines()) == 2  # retried per policy
    assert len(read["job_ids"]) == 2
    assert "JSONDecodeError" in read["error"]
    assert "retrying in 0.1s" in Path(read["log_paths"][0]).read_text()
    assert failed["steps"]["check"]["status"] == "Pending"
    versions_before = len(bc_ctx.store.list_dataset_versions())

    number.write_text(json.dumps({"number": 5}), encoding="utf-8")  # fix the input
    resumed = resume_execution(bc_ctx, failed["id"])
    assert resumed["id"] == failed["id"] and resumed["status"] == "Succeeded"
    assert resumed["runs"] == 2
    # "first" was not re-run: same outputs, same start time, no new dataset versions.
    assert resumed["steps"]["first"] == failed["steps"]["first"]
    assert len(bc_ctx.store.list_dataset_versions()) == versions_before
    assert len(attempts.read_text().splitlines()) == 3
    assert resumed["steps"]["read"]["outputs"]["number"] == 5
    assert resumed["steps"]["check"]["outputs"]["outcome"] is True


@pytest.mark.slow
def _executions_of(ctx: WorkspaceContext, pipeline: str) -> list[dict]:
    """Executions of ``pipeline``, [] before it is stored (``list_executions`` then raises)."""
    return [b for b in list_executions(ctx) if b["pipeline"] == pipeline]


def test_stop_ends_the_running_step_job_and_the_execution(
    ctx: WorkspaceContext, tmp_path: Path, step_module: str
) -> None:
    pipeline = PipelineDefinition(
        name="long",
        steps=[Step(name="wait", type="custom", cache=False, args={
            "function": f"{step_module}:wait_for_stop", "args": {"seconds": 60}})],
    )  # fmt: skip
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(start_execution(ctx, pipeline)))
    thread.start()
    deadline = time.monotonic() + 60
    execution_id = None
    while time.monotonic() < deadline:
        executions = _executions_of(ctx, "long")  # stored by start_execution, maybe not yet
        if executions and executions[0]["steps"]["wait"]["job_ids"]:
            execution_id = executions[0]["id"]
            break
        time.sleep(0.1)
    assert execution_id is not None
    stop_execution(ctx, execution_id)
    thread.join(60)
    assert result["status"] == "Stopped"
    assert result["steps"]["wait"]["status"] == "Stopped"
    (job_id,) = result["steps"]["wait"]["job_ids"]
    assert LocalExecutor(ctx).describe(job_id).status.value == "Stopped"
    assert describe_execution(ctx, execution_id)["status"] == "Stopped"


def test_alarm_action_job_runs_a_stored_pipeline(ctx: WorkspaceContext) -> None:
    save_pipeline(ctx, PipelineDefinition(
        name="retrain",
        parameters={"n": {"type": "integer", "default": 0}},
        steps=[Step(name="gate", type="condition",
                    conditions=[{"left": param("n"), "op": ">=", "right": 1}])],
    ))  # fmt: skip
    job = LocalExecutor(ctx).run(JobSpec(
        kind="alarm-action", entrypoint=PIPELINE_JOB_ENTRYPOINT,
        parameters={"pipeline": "retrain", "parameters": {"n": 4}}, resources={"cpus": 0},
    ))  # fmt: skip
    assert job.status.value == "Completed", job.failure_reason
    body = describe_execution(ctx, job.outputs["execution_id"])
    assert body["status"] == "Succeeded" and body["parameters"] == {"n": 4}
    assert body["trigger"]["job_id"] == job.id
    assert body["steps"]["gate"]["outputs"]["outcome"] is True


def test_an_alarm_going_to_alarm_starts_the_pipeline(ctx: WorkspaceContext) -> None:
    """The whole path: metric breach -> alarm state change -> action job -> execution."""
    from siklus.monitoring import evaluate_alarm, put_alarm

    save_pipeline(ctx, PipelineDefinition(
        name="retrain",
        parameters={"n": {"type": "integer", "default": 0}},
        steps=[Step(name="gate", type="condition",
                    conditions=[{"left": param("n"), "op": ">=", "right": 1}])],
    ))  # fmt: skip
    put_alarm(
        ctx, "recall-low", namespace="siklus/monitoring", metric="recall",
        dimensions={"endpoint": "bc"}, statistic="Average", period=60, threshold=0.9,
        comparison="LessThanThreshold", evaluation_periods=1, datapoints_to_alarm=1,
        alarm_actions=[{"type": "pipeline", "pipeline": "retrain", "parameters": {"n": 2}}],
    )  # fmt: skip
    t0 = 1_800_000_000.0
    ctx.store.put_metric_data(
        "siklus/monitoring", "recall", [(t0 + 5, 0.7)], dimensions={"endpoint": "bc"}
    )
    result = evaluate_alarm(ctx, "recall-low", now=t0 + 60)
    assert result.alarm.state.value == "ALARM"
    [fired] = result.fired
    job = LocalExecutor(ctx).wait(fired["job_id"], timeout=120)
    assert job.status.value == "Completed", job.failure_reason
    body = describe_execution(ctx, job.outputs["execution_id"])
    assert body["status"] == "Succeeded" and body["parameters"] == {"n": 2}


def test_a_new_dataset_version_misses_the_cache(ctx: WorkspaceContext, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)), encoding="utf-8")
    ingest(ctx, data, "d")
    pipeline = PipelineDefinition(
        name="split-only", steps=[Step(name="split", type="split", args={"dataset": "d"})]
    )
    first = start_execution(ctx, pipeline)
    again = start_execution(ctx, pipeline)
    assert again["steps"]["split"]["cached"] is True
    data.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)), encoding="utf-8")
    ingest(ctx, data, "d")
    third = start_execution(ctx, pipeline)
    assert third["steps"]["split"]["cached"] is False
    assert (
        third["steps"]["split"]["outputs"]["train"] != first["steps"]["split"]["outputs"]["train"]
    )


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt even where pytest runs with SIGINT ignored (``&``)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_when_step_job_runs(ctx: WorkspaceContext, pipeline: str) -> threading.Thread:
    """Ctrl-C the main thread once the pipeline's first step has started its job."""
    import _thread

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            executions = _executions_of(ctx, pipeline)
            if executions and executions[0]["steps"]["wait"]["job_ids"]:
                _thread.interrupt_main()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _waiting_pipeline(name: str, step_module: str) -> PipelineDefinition:
    return PipelineDefinition(
        name=name,
        steps=[Step(name="wait", type="custom", cache=False, args={
            "function": f"{step_module}:wait_for_stop", "args": {"seconds": 60}})],
    )  # fmt: skip


def test_ctrl_c_stops_the_step_jobs_and_leaves_a_resumable_stopped_execution(
    ctx: WorkspaceContext, step_module: str, ctrl_c_raises: None
) -> None:
    # Regression: Ctrl-C left the execution Executing forever (not resumable, not stoppable).
    watcher = _interrupt_when_step_job_runs(ctx, "ctrl-c")
    with pytest.raises(KeyboardInterrupt):
        start_execution(ctx, _waiting_pipeline("ctrl-c", step_module))
    watcher.join(10)
    (body,) = list_executions(ctx, "ctrl-c")
    assert body["status"] == "Stopped" and "interrupted" in body["failure_reason"]
    assert body["steps"]["wait"]["status"] == "Stopped"
    (job_id,) = body["steps"]["wait"]["job_ids"]
    assert LocalExecutor(ctx).describe(job_id).status.value == "Stopped"


def test_cli_ctrl_c_records_stopped_and_says_how_to_resume(
    ctx: WorkspaceContext, step_module: str, ctrl_c_raises: None
) -> None:
    # Regression: the CLI ran the execution in a daemon thread, so Ctrl-C killed it midway.
    from typer.testing import CliRunner

    from siklus.cli import _register_commands, app

    save_pipeline(ctx, _waiting_pipeline("cli-ctrl-c", step_module))
    _register_commands()
    watcher = _interrupt_when_step_job_runs(ctx, "cli-ctrl-c")
    result = CliRunner().invoke(app, ["-w", str(ctx.root), "pipelines", "start", "cli-ctrl-c"])
    watcher.join(10)
    (body,) = list_executions(ctx, "cli-ctrl-c")
    assert result.exit_code == 130, result.output
    assert f"siklus pipelines resume {body['id']}" in " ".join(result.output.split())
    assert body["status"] == "Stopped"


@pytest.mark.slow
def test_a_killed_runner_process_leaves_a_resumable_failed_execution(
    ctx: WorkspaceContext, step_module: str
) -> None:
    # Regression: after SIGKILL of `siklus pipelines start`, the execution stayed Executing
    # forever: `resume` refused it and `stop` only set a flag nobody read.
    import signal
    import subprocess
    import sys

    save_pipeline(ctx, _waiting_pipeline("killed", step_module))
    process = subprocess.Popen(
        [sys.executable, "-m", "siklus", "-w", str(ctx.root), "pipelines", "start", "killed"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            executions = list_executions(ctx, "killed")
            if executions and executions[0]["steps"]["wait"]["job_ids"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the step job never started")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    (stale,) = list_executions(ctx, "killed")
    assert stale["status"] == "Executing"
    body = describe_execution(ctx, stale["id"])
    assert body["status"] == "Failed" and "was killed" in body["failure_reason"]
    assert body["steps"]["wait"]["status"] == "Failed"
    with contextlib.suppress(InvalidState):  # the orphaned step job
        LocalExecutor(ctx).stop(body["steps"]["wait"]["job_ids"][0])
