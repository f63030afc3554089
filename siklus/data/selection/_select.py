"""Feature selection: keep only the features a model needs, and say why the rest went.

Three filters run in order, each on what the previous one kept:

1. **Constant and near-constant** features (the most frequent value, missing included,
   fills at least ``near_constant`` of the rows) carry (almost) no information.
2. **Redundant** features: of each pair of numeric features with ``|Pearson r| >=
   correlation``, the one with less mutual information with the target goes. Features
   are visited from most to least informative and each is dropped if it duplicates one
   already kept, so a cluster (radius, perimeter, area) keeps its most informative
   member and every dropped feature names a partner that stayed.
3. **Low-importance** features: scored by mutual information with the target
   (scikit-learn's ``mutual_info_classif``/``mutual_info_regression``) or by a random
   forest's impurity importances; those under ``min_importance`` or outside the
   ``top_k`` go.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

from siklus.data._datasets import read_frame, read_table, store_table
from siklus.data.selection._prepare import (
    check_task,
    encode_features,
    encode_target,
    is_number,
    top_value_share,
)
from siklus.data.selection._report import DroppedFeature, SelectionReport
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext

METHODS = ("mutual_info", "random_forest")
#: Default ``min_importance`` of the mutual-information method, in nats.
MIN_MUTUAL_INFO = 0.01
#: Seeded pure-noise columns fitted next to the features when the random-forest method
#: has no explicit threshold: a feature must beat the best of them to stay.
NOISE_PROBES = 5


def mutual_information(
    x: pd.DataFrame, y: np.ndarray, discrete: list[bool], task: str, seed: int
) -> dict[str, float]:
    """Mutual information of each column of ``x`` with ``y`` (scikit-learn's estimator)."""
    if x.shape[1] == 0:
        return {}
    score = mutual_info_classif if task == "classification" else mutual_info_regression
    values = score(x.to_numpy(), y, discrete_features=np.array(discrete), random_state=seed)
    return {name: float(v) for name, v in zip(x.columns, values, strict=True)}


def forest_importances(
    x: pd.DataFrame, y: np.ndarray, task: str, seed: int, probes: int
) -> tuple[dict[str, float], float | None]:
    """Random-forest importances of ``x``'s columns and the best noise probe's importance."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((len(x), probes))
    matrix = np.hstack([x.to_numpy(), noise]) if probes else x.to_numpy()
    model_cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    model = model_cls(n_estimators=200, random_state=seed).fit(matrix, y)
    importances = model.feature_importances_
    scores = {name: float(v) for name, v in zip(x.columns, importances, strict=False)}
    return scores, float(importances[x.shape[1] :].max()) if probes else None


def _check_options(
    near_constant: float, correlation: float, method: str, top_k: int | None
) -> None:
    if not 0 < near_constant <= 1:
        raise InvalidParameter(
            f"near_constant={near_constant!r} is not valid: give the top-value share in "
            "(0, 1] above which a feature counts as near-constant, e.g. 0.95."
        )
    if not 0 < correlation <= 1:
        raise InvalidParameter(
            f"correlation={correlation!r} is not valid: give |r| in (0, 1], e.g. 0.9."
        )
    if method not in METHODS:
        raise InvalidParameter(f"method={method!r} is not valid; use one of {METHODS}.")
    if top_k is not None and top_k < 1:
        raise InvalidParameter(f"top_k={top_k!r} is not valid: give a positive integer.")


def _constant(frame: pd.DataFrame, features: list[str], limit: float) -> list[DroppedFeature]:
    out = []
    for name in features:
        share = top_value_share(frame[name])
        if frame[name].nunique(dropna=False) <= 1:
            detail = f"{name!r} has a single value in every row."
            out.append(DroppedFeature(name, "constant", 1.0, None, detail))
        elif share >= limit:
            detail = (
                f"{share:.1%} of rows hold the most frequent value of {name!r} (limit {limit:.1%})."
            )
            out.append(DroppedFeature(name, "near_constant", share, limit, detail))
    return out


def _correlated(
    frame: pd.DataFrame, features: list[str], limit: float, mi: dict[str, float]
) -> list[DroppedFeature]:
    numeric = [c for c in features if is_number(frame[c])]
    if len(numeric) < 2:
        return []
    values = frame[numeric].astype("float64").replace([np.inf, -np.inf], np.nan)
    corr = values.corr().abs().fillna(0.0)
    kept: list[str] = []
    out = []
    for name in sorted(numeric, key=lambda c: (-mi[c], c)):
        twins = [k for k in kept if corr.loc[name, k] >= limit]
        if not twins:
            kept.append(name)
            continue
        keep = max(twins, key=lambda k: corr.loc[name, k])
        r = float(corr.loc[name, keep])
        out.append(
            DroppedFeature(
                name,
                "correlated",
                r,
                limit,
                f"|r| = {r:.3f} with {keep!r}, which tells more about the target "
                f"(mutual information {mi[keep]:.4f} vs {mi[name]:.4f}).",
                partner=keep,
            )
        )
    return out


def _unimportant(
    scores: dict[str, float], threshold: float | None, top_k: int | None, label: str
) -> list[DroppedFeature]:
    ranked = sorted(scores, key=lambda c: (-scores[c], c))
    out = []
    for rank, name in enumerate(ranked, start=1):
        score = scores[name]
        if threshold is not None and score < threshold:
            detail = f"{label} {score:.4f} is below {threshold:.4f}."
            out.append(DroppedFeature(name, "low_importance", score, threshold, detail))
        elif top_k is not None and rank > top_k:
            detail = f"{label} {score:.4f} ranks {rank}, outside the top {top_k}."
            out.append(DroppedFeature(name, "low_importance", score, None, detail))
    return out


def select_features(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    *,
    target: str,
    method: str = "mutual_info",
    near_constant: float = 0.95,
    correlation: float = 0.9,
    min_importance: float | None = None,
    top_k: int | None = None,
    exclude: list[str] | None = None,
    task: str | None = None,
    seed: int = 42,
    output_name: str | None = None,
) -> SelectionReport:
    """Choose the features of a dataset version worth training on.

    Example:
        >>> report = select_features(ctx, "bc", target="diagnosis")  # doctest: +SKIP
        >>> report.kept, [(d.column, d.reason) for d in report.dropped]  # doctest: +SKIP

    Args:
        ctx: The workspace.
        ref: ``name``, ``name:version`` or a :class:`DatasetVersion`.
        target: The column to predict (never dropped).
        method: ``mutual_info`` or ``random_forest`` for the importance step.
        near_constant: Top-value share (0-1] from which a feature is near-constant.
        correlation: ``|r|`` from which two numeric features are redundant.
        min_importance: Drop features scoring below this (default: 0.01 nats of mutual
            information; for ``random_forest``, the best of 5 pure-noise probe columns).
        top_k: Keep at most this many features (best scores first).
        exclude: Columns that are not features (ids, timestamps); they are neither
            scored nor written to the output.
        task: ``classification`` or ``regression`` (default: inferred from the target).
        seed: Seeds mutual information's jitter, the forest and the probes.
        output_name: Also store the kept features plus the target as a new version of
            this dataset name (parent and lineage: the source version).

    Raises:
        InvalidParameter: An unknown target/column or a bad option value.
    """
    _check_options(near_constant, correlation, method, top_k)
    version, frame = read_frame(ctx, ref)
    columns = list(frame.columns)
    unknown = [c for c in [target, *(exclude or [])] if c not in columns]
    if unknown:
        raise InvalidParameter(
            f"Dataset {version.ref} has no column(s) {unknown}; columns: {columns}."
        )
    frame = frame[frame[target].notna()]
    if len(frame) < 2:
        raise InvalidParameter(
            f"Dataset {version.ref} has {len(frame)} row(s) with a {target!r} value; "
            "feature selection needs at least 2."
        )
    task = check_task(task, frame[target])
    features = [c for c in columns if c != target and c not in (exclude or [])]
    x, discrete = encode_features(frame[features])
    y = encode_target(frame[target], task)
    mi = mutual_information(x, y, discrete, task, seed)
    dropped = _constant(frame, features, near_constant)
    remaining = [c for c in features if c not in {d.column for d in dropped}]
    dropped += _correlated(frame, remaining, correlation, mi)
    remaining = [c for c in remaining if c not in {d.column for d in dropped}]
    threshold = min_importance
    if method == "mutual_info":
        scores = {c: mi[c] for c in remaining}
        threshold = MIN_MUTUAL_INFO if min_importance is None and top_k is None else threshold
    else:
        probes = NOISE_PROBES if min_importance is None and top_k is None else 0
        scores, probe = forest_importances(x[remaining], y, task, seed, probes)
        threshold = probe if probe is not None else threshold
    label = "mutual information" if method == "mutual_info" else "random-forest importance"
    dropped += _unimportant(scores, threshold, top_k, label)
    kept = [c for c in features if c not in {d.column for d in dropped}]
    output = None
    if output_name is not None:
        table = read_table(ctx, version).select([*kept, target])
        source = f"select-features:{version.ref}:target={target}:method={method}"
        new, _ = store_table(ctx, table, output_name, source=source, parent_id=version.id)
        ctx.store.add_lineage(("dataset", version.id), ("dataset", new.id), "select-features")
        output = new.ref
    return SelectionReport(
        dataset=version.ref,
        target=target,
        task=task,
        method=method,
        rows=len(frame),
        kept=kept,
        dropped=dropped,
        mutual_information=mi,
        importances=scores,
        thresholds={
            "near_constant": near_constant,
            "correlation": correlation,
            "min_importance": threshold,
            "top_k": top_k,
        },
        output=output,
    )


__all__ = [
    "METHODS",
    "MIN_MUTUAL_INFO",
    "NOISE_PROBES",
    "forest_importances",
    "mutual_information",
    "select_features",
]
