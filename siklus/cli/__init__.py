"""The ``siklus`` command line: a thin layer over :class:`siklus.workspace.Workspace`."""

from __future__ import annotations

from siklus.cli._app import app, main

_registered = False


def _register_commands() -> None:
    """Attach sub-commands once (imports are deferred so ``siklus --help`` stays fast)."""
    global _registered
    if _registered:
        return
    from siklus.cli import (
        alarms,
        catalog,
        data,
        endpoints,
        etl,
        experiments,
        inference,
        jobs,
        lineage,
        models,
        monitor,
        pipelines,
        project,
        quality,
        quickstart,
        recipes,
        recommend,
        reproduce,
        scheduler,
        training,
        transform,
        tuning,
    )

    # Business goal and project.
    app.command("init")(project.init)
    app.command("quickstart")(quickstart.quickstart)
    app.command("run")(pipelines.run)
    # Data: connectors, catalog, recipes, quality.
    data.app.add_typer(recipes.app, name="recipe")
    data.app.command("profile")(quality.profile)
    data.app.command("check")(quality.check)
    data.app.command("pii")(quality.pii)
    data.app.command("select-features")(quality.select_features)
    etl.register(data.app)
    catalog.register(data.app)
    app.add_typer(data.app, name="data")
    # Training, experiments, tuning.
    app.command("train")(training.train)
    app.command("evaluate")(training.evaluate)
    app.add_typer(experiments.app, name="experiments")
    app.add_typer(experiments.runs_app, name="runs")
    app.command("tune")(tuning.tune)
    app.add_typer(tuning.app, name="tuning-jobs")
    # Deployment.
    app.add_typer(models.app, name="models")
    app.add_typer(endpoints.app, name="endpoints")
    app.add_typer(transform.app, name="transform")
    app.add_typer(inference.async_app, name="async")
    app.add_typer(inference.serverless_app, name="serverless")
    app.command("recommend")(recommend.recommend)
    # Monitoring.
    app.add_typer(monitor.app, name="monitor")
    app.add_typer(alarms.app, name="alarms")
    scheduler.register(app)  # `siklus scheduler`, `siklus monitor schedule|retrain`
    # Automation and provenance.
    app.add_typer(pipelines.app, name="pipelines")
    app.command("lineage")(lineage.lineage)
    app.command("reproduce")(reproduce.reproduce)
    app.add_typer(jobs.app, name="jobs")
    _registered = True


__all__ = ["app", "main"]
