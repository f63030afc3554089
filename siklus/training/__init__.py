"""Training: estimators by dotted name, the preprocessing pipeline, training jobs, model
artifacts (skops + manifest) and evaluation of stored models.

Algorithms are built-in estimators (with stopping criteria for iterative ones) or the
user's own training script (script mode, ``docs/script-mode.md``).
"""

from siklus.training._artifact import (
    TRUSTED_MODULE_PREFIXES,
    LoadedModel,
    library_versions,
    load_estimator,
    load_model,
    save_estimator,
    untrusted_types,
)
from siklus.training._epochs import IterationReport, loss_of
from siklus.training._estimators import ALIASES, make_estimator, resolve_estimator_class
from siklus.training._evaluate import evaluate_model
from siklus.training._pipeline import build_pipeline
from siklus.training._script_job import ScriptFailed, read_metrics_file
from siklus.training._script_spec import hyperparameter_args
from siklus.training._signature import LOGICAL_TYPES, conform, infer_signature
from siklus.training._stopping import EarlyStopping, Stopping, StoppingPlan, plan_stopping
from siklus.training._train import train, training_spec

__all__ = [
    "ALIASES",
    "LOGICAL_TYPES",
    "TRUSTED_MODULE_PREFIXES",
    "EarlyStopping",
    "IterationReport",
    "LoadedModel",
    "ScriptFailed",
    "Stopping",
    "StoppingPlan",
    "build_pipeline",
    "conform",
    "evaluate_model",
    "hyperparameter_args",
    "infer_signature",
    "library_versions",
    "load_estimator",
    "load_model",
    "loss_of",
    "make_estimator",
    "plan_stopping",
    "read_metrics_file",
    "resolve_estimator_class",
    "save_estimator",
    "train",
    "training_spec",
    "untrusted_types",
]
