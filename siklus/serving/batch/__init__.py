"""Batch transform: offline inference over datasets or files larger than memory.

A transform streams its input in numbered chunks of ``chunk_rows`` rows, predicts them
in ``workers`` processes (each loads the model once; every row is checked against the
model's input signature), writes each chunk's output as a Parquet part file (temp file +
rename) and records it in a manifest, then stores the whole output as a new dataset
version linked to the input dataset and the model package. It runs as a job; a crashed,
failed or stopped transform is resumed and skips the chunks already done, so the output
has each input row exactly once. See ``docs/batch-transform.md``.

Example:
    >>> from siklus.serving.batch import transform, resume_transform
    >>> bt = transform(ctx, "breast-cancer:1", "bc.test", "bc.scored",
    ...                id_column="id", workers=2, chunk_rows=50_000)  # doctest: +SKIP
    >>> bt.output_dataset  # doctest: +SKIP
    'bc.scored:1'
"""

from __future__ import annotations

from siklus.serving.batch._predict import PREDICTION, PROBABILITY_PREFIX, ROW_NUMBER
from siklus.serving.batch._sources import FORMATS, InputSource, resolve_input
from siklus.serving.batch._transforms import (
    DEFAULT_CHUNK_ROWS,
    KIND,
    ON_ERROR,
    RUNTIMES,
    BatchTransform,
    describe_transform,
    list_transforms,
    resume_transform,
    transform,
)

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "KIND",
    "ON_ERROR",
    "PREDICTION",
    "PROBABILITY_PREFIX",
    "ROW_NUMBER",
    "RUNTIMES",
    "BatchTransform",
    "InputSource",
    "describe_transform",
    "list_transforms",
    "resolve_input",
    "resume_transform",
    "transform",
]
