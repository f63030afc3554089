"""Each trial is a run of the tuning job's experiment; in-flight trials and stopping."""

from __future__ import annotations

import logging
import time

from siklus.jobs import LocalExecutor
from siklus.store import JobStatus
from siklus.tuning import ENTRYPOINT, build_config, describe_tuning_job, start_tuning
from siklus.tuning import _runs as runs
from siklus.tuning._driver import TuningDriver


class FakeRun:
    """Records what the tuning code asks of an ``ActiveRun``."""

    def __init__(self, experiment, **kwargs):
        self.experiment = experiment
        self.start = kwargs
        self.run_id = f"run-{kwargs['name']}"
        self.metrics: dict[str, float] = {}
        self.series: list[tuple[str, float, int]] = []
        self.tags: dict[str, str] = {}
        self.model_id = None
        self.status = None

    def log_metric(self, key, value, step=None):
        self.series.append((key, value, step))

    def log_metrics(self, metrics, step=None):
        self.metrics.update(metrics)

    def set_tags(self, tags):
        self.tags.update(tags)

    def set_model(self, model_id):
        self.model_id = model_id

    def end(self, status="Completed"):
        self.status = status


def drive(ctx, config):
    """Run a tuning job's driver in this process (so tracking can be replaced by a fake)."""
    job = ctx.store.create_job(
        name=config.name, kind="tuning", entrypoint=ENTRYPOINT, inputs=config.inputs(),
        parameters=config.parameters(), resources={"cpus": 0}, tags={},
    )  # fmt: skip
    driver = TuningDriver(
        ctx, config, tuning_job_id=job.id,
        publish=lambda outputs: ctx.store.update_job(job.id, outputs=outputs),
        should_stop=lambda: False, log=logging.getLogger(__name__),
    )  # fmt: skip
    outputs = driver.run()
    assert ctx.store.get_job(job.id).outputs == outputs  # published as it went
    return outputs


def test_every_trial_is_a_run_of_the_tuning_experiment(ctx, breast_cancer, monkeypatch):
    started: list[FakeRun] = []

    def start_run(experiment, **kwargs):
        started.append(FakeRun(experiment, **kwargs))
        return started[-1]

    monkeypatch.setattr(runs, "start_run", start_run)
    config = build_config(
        ctx, estimator="sklearn.svm.SVC", target="diagnosis", train=breast_cancer["train"],
        validation=breast_cancer["validation"], positive_label="malignant",
        space={"kernel": {"type": "categorical", "choices": ["linear", "precomputed"]}},
        objective="validation:accuracy", strategy="grid", max_parallel_jobs=2, seed=0,
        name="svc-kernels",
    )  # fmt: skip
    outputs = drive(ctx, config)

    assert outputs["runs_recorded"] is True
    by_kernel = {t["params"]["kernel"]: t for t in outputs["trials"]}
    good, failed = by_kernel["linear"], by_kernel["precomputed"]
    assert (good["state"], failed["state"]) == ("Completed", "Failed")
    by_name = {run.start["name"]: run for run in started}
    assert set(by_name) == {"trial-1", "trial-2"}
    for trial in outputs["trials"]:
        run = by_name[f"trial-{trial['number']}"]
        assert run.experiment == "svc-kernels" and trial["run_id"] == run.run_id
        assert run.start["job_id"] == trial["job_id"] and run.start["params"] == trial["params"]
        assert run.start["inputs"] == config.inputs()
        assert run.tags["trial_state"] == trial["state"]
    failed_run = by_name[f"trial-{failed['number']}"]
    good_run = by_name[f"trial-{good['number']}"]
    assert failed_run.status == "Failed" and failed_run.model_id is None
    assert failed_run.tags["log_path"] == failed["log_path"]
    assert "Precomputed matrix" in failed_run.tags["failure_reason"]
    assert good_run.status == "Completed" and good_run.model_id == good["model_id"]
    assert good_run.metrics["objective"] == good["value"] == good_run.metrics["validation_accuracy"]
    assert "validation_f1" in good_run.metrics and "train_accuracy" in good_run.metrics


def test_a_trial_running_when_the_target_is_met_finishes_and_counts(ctx, breast_cancer):
    # The grid's seeded order starts 400 trees (slow) and 10 trees (fast) together; the
    # fast one meets the target, so the third point never starts, and the slow one, already
    # running, is left to finish and is recorded like any other trial.
    config = build_config(
        ctx, estimator="sklearn.ensemble.GradientBoostingClassifier", target="diagnosis",
        train=breast_cancer["train"], validation=breast_cancer["validation"],
        positive_label="malignant",
        space={"n_estimators": {"type": "categorical", "choices": [5, 10, 400]}},
        objective="validation:accuracy", strategy="grid", max_parallel_jobs=2,
        target_value=0.5, seed=0,
    )  # fmt: skip
    outputs = drive(ctx, config)

    assert outputs["stop_reason"] == "target_reached"
    slow, fast = outputs["trials"]
    assert (slow["params"], fast["params"]) == ({"n_estimators": 400}, {"n_estimators": 10})
    assert slow["state"] == fast["state"] == "Completed"
    assert fast["ended_at"] < slow["ended_at"]
    assert len(ctx.store.list_jobs(kind="training")) == 2


def test_stopping_a_tuning_job_stops_its_running_trial_and_keeps_the_records(ctx, diabetes):
    tuning = start_tuning(
        ctx, estimator="sklearn.ensemble.RandomForestRegressor", target="target",
        train=diabetes["train"], validation=diabetes["validation"],
        space={"max_depth": {"type": "int", "low": 2, "high": 8}},
        hyperparameters={"n_estimators": 20000}, objective="validation:rmse",
        strategy="random", max_jobs=5, seed=0,
    )  # fmt: skip
    executor = LocalExecutor(ctx)
    deadline = time.monotonic() + 60
    while True:  # wait until the first trial's training job is fitting
        trials = describe_tuning_job(ctx, tuning.id).trials
        job_id = trials[0]["job_id"] if trials else None
        if job_id and executor.describe(job_id).status == JobStatus.IN_PROGRESS:
            break
        assert time.monotonic() < deadline, "the first trial never started"
        time.sleep(0.1)

    stopped = executor.stop(tuning.id)

    assert stopped.status == JobStatus.STOPPED
    result = describe_tuning_job(ctx, tuning.id)
    assert result.stop_reason == "stopped"
    assert [t["state"] for t in result.trials] == ["Stopped"]
    assert executor.describe(job_id).status == JobStatus.STOPPED
    assert len(ctx.store.list_jobs(kind="training")) == 1
