"""Evaluate a stored model on a dataset split and judge it against success criteria."""

from __future__ import annotations

from collections.abc import Sequence

from siklus.data import read_frame
from siklus.evaluation import Criterion, evaluate_criteria
from siklus.store import DatasetVersion, Evaluation, WorkspaceContext
from siklus.training._artifact import load_model
from siklus.training._job import score, split_features


def evaluate_model(
    ctx: WorkspaceContext,
    model_id: str,
    dataset: str | DatasetVersion,
    *,
    split: str = "test",
    criteria: Sequence[Criterion] = (),
) -> Evaluation:
    """Score model ``model_id`` on ``dataset`` and store the metrics and the verdict.

    Args:
        dataset: A dataset reference holding the target column (e.g. ``bc.test``).
        split: The name the criteria refer to (``recall >= 0.9 on test``).
        criteria: Success criteria; those for other splits are ignored.

    Returns:
        The stored evaluation; ``verdict`` is None when no criterion names ``split``.
    """
    model = ctx.store.get_model(model_id)
    loaded = load_model(ctx, model)
    version, frame = read_frame(ctx, dataset)
    target = loaded.manifest["target"]
    x, y = split_features(frame, target, f"dataset {version.ref}")
    x = loaded.conform(x, allow_extra=True)  # an id or other column the model ignores
    metrics = score(
        loaded.estimator, loaded.manifest["task"], x, y, loaded.manifest.get("positive_label")
    )
    relevant = [c for c in criteria if c.split == split]
    verdict = evaluate_criteria(relevant, {split: metrics}).to_dict() if relevant else None
    evaluation = ctx.store.create_evaluation(
        model_id=model.id,
        dataset_version_id=version.id,
        split=split,
        metrics=metrics,
        verdict=verdict,
        tags=ctx.with_tags(),
    )
    ctx.store.add_lineage(("dataset", version.id), ("evaluation", evaluation.id), "input")
    ctx.store.add_lineage(("model", model.id), ("evaluation", evaluation.id), "evaluated")
    return evaluation
