"""Retraining: the model behind a package group, trained again on the latest data.

What a model was trained with is on record: the package points at its model, the model at
its training job, and the job keeps its entrypoint, parameters (estimator or script,
hyperparameters, target, seed) and input channels. Retraining re-submits that spec with
each channel moved to the newest version of its dataset (a split such as ``bc.train`` is
re-made from the newest ``bc`` with the same seed, stratification and fractions), scores
the new model and the current one on the same held-out data, and registers the new model
as the next version of the group, PendingManualApproval: a person still decides. The
side-by-side comparison is stored as the resource ``("model-package-comparison",
"GROUP:VERSION")`` and printed to the job log.

Alarms start it through the job entrypoint :func:`run_retraining_job`
(``retrain:GROUP`` actions); ``siklus monitor retrain GROUP`` runs it by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siklus.data import SPLITS, split_dataset, split_name
from siklus.exceptions import InvalidParameter, InvalidState, JobFailed, SiklusError
from siklus.jobs import JobContext, JobSpec, LocalExecutor
from siklus.registry import register_model
from siklus.store import (
    ApprovalStatus,
    DatasetVersion,
    Job,
    ModelPackage,
    WorkspaceContext,
)

ENTRYPOINT = "siklus.monitoring.retrain:run_retraining_job"
COMPARISON_KIND = "model-package-comparison"
_DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)

_log = logging.getLogger("siklus.retrain")


def retraining_spec(
    group: str, *, trigger: dict[str, Any] | None = None, tags: dict[str, str] | None = None
) -> JobSpec:
    """The job that retrains ``group`` (it holds no CPU: its training job does)."""
    return JobSpec(
        kind="retraining",
        entrypoint=ENTRYPOINT,
        name=f"retrain-{group}"[:200],
        parameters={"group": group, "trigger": trigger or {}},
        resources={"cpus": 0},
        tags=dict(tags or {}),
    )


def start_retraining(
    ctx: WorkspaceContext, group: str, *, trigger: dict[str, Any] | None = None
) -> Job:
    """Submit a retraining job for ``group`` and return it without waiting.

    Raises:
        NotFound: The group has no versions.
    """
    current_package(ctx, group)  # fail now on a typo, not in the job
    return LocalExecutor(ctx).submit(retraining_spec(group, trigger=trigger))


def current_package(ctx: WorkspaceContext, group: str) -> ModelPackage:
    """The version a retrained model competes with: the newest Approved one, else the
    newest. Raises: NotFound."""
    packages = ctx.store.list_model_packages(group)
    if not packages:
        ctx.store.get_model_package(group)  # raises NotFound with the known groups
    approved = [p for p in packages if p.approval_status == ApprovalStatus.APPROVED]
    return (approved or packages)[-1]


def _parse_split_source(version: DatasetVersion) -> dict[str, Any] | None:
    """``split:bc:1:train:seed=42:stratify=diagnosis`` → its parts, None if not a split."""
    if not version.source.startswith("split:") or version.parent_id is None:
        return None
    pieces = version.source.split(":")[1:]
    if len(pieces) < 4 or pieces[2] not in SPLITS:
        return None
    options = dict(p.split("=", 1) for p in pieces[3:] if "=" in p)
    return {
        "split": pieces[2],
        "seed": int(options.get("seed", 42)),
        "stratify": options.get("stratify"),
    }


def _fractions(ctx: WorkspaceContext, parent: DatasetVersion) -> tuple[float, float, float]:
    """The fractions the old split used, read back from its parts' row counts."""
    counts = []
    for split in SPLITS:
        parts = [
            v
            for v in ctx.store.list_dataset_versions(split_name(parent.name, split))
            if v.parent_id == parent.id
        ]
        if not parts:
            return _DEFAULT_FRACTIONS
        counts.append(parts[-1].row_count)
    total = sum(counts)
    train, validation = round(counts[0] / total, 2), round(counts[1] / total, 2)
    test = round(1.0 - train - validation, 2)
    if min(train, validation, test) <= 0:
        return _DEFAULT_FRACTIONS
    return train, validation, test


@dataclass(frozen=True)
class LatestData:
    """Training channels moved to the newest data, and where to compare the models."""

    channels: dict[str, DatasetVersion]
    evaluation: DatasetVersion | None
    notes: list[str]


