"""Tuning jobs end to end: every trial is a real training job in its own process."""

from __future__ import annotations

import itertools
from pathlib import Path

import optuna

from siklus.registry import register_model
from siklus.store import JobStatus
from siklus.training import train
from siklus.tuning import build_config, describe_tuning_job, list_tuning_jobs, tune
from siklus.tuning._strategies import make_sampler

TREE_REGRESSOR = "sklearn.tree.DecisionTreeRegressor"
TREE = "sklearn.tree.DecisionTreeClassifier"
TREE_SPACE = {
    "max_depth": {"type": "int", "low": 1, "high": 10},
    "min_samples_leaf": {"type": "int", "low": 1, "high": 40},
}


def trial_jobs(ctx, tuning):
    return [ctx.store.get_job(job_id) for t in tuning.trials for job_id in t["job_ids"]]


def test_tuning_beats_the_default_configuration_with_parallel_trials(ctx, diabetes):
    channels = {
        "target": "target",
        "train": diabetes["train"],
        "validation": diabetes["validation"],
    }
    # A fully grown tree (scikit-learn's default) overfits the diabetes data badly.
    default_job, _ = train(ctx, estimator=TREE_REGRESSOR, seed=0, **channels)
    default_rmse = default_job.outputs["metrics"]["validation"]["rmse"]

    result = tune(
        ctx, estimator=TREE_REGRESSOR, space=TREE_SPACE, objective="validation:rmse",
        strategy="bayesian", max_jobs=4, max_parallel_jobs=2, seed=0, **channels,
    )  # fmt: skip

    assert result.status == JobStatus.COMPLETED and result.direction == "minimize"
    assert result.stop_reason == "max_jobs" and len(result.trials) == 4
    assert result.counts["Completed"] == 4
    assert result.best_value < 0.9 * default_rmse  # at least 10 % lower error
    best = result.trials[result.best_trial - 1]
    assert best["value"] == result.best_value == min(t["value"] for t in result.trials)
    assert best["params"] == result.best_params and best["model_id"] == result.best_model_id
    # The best model is an ordinary stored model, trained with the best hyperparameters,
    # ready to register.
    model = ctx.store.get_model(result.best_model_id)
    assert model.training_job_id == best["job_id"]
    assert model.manifest["hyperparameters"] == result.best_params
    assert register_model(ctx, model.id, "diabetes-tree").model_id == model.id
    # Every trial is a training job tagged with the tuning job; two of them overlapped.
    jobs = trial_jobs(ctx, result)
    assert {job.kind for job in jobs} == {"training"}
    assert {job.tags["tuning_job_id"] for job in jobs} == {result.id}
    assert any(
        a.started_at < b.ended_at and b.started_at < a.ended_at
        for a, b in itertools.combinations(jobs, 2)
    )
    tuning_job = ctx.store.get_job(result.id)
    assert tuning_job.kind == "tuning" and tuning_job.resources == {"cpus": 0}
    assert {e.target_id for e in ctx.store.list_lineage(result.id, "downstream")} >= {
        result.best_model_id,
        *(job.id for job in jobs),
    }
    assert describe_tuning_job(ctx, result.id) == result
    assert [t.id for t in list_tuning_jobs(ctx)] == [result.id]


def test_no_improvement_stops_early_and_the_seed_fixes_the_sequence(ctx, diabetes):
    request = {
        "estimator": TREE_REGRESSOR, "target": "target", "train": diabetes["train"],
        "validation": diabetes["validation"], "space": TREE_SPACE, "objective": "validation:rmse",
        "strategy": "bayesian", "max_jobs": 10, "seed": 0, "no_improvement_jobs": 2,
    }  # fmt: skip
    result = tune(ctx, **request)

    values = [t["value"] for t in result.trials]
    # Independently: the first trial after which two trials in a row do not beat the best.
    best, since, expected = None, 0, None
    for index, value in enumerate(values, start=1):
        best, since = (value, 0) if best is None or value < best else (best, since + 1)
        if since == 2:
            expected = index
            break
    assert result.stop_reason == "no_improvement"
    assert expected is not None and len(result.trials) == expected == 3 < request["max_jobs"]
    # Same seed, same results -> same proposals: replaying the recorded values into a fresh
    # sampler built from the same request proposes exactly the hyperparameters the job ran.
    config = build_config(ctx, **request)
    study = optuna.create_study(direction="minimize", sampler=make_sampler(config))
    for trial in result.trials:
        replay = study.ask(fixed_distributions=config.space.distributions())
        assert replay.params == trial["params"]
        study.tell(replay, trial["value"])


def test_target_value_stops_as_soon_as_it_is_met(ctx, breast_cancer):
    result = tune(
        ctx, estimator=TREE, target="diagnosis", train=breast_cancer["train"],
        validation=breast_cancer["validation"], positive_label="malignant", space=TREE_SPACE,
        objective="validation:roc_auc", strategy="random", max_jobs=10, seed=0,
        target_value=0.96,
    )  # fmt: skip

    assert result.stop_reason == "target_reached"
    *before, met = result.trials
    assert before and all(t["value"] < 0.96 for t in before)
    assert met["value"] >= 0.96 and result.best_trial == met["number"]
    met_job = ctx.store.get_job(met["job_id"])
    # Nothing was submitted after the trial that met the target ended.
    assert all(job.created_at <= met_job.ended_at for job in trial_jobs(ctx, result))
    assert len(ctx.store.list_jobs(kind="training")) == len(result.trials)


def test_grid_covers_the_grid_and_a_failing_trial_does_not_stop_tuning(ctx, breast_cancer):
    # kernel="precomputed" passes scikit-learn's parameter check but makes fit raise.
    result = tune(
        ctx, estimator="sklearn.svm.SVC", target="diagnosis", train=breast_cancer["train"],
        validation=breast_cancer["validation"], positive_label="malignant",
        space={"kernel": {"type": "categorical", "choices": ["linear", "precomputed", "rbf"]}},
        objective="validation:accuracy", strategy="grid", max_parallel_jobs=2, seed=0,
    )  # fmt: skip

    assert result.status == JobStatus.COMPLETED and result.stop_reason == "grid_exhausted"
    assert sorted(t["params"]["kernel"] for t in result.trials) == ["linear", "precomputed", "rbf"]
    assert result.counts == {"Running": 0, "Completed": 2, "Failed": 1, "Pruned": 0, "Stopped": 0}
    (failed,) = [t for t in result.trials if t["state"] == "Failed"]
    assert failed["params"] == {"kernel": "precomputed"} and failed["value"] is None
    assert "Precomputed matrix must be a square matrix" in failed["failure_reason"]
    log = Path(failed["log_path"]).read_text()
    assert "Precomputed matrix must be a square matrix" in log
    assert ctx.store.get_job(failed["job_id"]).status == JobStatus.FAILED
    assert result.best_params["kernel"] in ("linear", "rbf") and result.best_model_id
