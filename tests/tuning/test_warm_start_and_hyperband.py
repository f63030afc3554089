"""Warm start seeds the sampler from earlier tuning jobs; hyperband prunes on budgets."""

from __future__ import annotations

import logging

import optuna
import pytest
from optuna.trial import create_trial

from siklus import experiments
from siklus.exceptions import InvalidParameter
from siklus.tuning import SearchSpace, build_config, tune
from siklus.tuning._strategies import make_sampler
from siklus.tuning._warm_start import warm_start_trials

TREE = "sklearn.tree.DecisionTreeClassifier"
SPACE = {
    "max_depth": {"type": "int", "low": 1, "high": 10},
    "min_samples_leaf": {"type": "int", "low": 1, "high": 40},
}


def test_warm_start_seeds_the_sampler_with_earlier_trials(ctx, breast_cancer):
    request = {
        "estimator": TREE, "target": "diagnosis", "train": breast_cancer["train"],
        "validation": breast_cancer["validation"], "positive_label": "malignant",
        "space": SPACE, "objective": "validation:roc_auc", "strategy": "bayesian", "seed": 0,
    }  # fmt: skip
    parent = tune(ctx, max_jobs=2, max_parallel_jobs=2, **request)
    child = tune(ctx, max_jobs=1, warm_start=[parent.id], **request)

    assert child.warm_start == {
        "tuning_jobs": [parent.id],
        "trials_added": 2,
        "trials_skipped": 0,
    }
    # The child's first proposal is what TPE proposes after seeing the parent's trials...
    config = build_config(ctx, max_jobs=1, warm_start=[parent.id], **request)
    seeded = optuna.create_study(direction="maximize", sampler=make_sampler(config))
    for trial in parent.trials:
        seeded.add_trial(
            create_trial(
                params=trial["params"],
                distributions=config.space.distributions(),
                value=trial["value"],
            )
        )
    proposal = seeded.ask(fixed_distributions=config.space.distributions()).params
    assert child.trials[0]["params"] == proposal
    # ... not what the same seed proposes from scratch (the parent's own first trial).
    fresh = optuna.create_study(direction="maximize", sampler=make_sampler(config))
    first = fresh.ask(fixed_distributions=config.space.distributions()).params
    assert first == parent.trials[0]["params"] != proposal

    # Parents must be finished tuning jobs of the same problem.
    with pytest.raises(InvalidParameter, match="optimised validation:roc_auc"):
        build_config(ctx, **{**request, "objective": "validation:f1"}, warm_start=[parent.id])
    # A narrowed space skips the parent trials that fall outside it.
    narrow = SearchSpace.parse({**SPACE, "max_depth": {"type": "int", "low": 1, "high": 6}})
    kept, summary = warm_start_trials(ctx, [parent.id], narrow, logging.getLogger(__name__))
    inside = [t["params"] for t in parent.trials if t["params"]["max_depth"] <= 6]
    assert [t.params for t in kept] == inside
    assert summary["trials_skipped"] == len(parent.trials) - len(inside)


def test_hyperband_prunes_trials_at_their_first_budget(ctx, diabetes):
    result = tune(
        ctx, estimator="sklearn.ensemble.GradientBoostingRegressor", target="target",
        train=diabetes["train"], validation=diabetes["validation"],
        space={"learning_rate": {"type": "float", "low": 0.01, "high": 1.0, "log": True}},
        objective="validation:rmse", strategy="hyperband",
        hyperband={"min_budget": 5, "max_budget": 15}, max_jobs=3, seed=0,
    )  # fmt: skip

    states = [t["state"] for t in result.trials]
    assert "Pruned" in states and "Completed" in states, states
    for trial in result.trials:
        jobs = [ctx.store.get_job(job_id) for job_id in trial["job_ids"]]
        budgets = [job.parameters["hyperparameters"]["n_estimators"] for job in jobs]
        if trial["state"] == "Pruned":
            # Stopped after the small rung: the expensive one never ran.
            assert budgets == [5] and list(trial["intermediate_values"]) == ["5"]
        else:
            assert budgets == [5, 15] and list(trial["intermediate_values"]) == ["5", "15"]
            assert trial["value"] == trial["intermediate_values"]["15"]
    best_model = ctx.store.get_model(result.best_model_id)
    assert best_model.manifest["hyperparameters"]["n_estimators"] == 15
    assert result.trials[result.best_trial - 1]["state"] == "Completed"

    # Each trial is a run of the experiment named after the tuning job, with the objective
    # per budget as a metric series.
    runs = {run.name: run for run in experiments.search_runs(result.name, ctx=ctx)}
    assert set(runs) == {f"trial-{t['number']}" for t in result.trials}
    for trial in result.trials:
        run = runs[f"trial-{trial['number']}"]
        assert run.id == trial["run_id"] and run.job_id == trial["job_ids"][0]
        assert run.status == "Completed" and run.tags["trial_state"] == trial["state"]
        assert run.params == trial["params"]
        history = experiments.get_metric_history(run.id, "objective", ctx=ctx)
        assert {str(p.step): p.value for p in history} == trial["intermediate_values"]
        assert run.model_id == (trial["model_id"] if trial["state"] == "Completed" else None)