def latest_data(ctx: WorkspaceContext, job: Job) -> LatestData:
    """Move each input channel of training job ``job`` to the newest version of its data."""
    channels: dict[str, DatasetVersion] = {}
    splits: dict[str, dict[str, DatasetVersion]] = {}
    notes: list[str] = []
    for channel, version_id in job.inputs.items():
        if not version_id:
            continue
        old = ctx.store.get_dataset_version_by_id(version_id)
        split = _parse_split_source(old)
        if split is None:
            channels[channel] = ctx.store.get_dataset_version(old.name)
            continue
        parent = ctx.store.get_dataset_version_by_id(old.parent_id)  # type: ignore[arg-type]
        if parent.name not in splits:
            newest = ctx.store.get_dataset_version(parent.name)
            fractions = _fractions(ctx, parent)
            splits[parent.name] = split_dataset(
                ctx, newest, fractions=fractions, seed=split["seed"], stratify=split["stratify"]
            )
            notes.append(
                f"re-split {newest.ref} (was {parent.ref}) {fractions} seed={split['seed']}"
                + (f" stratify={split['stratify']}" if split["stratify"] else "")
            )
        channels[channel] = splits[parent.name][split["split"]]
    evaluation = next((parts["test"] for parts in splits.values()), None)
    if evaluation is None:
        evaluation = channels.get("test") or channels.get("validation")
    return LatestData(channels=channels, evaluation=evaluation, notes=notes)


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


@dataclass(frozen=True)
class RetrainResult:
    """The new package, the one it was compared with, the training job and the comparison."""

    package: ModelPackage
    current: ModelPackage
    training_job: Job
    comparison: dict[str, Any]


def retrain(
    ctx: WorkspaceContext,
    group: str,
    *,
    trigger: dict[str, Any] | None = None,
    log: logging.Logger | None = None,
    on_poll: Callable[[Job], None] | None = None,
) -> RetrainResult:
    """Retrain the current model of ``group`` on the latest data and register the result.

    Example:
        >>> result = retrain(ctx, "breast-cancer")  # doctest: +SKIP
        >>> print(format_comparison(result.comparison))  # doctest: +SKIP

    Args:
        group: The model package group.
        trigger: What started it (an alarm's notification), kept with the comparison.
        log: Where progress goes (the job log inside a job).
        on_poll: Called with the training job's record while it runs (progress bars).

    Returns:
        The new package (PendingManualApproval), the current one, the training job and
        the comparison.

    Raises:
        NotFound: The group does not exist.
        InvalidState: The current model was not produced by a siklus training job, so its
            training spec is unknown.
        JobFailed: The training job failed.
    """
    from siklus.training import evaluate_model

    log = log or _log
    current = current_package(ctx, group)
    model = ctx.store.get_model(current.model_id)
    if model.training_job_id is None:
        raise InvalidState(
            f"Model package {current.ref} holds model {model.id}, which no siklus training job "
            "produced, so there is no training spec to reuse. Train it with `siklus train` "
            "(or register a model that was) to enable retraining."
        )
    old_job = ctx.store.get_job(model.training_job_id)
    data = latest_data(ctx, old_job)
    target = old_job.parameters.get("target")
    for channel, version in data.channels.items():
        columns = [c["name"] for c in version.schema]
        if target and target not in columns:
            raise InvalidParameter(
                f"The newest data of channel {channel!r} ({version.ref}) has no target column "
                f"{target!r} any more; columns: {columns}."
            )
    for note in data.notes:
        log.info("%s", note)
    parameters = {k: v for k, v in old_job.parameters.items() if k != "run_id"}
    spec = JobSpec(
        kind="training", entrypoint=old_job.entrypoint, name=f"retrain-{group}"[:200],
        inputs={channel: v.id for channel, v in data.channels.items()}, parameters=parameters,
        resources=dict(old_job.resources), tags={"retrain_of": current.ref},
    )  # fmt: skip
    log.info(
        "retraining %s (model %s, job %s) on %s",
        current.ref, model.id, old_job.id,
        ", ".join(f"{c}={v.ref}" for c, v in data.channels.items()),
    )  # fmt: skip
    training = LocalExecutor(ctx).run(spec, on_poll=on_poll)
    if training.status.value != "Completed":
        raise JobFailed(
            f"Retraining job {training.id} for {group} ended {training.status.value}: "
            f"{training.failure_reason}. Log: {training.log_path}"
        )
    new_model_id = training.outputs["model_id"]
    evaluations: dict[str, Any] = {}
    if data.evaluation is not None:
        for who, model_id in (("candidate", new_model_id), ("current", current.model_id)):
            try:
                evaluations[who] = evaluate_model(ctx, model_id, data.evaluation, split="test")
            except SiklusError as exc:
                log.warning("evaluating the %s model failed: %s", who, exc)
                evaluations[who] = exc
    package = register_model(
        ctx, new_model_id, group,
        description=f"Retrained from {current.ref} on the latest data"
        + (f" (alarm {trigger['alarm_name']})" if trigger and trigger.get("alarm_name") else ""),
        tags={"retrained_from": current.ref},
    )  # fmt: skip
    ctx.store.add_lineage(("model_package", current.id), ("model_package", package.id), "retrained")
    comparison = _comparison(current, package, training, data, evaluations, trigger)
    ctx.store.put_resource(COMPARISON_KIND, package.ref, comparison)
    for line in format_comparison(comparison).splitlines():
        log.info("%s", line)
    return RetrainResult(package, current, training, comparison)


