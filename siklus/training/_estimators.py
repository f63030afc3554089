"""Turn a dotted class name and hyperparameters into a validated scikit-learn estimator.

Everything is checked before a job starts, so a typo costs a second, not a queued job:
the class must exist and be a scikit-learn estimator, every hyperparameter must be one of
its ``get_params()`` names, and values are checked by scikit-learn's own validation.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from sklearn.base import BaseEstimator, is_classifier, is_regressor

from siklus.exceptions import InvalidParameter

#: Short names accepted for the most used estimators.
ALIASES = {
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "random_forest_classifier": "sklearn.ensemble.RandomForestClassifier",
    "random_forest_regressor": "sklearn.ensemble.RandomForestRegressor",
    "gradient_boosting_classifier": "sklearn.ensemble.HistGradientBoostingClassifier",
    "gradient_boosting_regressor": "sklearn.ensemble.HistGradientBoostingRegressor",
    "linear_regression": "sklearn.linear_model.LinearRegression",
    "ridge": "sklearn.linear_model.Ridge",
}


#: Libraries siklus supports as optional extras: top-level module → extra name.
OPTIONAL_LIBRARIES = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def resolve_estimator_class(dotted: str) -> type[BaseEstimator]:
    """Import ``package.module.ClassName`` (or an alias) and check it is an estimator."""
    path = ALIASES.get(dotted, dotted)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise InvalidParameter(
            f"Estimator {dotted!r} is not a dotted class name; write it like "
            "'sklearn.ensemble.RandomForestClassifier' or use an alias: "
            f"{', '.join(sorted(ALIASES))}."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = OPTIONAL_LIBRARIES.get(module_name.partition(".")[0])
        if extra is not None and isinstance(exc, ModuleNotFoundError):
            raise InvalidParameter(
                f"Estimator {dotted!r} needs {extra}, which is not installed for this "
                f"Python. Install it with: pip install 'siklus[{extra}]'."
            ) from None
        raise InvalidParameter(
            f"Unknown estimator {dotted!r}: module {module_name!r} cannot be imported ({exc})."
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(class_name, public, n=3)
        hint = f" Did you mean {', '.join(module_name + '.' + c for c in close)}?" if close else ""
        raise InvalidParameter(
            f"Unknown estimator {dotted!r}: {module_name} has no {class_name!r}.{hint}"
        )
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise InvalidParameter(
            f"{dotted!r} is not a scikit-learn estimator (a subclass of "
            "sklearn.base.BaseEstimator with fit/predict)."
        )
    return cls


def make_estimator(dotted: str, hyperparameters: dict[str, Any] | None = None) -> BaseEstimator:
    """Build and validate an estimator.

    Raises:
        InvalidParameter: Unknown class, unknown hyperparameter name (with the valid ones
            listed), or a value scikit-learn rejects (its message is quoted).
    """
    cls = resolve_estimator_class(dotted)
    estimator = cls()
    params = dict(hyperparameters or {})
    valid = estimator.get_params(deep=False)
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise InvalidParameter(
            f"Unknown hyperparameter(s) {unknown} for {cls.__name__}; valid names: {sorted(valid)}."
        )
    estimator.set_params(**params)
    # scikit-learn's own estimators declare constraints; third-party ones (LightGBM,
    # XGBoost) inherit _validate_params without them and check values at fit time.
    validate = getattr(estimator, "_validate_params", None)
    if callable(validate) and hasattr(estimator, "_parameter_constraints"):
        try:
            validate()
        except (ValueError, TypeError) as exc:
            raise InvalidParameter(f"Bad hyperparameter for {cls.__name__}: {exc}") from None
    return estimator


def task_of(estimator: BaseEstimator, n_classes: int | None) -> str:
    """``binary_classification``, ``multiclass_classification`` or ``regression``."""
    if is_classifier(estimator):
        return "binary_classification" if (n_classes or 0) <= 2 else "multiclass_classification"
    if is_regressor(estimator):
        return "regression"
    raise InvalidParameter(
        f"{type(estimator).__name__} is neither a classifier nor a regressor; siklus trains "
        "supervised models."
    )
