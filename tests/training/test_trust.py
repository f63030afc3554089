"""The model-file allow-list and the tree index checks (siklus/training/_trust.py)."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from siklus.exceptions import UntrustedModel
from siklus.training import load_estimator
from siklus.training._trust import is_trusted


@pytest.fixture(scope="module")
def xy():
    return load_breast_cancer(return_X_y=True)


@pytest.mark.parametrize(
    ("name", "trusted"),
    [
        ("sklearn.linear_model._logistic.LogisticRegression", True),
        ("sklearn.tree._tree.Tree", True),
        ("numpy.dtype", True),
        ("numpy.log1p", True),  # a ufunc: arithmetic only
        ("collections.OrderedDict", True),
        ("lightgbm.basic.Booster", True),
        ("builtins.exec", False),
        ("builtins.eval", False),
        ("_operator.methodcaller", False),
        ("numpy.load", False),  # a function that reads files
        ("numpy.memmap", False),  # a class that creates files
        ("numpy.lib.npyio.NpzFile", False),
        ("scipy.io.netcdf_file", False),
        ("sklearn.utils.validation.check_array", False),  # a function, not a class
        ("sklearn.no_such_module.Thing", False),
        ("os.system", False),
    ],
)
def test_only_library_classes_and_named_safe_types_are_trusted(name: str, trusted: bool) -> None:
    assert is_trusted(name) is trusted


def test_a_library_function_is_refused_and_can_be_trusted_by_name(tmp_path, xy):
    x, y = xy
    model = make_pipeline(
        FunctionTransformer(np.asarray), StandardScaler(), DecisionTreeClassifier()
    )
    path = tmp_path / "fn.skops"
    sio.dump(model.fit(x, y), path)
    with pytest.raises(UntrustedModel, match=r"numpy.*asarray"):
        load_estimator(path)
    names = [t for t in sio.get_untrusted_types(file=path) if t.endswith("asarray")]
    assert load_estimator(path, extra_trusted=names).predict(x[:5]).tolist() == (
        model.predict(x[:5]).tolist()
    )


@pytest.mark.parametrize(
    "estimator",
    [
        DecisionTreeClassifier(random_state=0),
        RandomForestClassifier(n_estimators=5, random_state=0),
        GradientBoostingClassifier(n_estimators=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=5, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_fitted_tree_models_load_and_predict_the_same(tmp_path, xy, estimator) -> None:
    x, y = xy
    model = estimator.fit(x, y)
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    np.testing.assert_array_equal(load_estimator(path).predict(x), model.predict(x))


def _corrupt_tree(model: DecisionTreeClassifier, node: int, field: str, value: int) -> None:
    state = model.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes[field][node] = value
    model.tree_.__setstate__({**state, "nodes": nodes})


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("left_child", 10**6, "past the last node"),
        ("right_child", 0, "back to the root: a loop"),
        ("feature", 999, "a feature the tree never saw"),
    ],
)
def test_a_tree_pointing_outside_itself_is_refused(tmp_path, xy, field, value, why) -> None:
    x, y = xy
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    _corrupt_tree(model, 0, field, value)
    path = tmp_path / "bad.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="corrupt decision tree: node 0"):
        load_estimator(path)


def test_a_corrupt_tree_inside_a_forest_in_a_pipeline_is_found(tmp_path, xy) -> None:
    x, y = xy
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=4, random_state=0))
    model.fit(x, y)
    _corrupt_tree(model[-1].estimators_[2], 0, "right_child", -7)
    path = tmp_path / "forest.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="corrupt decision tree"):
        load_estimator(path)


def test_a_corrupt_histogram_boosting_tree_is_refused(tmp_path, xy) -> None:
    x, y = xy
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(x, y)
    nodes = model._predictors[1][0].nodes
    inner = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    nodes["feature_idx"][inner] = x.shape[1] + 5
    path = tmp_path / "hgb.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="corrupt gradient-boosting tree"):
        load_estimator(path)
