"""Training: estimators by dotted name, the preprocessing pipeline, training jobs, model
artifacts (skops + manifest) and evaluation of stored models."""

from siklus.training._artifact import (
    TRUSTED_MODULE_PREFIXES,
    LoadedModel,
    library_versions,
    load_estimator,
    load_model,
    save_estimator,
    untrusted_types,
)
from siklus.training._estimators import ALIASES, make_estimator, resolve_estimator_class
from siklus.training._evaluate import evaluate_model
from siklus.training._pipeline import build_pipeline
from siklus.training._signature import LOGICAL_TYPES, conform, infer_signature
from siklus.training._train import train, training_spec

__all__ = [
    "ALIASES",
    "LOGICAL_TYPES",
    "TRUSTED_MODULE_PREFIXES",
    "LoadedModel",
    "build_pipeline",
    "conform",
    "evaluate_model",
    "infer_signature",
    "library_versions",
    "load_estimator",
    "load_model",
    "make_estimator",
    "resolve_estimator_class",
    "save_estimator",
    "train",
    "training_spec",
    "untrusted_types",
]
