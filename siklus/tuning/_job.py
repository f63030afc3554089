"""The tuning job: what runs inside the tuning job's own process.

Submitted by :func:`siklus.tuning.tune`; the ``siklus.jobs`` runner imports
``siklus.tuning._job:run`` by name. The process only drives the study and waits on its
trials' training jobs, so it asks the executor for no CPU of its own.
"""

from __future__ import annotations

import os
from typing import Any

import optuna

from siklus.jobs import JobContext
from siklus.tuning._config import TuningConfig
from siklus.tuning._driver import TuningDriver


def run(job: JobContext) -> dict[str, Any]:
    """Job entrypoint: run the study and return the outputs (best trial and all trials)."""
    ws = job.workspace
    config = TuningConfig.from_job(job.job)
    # Optuna logs every trial at INFO; the driver logs trials itself, with job ids.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A run that started this tuning job must not receive its trials' logging: each
    # trial has a run of its own, linked by job id.
    os.environ.pop("SIKLUS_RUN_ID", None)
    store = ws.store
    for channel, version_id in job.inputs.items():
        store.add_lineage(("dataset", version_id), ("job", job.job_id), f"input:{channel}")
    driver = TuningDriver(
        ws,
        config,
        tuning_job_id=job.job_id,
        publish=lambda outputs: store.update_job(job.job_id, outputs=outputs),
        should_stop=job.should_stop,
        log=job.log,
    )
    outputs = driver.run()
    if outputs["best_model_id"] is not None:
        store.add_lineage(("job", job.job_id), ("model", outputs["best_model_id"]), "best")
        job.log.info(
            "best trial %s: %s = %s with %s (model %s)", outputs["best_trial"],
            config.objective.name, outputs["best_value"], outputs["best_params"],
            outputs["best_model_id"],
        )  # fmt: skip
    return outputs


__all__ = ["run"]
