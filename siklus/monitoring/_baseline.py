"""Baselines: statistics and suggested constraints of a training dataset, stored by name.

A baseline is the ``monitoring-baseline`` resource ``name`` whose body points at two
content-addressed artifacts, ``statistics.json`` and ``constraints.json`` (SageMaker Model
Monitor's formats), plus what model quality needs (task, classes, the model's metrics
on a held-out split). Editing the constraints stores a new artifact and bumps the
resource's revision; the statistics never change.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.monitoring._constraints import (
    Constraints,
    constraints_document,
    parse_constraints,
    suggest_feature,
    suggest_model_quality,
)
from siklus.monitoring._profile import (
    DRIFT_BINS,
    SKETCH_SIZE,
    feature_statistics,
    profile_arrow,
    statistics_document,
)
from siklus.store import WorkspaceContext

BASELINE_KIND = "monitoring-baseline"


@dataclass(frozen=True)
class Baseline:
    """A stored baseline: its resource body, statistics and validated constraints."""

    name: str
    revision: int
    body: dict[str, Any]
    statistics: dict[str, Any]
    constraints: Constraints
    constraints_raw: dict[str, Any] = field(repr=False)

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        """Baseline statistics by feature name."""
        return {f["name"]: f for f in self.statistics["features"]}

    @property
    def model_quality(self) -> dict[str, Any] | None:
        return self.body.get("model_quality")


def dataset_ref(ref: str) -> str:
    """Accept ``name``, ``name:version`` and ``name@version``."""
    name, sep, version = ref.rpartition("@")
    return f"{name}:{version}" if sep and version.isdigit() else ref


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, allow_nan=False).encode("utf-8")


def _default_evaluation_dataset(ctx: WorkspaceContext, dataset: str) -> str:
    """``bc.train`` → ``bc.validation`` (else ``bc.test``); anything else → itself."""
    name = dataset.split(":", 1)[0]
    if name.endswith(".train"):
        stem = name.removesuffix(".train")
        for split in ("validation", "test"):
            try:
                ctx.store.get_dataset_version(f"{stem}.{split}", None)
                return f"{stem}.{split}"
            except NotFound:
                continue
    return dataset


def build_baseline(
    ctx: WorkspaceContext,
    dataset: str,
    name: str,
    *,
    label: str | None = None,
    model: str | None = None,
    evaluation_dataset: str | None = None,
    exclude: list[str] | tuple[str, ...] = (),
    sketch_size: int = SKETCH_SIZE,
    bins: int = DRIFT_BINS,
    model_quality_tolerance: float = 0.05,
    threads: int | None = None,
) -> Baseline:
    """Compute and store the baseline ``name`` of dataset version ``dataset`` (in-process;
    :func:`siklus.monitoring.create_baseline` runs it as a job).

    Args:
        ctx: The workspace.
        dataset: ``name``, ``name:version`` or ``name@version`` of the training data.
        name: Baseline name (replaces an existing baseline of that name).
        label: The target column: left out of the features; with ``model``, scored.
        model: Model package ``GROUP:VERSION`` whose quality becomes the baseline.
        evaluation_dataset: Where the model is scored (default: the ``.validation`` or
            ``.test`` sibling of a ``.train`` split, else ``dataset`` itself).
        exclude: Further columns that are not model inputs (ids, timestamps).
        sketch_size: Values kept per numeric quantile sketch.
        bins: Quantile bins of numeric drift statistics.
        model_quality_tolerance: How much worse than the baseline a metric may get before
            its suggested constraint is broken.
        threads: Columns profiled in parallel (default: CPUs).

    Raises:
        InvalidParameter: a bad name or option, ``model`` without ``label``, or a label
            that is not a column.
        InvalidInput: the dataset has no rows or no feature columns.
    """
    from siklus.data import check_dataset_name, resolve

    check_dataset_name(name)
    if not 16 <= sketch_size <= 100_000:
        raise InvalidParameter(f"sketch_size must be 16..100000, got {sketch_size}.")
    if not 2 <= bins <= 100:
        raise InvalidParameter(f"bins must be 2..100, got {bins}.")
    if model and not label:
        raise InvalidParameter("A model-quality baseline needs the label column: pass label.")
    version = resolve(ctx, dataset_ref(dataset))
    path = ctx.artifacts.local_path(version.sha256)
    columns = pq.read_schema(path).names
    missing = [c for c in [*([label] if label else []), *exclude] if c not in columns]
    if missing:
        raise InvalidParameter(
            f"Column(s) {missing} are not in dataset {version.ref}; columns: {columns}."
        )
    features = [c for c in columns if c != label and c not in set(exclude)]
    if not version.row_count or not features:
        # Statistics of nothing make every later window pass every check.
        raise InvalidInput(
            f"Dataset {version.ref} has {version.row_count} row(s) and {len(features)} "
            "feature column(s): a baseline needs training data. Choose a dataset version "
            "with rows and at least one feature."
        )

    def one(column: str) -> tuple[dict[str, Any], dict[str, Any]]:
        profile = profile_arrow(column, pq.read_table(path, columns=[column])[column])
        stats = feature_statistics(profile, sketch_size=sketch_size, bins=bins)
        return stats, suggest_feature(profile)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, features))
    statistics = statistics_document([s for s, _ in results], version.row_count)
    quality = None
    quality_constraints: dict[str, Any] = {}
    if model:
        target = dataset_ref(evaluation_dataset or _default_evaluation_dataset(ctx, version.ref))
        quality = baseline_quality(ctx, model, label or "", target)
        quality_constraints = suggest_model_quality(
            quality["task"], quality["metrics"], model_quality_tolerance
        )
    constraints = constraints_document([c for _, c in results], quality_constraints)
    body = {
        "dataset": version.ref,
        "dataset_id": version.id,
        "item_count": version.row_count,
        "label": label,
        "exclude": list(exclude),
        "features": features,
        "statistics_sha256": ctx.artifacts.put_bytes(_json_bytes(statistics)),
        "constraints_sha256": ctx.artifacts.put_bytes(_json_bytes(constraints)),
        "model_quality": quality,
        "created_at": time.time(),
    }
    resource = ctx.store.put_resource(BASELINE_KIND, name, body)
    ctx.store.add_lineage(("dataset", version.id), ("monitoring-baseline", name), "baseline")
    if model is not None:
        from siklus.registry import get_package

        package = get_package(ctx, model)
        ctx.store.add_lineage(
            ("model_package", package.id), ("monitoring-baseline", name), "baseline"
        )
    return Baseline(
        name, resource.revision, body, statistics, parse_constraints(constraints), constraints
    )


def baseline_quality(ctx: WorkspaceContext, model: str, label: str, dataset: str) -> dict[str, Any]:
    from siklus.monitoring._model_quality import baseline_model_quality

    return baseline_model_quality(ctx, model, label, dataset)


def load_baseline(ctx: WorkspaceContext, name: str) -> Baseline:
    """Read baseline ``name`` (constraints validated).

    Raises:
        NotFound: no such baseline (the message lists the existing ones).
        InvalidParameter: its constraints are not valid.
    """
    try:
        resource = ctx.store.get_resource(BASELINE_KIND, name)
    except NotFound:
        known = [r.name for r in ctx.store.list_resources(BASELINE_KIND)]
        raise NotFound(
            f"Monitoring baseline {name!r} does not exist; existing: {known or 'none'}. "
            "Create it with `siklus monitor baseline DATASET --name NAME`."
        ) from None
    body = dict(resource.body)
    statistics = json.loads(ctx.artifacts.get_bytes(body["statistics_sha256"]))
    raw = json.loads(ctx.artifacts.get_bytes(body["constraints_sha256"]))
    constraints = parse_constraints(raw, source=f"constraints.json of baseline {name!r}")
    return Baseline(name, resource.revision, body, statistics, constraints, raw)


def set_constraints(
    ctx: WorkspaceContext, name: str, document: dict[str, Any] | str | Path
) -> Baseline:
    """Replace the constraints of baseline ``name`` with a hand-edited document or file.

    Raises:
        InvalidParameter: the document is not valid (each bad field named by JSON path),
            or names a feature the baseline has no statistics for.
    """
    source = "constraints.json"
    if not isinstance(document, dict):
        source = str(document)
        try:
            document = json.loads(Path(document).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"Constraints file {source!r} does not exist.") from None
        except json.JSONDecodeError as exc:
            raise InvalidParameter(
                f"{source} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
    constraints = parse_constraints(document, source=source)
    current = load_baseline(ctx, name)
    unknown = [f.name for f in constraints.features if f.name not in current.features]
    if unknown:
        raise InvalidParameter(
            f"{source}: feature(s) {unknown} have no baseline statistics in {name!r}; "
            f"known features: {sorted(current.features)}."
        )
    body = {**current.body, "constraints_sha256": ctx.artifacts.put_bytes(_json_bytes(document))}
    resource = ctx.store.put_resource(BASELINE_KIND, name, body, expected_revision=current.revision)
    return Baseline(name, resource.revision, body, current.statistics, constraints, document)


__all__ = [
    "BASELINE_KIND",
    "Baseline",
    "build_baseline",
    "dataset_ref",
    "load_baseline",
    "set_constraints",
]
