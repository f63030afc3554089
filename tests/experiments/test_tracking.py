"""The tracking API in one process: runs, buffered logging, steps, links and errors."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.experiments import (
    FAILURE_TAG,
    ActiveRun,
    active_run,
    end_run,
    get_metric_history,
    get_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_model,
    set_tag,
    set_tags,
    start_run,
)
from siklus.store import RunStatus, WorkspaceContext, sha256_file
from siklus.testing import sha


def test_with_block_logs_everything_and_completes(ws: WorkspaceContext) -> None:
    with start_run("churn", name="first", params={"C": 1.0}, tags={"model": "lr"}, ctx=ws) as run:
        assert active_run() is run and isinstance(run, ActiveRun)
        for loss in (0.9, 0.5, 0.3):
            log_metric("loss", loss)
        log_metrics({"accuracy": 0.93, "f1": np.float32(0.5)})
        log_param("solver", "saga")
        log_params({"max_iter": 100, "flag": True})
        set_tag("team", "ml")
        set_tags({"stage": 2})
    assert active_run() is None
    got = get_run(run.run_id, ws)
    assert got.status is RunStatus.COMPLETED and got.end_time is not None
    assert (got.experiment, got.name) == ("churn", "first")
    assert got.params == {"C": 1.0, "solver": "saga", "max_iter": 100, "flag": "True"}
    assert got.tags == {"model": "lr", "team": "ml", "stage": "2"}
    assert got.metrics == {"loss": 0.3, "accuracy": 0.93, "f1": 0.5}
    history = get_metric_history(run.run_id, "loss", ws)
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]


def test_steps_count_per_key_and_explicit_steps_continue(ws: WorkspaceContext) -> None:
    with start_run("steps", ctx=ws) as run:
        run.log_metric("loss", 1.0)
        run.log_metric("loss", 0.9)
        run.log_metric("loss", 0.5, step=10)
        run.log_metric("loss", 0.4)
        run.log_metrics({"a": 1.0, "b": 2.0}, step=np.int64(7))
        run.log_metrics({"a": 3.0})
    assert [p.step for p in get_metric_history(run.run_id, "loss", ws)] == [0, 1, 10, 11]
    assert [p.step for p in get_metric_history(run.run_id, "a", ws)] == [7, 8]
    assert [p.step for p in get_metric_history(run.run_id, "b", ws)] == [7]


def test_series_history_is_in_step_order_whatever_the_logging_order(ws: WorkspaceContext) -> None:
    with start_run("order", ctx=ws) as run:
        for step in (5, 1, 4, 0, 3, 2):
            run.log_metric("loss", float(step), step=step)
            if step == 4:
                run.flush()  # the series spans two transactions
    assert [p.value for p in get_metric_history(run.run_id, "loss", ws)] == [0, 1, 2, 3, 4, 5]
    assert get_run(run.run_id, ws).metrics["loss"] == 2.0  # the most recently logged


def test_buffer_flushes_at_the_threshold_and_on_read(ws: WorkspaceContext) -> None:
    with start_run("buffer", ctx=ws) as run:
        run.flush_every = 10
        for i in range(25):
            run.log_metric("x", float(i))
        stored = ws.store.get_metric_history(run.run_id, "x")  # the store, not flushing
        assert len(stored) == 20, "two flushes of ten, five points still buffered"
        assert len(get_metric_history(run.run_id, "x", ws)) == 25  # reads flush first
    assert len(ws.store.get_metric_history(run.run_id, "x")) == 25


def test_non_finite_values_round_trip(ws: WorkspaceContext) -> None:
    with start_run("nan", ctx=ws) as run:
        run.log_metrics({"nan": math.nan, "inf": math.inf, "neg": -math.inf})
    metrics = get_run(run.run_id, ws).metrics
    assert math.isnan(metrics["nan"]) and metrics["inf"] == math.inf and metrics["neg"] < 0
    assert math.isinf(get_metric_history(run.run_id, "neg", ws)[0].value)


def test_exception_fails_the_run_keeps_its_data_and_says_why(ws: WorkspaceContext) -> None:
    with pytest.raises(ValueError, match="diverged"), start_run("fail", ctx=ws) as run:
        run.log_metric("loss", 1.0)
        raise ValueError("loss diverged")
    got = get_run(run.run_id, ws)
    assert got.status is RunStatus.FAILED and got.metrics == {"loss": 1.0}
    assert got.tags[FAILURE_TAG] == "ValueError: loss diverged"
    with pytest.raises(KeyboardInterrupt), start_run("fail", ctx=ws) as killed:
        raise KeyboardInterrupt
    assert get_run(killed.run_id, ws).status is RunStatus.KILLED


def test_end_is_idempotent_and_logging_after_it_is_refused(ws: WorkspaceContext) -> None:
    run = start_run("end", ctx=ws)
    run.log_metric("x", 1.0)
    end_run("Killed")
    run.end()  # a second end changes nothing
    assert get_run(run.run_id, ws).status is RunStatus.KILLED
    with pytest.raises(InvalidState, match="has ended"):
        run.log_metric("x", 2.0)
    with pytest.raises(InvalidParameter, match="final status"):
        start_run("end", ctx=ws).end("Running")
    end_run()


def test_module_functions_need_an_active_run() -> None:
    with pytest.raises(InvalidState, match="No active run"):
        log_metric("loss", 1.0)
    end_run()  # nothing to end: no error


def test_nested_runs_and_threads_have_their_own_active_run(ws: WorkspaceContext) -> None:
    seen: dict[str, str | None] = {}
    with start_run("outer", ctx=ws) as outer:
        with start_run("inner", ctx=ws) as inner:
            log_metric("depth", 2)
            thread = threading.Thread(target=lambda: seen.update(t=str(active_run())))
            thread.start()
            thread.join()
        assert active_run() is outer
        log_metric("depth", 1)
    assert seen == {"t": "None"}
    assert get_run(inner.run_id, ws).metrics == {"depth": 2.0}
    assert get_run(outer.run_id, ws).metrics == {"depth": 1.0}


def test_threads_logging_into_one_run_lose_nothing(ws: WorkspaceContext) -> None:
    with start_run("threads", ctx=ws) as run:
        run.flush_every = 100

        def work(worker: int) -> None:
            for step in range(500):
                run.log_metric(f"t{worker}", float(step), step=step)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for i in range(4):
        steps = [p.step for p in get_metric_history(run.run_id, f"t{i}", ws)]
        assert steps == list(range(500))


def test_artifacts_model_inputs_and_job_links(ws: WorkspaceContext, tmp_path: Path) -> None:
    version, _ = ws.store.add_dataset_version(
        "iris", sha256=sha("iris"), schema=[], row_count=1, size_bytes=1, source="x"
    )
    job = ws.store.create_job(
        name="train", kind="training", entrypoint="m:f", inputs={}, parameters={},
        resources={}, tags={},
    )  # fmt: skip
    model = ws.store.create_model(
        name="m", sha256=sha("m"), manifest={}, training_job_id=job.id, tags={}
    )
    report = tmp_path / "report.txt"
    report.write_text("confusion matrix")
    inputs = {"train": "iris", "test": version.id}
    with start_run("links", job_id=job.id, inputs=inputs, ctx=ws) as run:
        digest = log_artifact(report)
        run.log_artifact(report, name="copy.txt")
        set_model(model.id)
    got = get_run(run.run_id, ws)
    assert digest == sha256_file(report) and ws.artifacts.exists(digest)
    assert got.artifacts == {"report.txt": digest, "copy.txt": digest}
    assert (got.model_id, got.job_id) == (model.id, job.id)
    assert got.inputs == {"train": version.id, "test": version.id}
    with pytest.raises(InvalidParameter, match="not a file"), start_run("links", ctx=ws):
        log_artifact(tmp_path)
    with pytest.raises(NotFound, match="iris"):
        start_run("links", inputs={"train": "iris:9"}, ctx=ws)


def test_bad_keys_and_values_fail_at_the_call(ws: WorkspaceContext) -> None:
    with start_run("bad", ctx=ws) as run:
        with pytest.raises(InvalidParameter, match="characters filters cannot address"):
            run.log_metric("loss{x}", 1.0)
        with pytest.raises(InvalidParameter, match="must be a number"):
            run.log_metric("loss", "0.5")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameter, match="integer"):
            run.log_metric("loss", 0.5, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameter, match=r"Model\.id"):
            run.set_model("")
        run.log_metric("loss", 0.5)
    assert get_run(run.run_id, ws).metrics == {"loss": 0.5}


def test_workspace_tags_are_merged_into_run_tags(tmp_path: Path) -> None:
    ctx = WorkspaceContext.open(tmp_path / "tagged", tags={"cost-center": "42"})
    with start_run("tags", tags={"model": "rf"}, ctx=ctx) as run:
        pass
    assert get_run(run.run_id, ctx).tags == {"cost-center": "42", "model": "rf"}
    ctx.store.close()
