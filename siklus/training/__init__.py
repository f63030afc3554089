"""Training: estimators by dotted name, the preprocessing pipeline, training jobs, model
artifacts (skops + manifest) and evaluation of stored models.

Algorithms are built-in estimators (with stopping criteria for iterative ones) or the
user's own training script (script mode, ``docs/script-mode.md``).
"""

from __future__ import annotations

from siklus._lazy import lazy_exports

# Names resolve on first use: an endpoint serving ONNX needs the signature check, not
# scikit-learn, skops and the training loop (see siklus/_lazy.py).
_EXPORTS: dict[str, str] = {
    "ALIASES": "siklus.training._estimators",
    "EarlyStopping": "siklus.training._stopping",
    "IterationReport": "siklus.training._epochs",
    "LOGICAL_TYPES": "siklus.training._signature",
    "LoadedModel": "siklus.training._artifact",
    "ScriptFailed": "siklus.training._script_job",
    "Stopping": "siklus.training._stopping",
    "StoppingPlan": "siklus.training._stopping",
    "TRUSTED_MODULE_PREFIXES": "siklus.training._trust",
    "build_pipeline": "siklus.training._pipeline",
    "conform": "siklus.training._signature",
    "evaluate_model": "siklus.training._evaluate",
    "hyperparameter_args": "siklus.training._script_spec",
    "infer_signature": "siklus.training._signature",
    "library_versions": "siklus.training._artifact",
    "load_estimator": "siklus.training._artifact",
    "load_model": "siklus.training._artifact",
    "log_model": "siklus.training._log_model",
    "loss_of": "siklus.training._epochs",
    "make_estimator": "siklus.training._estimators",
    "plan_stopping": "siklus.training._stopping",
    "read_metrics_file": "siklus.training._script_job",
    "resolve_estimator_class": "siklus.training._estimators",
    "save_estimator": "siklus.training._artifact",
    "train": "siklus.training._train",
    "training_spec": "siklus.training._train",
    "untrusted_types": "siklus.training._artifact",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