def _side(package: ModelPackage, evaluation: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    side: dict[str, Any] = {
        "ref": package.ref, "package_id": package.id, "model_id": package.model_id,
        "approval_status": package.approval_status.value,
    }  # fmt: skip
    if isinstance(evaluation, Exception):
        side["metrics"], side["error"] = {}, str(evaluation)
    elif evaluation is not None:
        side["metrics"], side["evaluation_id"] = _scalar_metrics(evaluation.metrics), evaluation.id
    else:
        side["metrics"] = _scalar_metrics(fallback)
    return side


def _comparison(
    current: ModelPackage,
    package: ModelPackage,
    training: Job,
    data: LatestData,
    evaluations: dict[str, Any],
    trigger: dict[str, Any] | None,
) -> dict[str, Any]:
    held_out = data.evaluation is not None

    def recorded(package: ModelPackage) -> dict[str, Any]:
        return package.metrics.get("validation") or package.metrics.get("train") or {}

    candidate = _side(package, evaluations.get("candidate"), recorded(package))
    baseline = _side(current, evaluations.get("current"), recorded(current))
    deltas = {
        k: candidate["metrics"][k] - baseline["metrics"][k]
        for k in candidate["metrics"]
        if k in baseline["metrics"]
    }
    return {
        "group": package.group,
        "candidate": candidate,
        "current": baseline,
        "dataset": data.evaluation.ref if held_out else None,  # type: ignore[union-attr]
        "split": "test" if held_out else "recorded",
        "deltas": deltas,
        "training_job_id": training.id,
        "training_data": {c: v.ref for c, v in data.channels.items()},
        "notes": data.notes,
        "trigger": trigger or {},
        "created_at": datetime.now(UTC).isoformat(),
    }


def get_comparison(ctx: WorkspaceContext, ref: str) -> dict[str, Any]:
    """The stored comparison of package ``GROUP:VERSION``. Raises: NotFound."""
    return ctx.store.get_resource(COMPARISON_KIND, ref).body


def format_comparison(comparison: dict[str, Any]) -> str:
    """The comparison as a plain-text table: metric, current, candidate, delta."""
    cur, new = comparison["current"], comparison["candidate"]
    where = comparison["dataset"] or "the metrics recorded at training (no held-out data)"
    lines = [
        f"{new['ref']} (candidate, {new['approval_status']}) vs {cur['ref']} (current, "
        f"{cur['approval_status']}) on {where}",
        f"{'metric':<24}{'current':>12}{'candidate':>12}{'delta':>12}",
    ]
    for key in sorted(set(cur["metrics"]) | set(new["metrics"])):
        a, b = cur["metrics"].get(key), new["metrics"].get(key)
        delta = comparison["deltas"].get(key)
        lines.append(
            f"{key:<24}{_num(a):>12}{_num(b):>12}"
            + (f"{delta:>+12.4f}" if delta is not None else f"{'-':>12}")
        )
    for who, side in (("current", cur), ("candidate", new)):
        if side.get("error"):
            lines.append(f"{who} {side['ref']} was not evaluated: {side['error']}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def run_retraining_job(job: JobContext) -> dict[str, Any]:
    """Job entrypoint (``retrain:GROUP`` alarm actions): retrain and register."""
    result = retrain(
        job.workspace, job.parameters["group"], trigger=job.parameters.get("trigger") or None,
        log=job.log, on_poll=None,
    )  # fmt: skip
    return {
        "package": result.package.ref,
        "package_id": result.package.id,
        "model_id": result.package.model_id,
        "training_job_id": result.training_job.id,
        "compared_with": result.current.ref,
        "deltas": result.comparison["deltas"],
    }


__all__ = [
    "COMPARISON_KIND",
    "ENTRYPOINT",
    "LatestData",
    "RetrainResult",
    "current_package",
    "format_comparison",
    "get_comparison",
    "latest_data",
    "retrain",
    "retraining_spec",
    "run_retraining_job",
    "start_retraining",
]
