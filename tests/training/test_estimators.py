from __future__ import annotations

import sys

import pytest
from sklearn.ensemble import RandomForestClassifier

from siklus.exceptions import InvalidParameter
from siklus.training import make_estimator, resolve_estimator_class


def test_dotted_name_and_alias_resolve():
    assert resolve_estimator_class("sklearn.ensemble.RandomForestClassifier") is (
        RandomForestClassifier
    )
    assert resolve_estimator_class("random_forest_classifier") is RandomForestClassifier
    est = make_estimator("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 7})
    assert est.get_params()["n_estimators"] == 7


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("RandomForest", "not a dotted class name"),
        ("sklearn.nope.Thing", "cannot be imported"),
        ("sklearn.ensemble.RandomForestClassifer", "Did you mean"),
        ("collections.OrderedDict", "not a scikit-learn estimator"),
    ],
)
def test_unknown_estimator(name, message):
    with pytest.raises(InvalidParameter, match=message):
        make_estimator(name)


def test_unknown_hyperparameter_lists_valid_names():
    with pytest.raises(InvalidParameter, match="n_estimators") as info:
        make_estimator("sklearn.ensemble.RandomForestClassifier", {"n_trees": 5})
    assert "n_trees" in str(info.value)


def test_bad_hyperparameter_value_uses_sklearn_validation():
    with pytest.raises(InvalidParameter, match="n_estimators"):
        make_estimator("sklearn.ensemble.RandomForestClassifier", {"n_estimators": -3})
    with pytest.raises(InvalidParameter, match="penalty"):
        make_estimator("sklearn.linear_model.LogisticRegression", {"penalty": "l7"})


@pytest.mark.parametrize("name", ["lightgbm.LGBMClassifier", "xgboost.XGBRegressor"])
def test_missing_optional_library_names_the_extra(name, monkeypatch):
    library = name.partition(".")[0]
    monkeypatch.setitem(sys.modules, library, None)  # as if not installed
    with pytest.raises(InvalidParameter, match=rf"pip install 'siklus\[{library}\]'"):
        make_estimator(name)
