"""Split a dataset into train / validation / test versions (80/10/10 by default).

Each part becomes its own versioned dataset named ``<name>.train``, ``<name>.validation``
and ``<name>.test``, whose parent is the source version, so lineage shows where a test set
came from. The split is seeded: the same source and seed always give the same parts.
"""

from __future__ import annotations

import numpy as np

from siklus.data._datasets import frame_to_table, read_frame, store_table
from siklus.exceptions import InvalidParameter
from siklus.store import DatasetVersion, WorkspaceContext

SPLITS = ("train", "validation", "test")


def split_name(dataset: str, split: str) -> str:
    return f"{dataset}.{split}"


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(not (0 < f < 1) for f in fractions):
        raise InvalidParameter(
            f"Split fractions {fractions} are not valid: give three numbers between 0 and 1 "
            "for train, validation and test, e.g. 0.8 0.1 0.1."
        )
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise InvalidParameter(f"Split fractions {fractions} add up to {sum(fractions)}, not 1.")


def split_dataset(
    ctx: WorkspaceContext,
    ref: str | DatasetVersion,
    *,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 42,
    stratify: str | None = None,
) -> dict[str, DatasetVersion]:
    """Split a dataset version into three new dataset versions.

    Args:
        ref: ``name`` (latest) or ``name:version``.
        fractions: Train, validation, test shares; must add up to 1.
        seed: Seeds the shuffle.
        stratify: A column whose class proportions each part keeps.

    Returns:
        ``{"train": ..., "validation": ..., "test": ...}``.
    """
    # Imported here: scikit-learn takes ~1.4 s to import and most users of siklus.data
    # (recipe and profile jobs) never split.
    from sklearn.model_selection import train_test_split

    _check_fractions(fractions)
    source, frame = read_frame(ctx, ref)
    if stratify is not None and stratify not in frame.columns:
        raise InvalidParameter(
            f"Cannot stratify on {stratify!r}: dataset {source.ref} has no such column. "
            f"Columns: {list(frame.columns)}."
        )
    n = len(frame)
    if n < 3:
        raise InvalidParameter(f"Dataset {source.ref} has {n} rows; at least 3 are needed.")
    train_f, val_f, test_f = fractions
    labels = frame[stratify].to_numpy() if stratify else None
    if labels is not None:
        _, counts = np.unique(labels.astype(str), return_counts=True)
        if counts.min() < 3:
            raise InvalidParameter(
                f"Cannot stratify on {stratify!r}: a class has only {counts.min()} row(s); "
                "each class needs at least 3 (one per part). Split without --stratify."
            )
    index = np.arange(n)
    try:
        train_idx, rest_idx = train_test_split(
            index, train_size=train_f, random_state=seed, stratify=labels
        )
        rest_labels = labels[rest_idx] if labels is not None else None
        val_idx, test_idx = train_test_split(
            rest_idx,
            train_size=val_f / (val_f + test_f),
            random_state=seed,
            stratify=rest_labels,
        )
    except ValueError as exc:
        raise InvalidParameter(f"Cannot split dataset {source.ref}: {exc}") from exc
    parts: dict[str, DatasetVersion] = {}
    for split, idx in zip(SPLITS, (train_idx, val_idx, test_idx), strict=True):
        table = frame_to_table(frame.iloc[np.sort(idx)].reset_index(drop=True))
        version, _created = store_table(
            ctx,
            table,
            split_name(source.name, split),
            source=f"split:{source.ref}:{split}:seed={seed}"
            + (f":stratify={stratify}" if stratify else ""),
            parent_id=source.id,
            tags={"split": split},
        )
        ctx.store.add_lineage(("dataset", source.id), ("dataset", version.id), "split")
        parts[split] = version
    return parts
