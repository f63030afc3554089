"""The model-file allow-list and the tree index checks (siklus/training/_trust.py)."""

from __future__ import annotations

import gc
import json
import sys
import zipfile
from functools import partial
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.multioutput import ClassifierChain
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import Tree
from sklearn.utils.validation import check_array

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
        pytest.param(
            "xgboost.core.Booster",
            True,
            marks=pytest.mark.skipif(find_spec("xgboost") is None, reason="no xgboost"),
        ),
        ("builtins.exec", False),
        ("builtins.eval", False),
        ("_operator.methodcaller", False),
        ("numpy.load", False),  # a function that reads files
        ("numpy.memmap", False),  # a class that creates files
        ("numpy.lib.npyio.NpzFile", False),
        ("scipy.io.netcdf_file", False),
        ("sklearn.utils.validation.check_memory", False),  # a function, not a class
        ("sklearn.utils.validation.check_array", True),  # named: HGB's categorical input
        ("functools.partial", True),  # binds arguments to a function trusted on its own
        ("functools.reduce", False),
        ("sklearn.no_such_module.Thing", False),
        ("os.system", False),
        # gzip.GzipFile imported into a library module: called with the file's arguments
        # it truncates any file
        ("sklearn.datasets._covtype.GzipFile", False),
        ("sklearn.callback._transport.Listener", False),  # multiprocessing: opens a socket
        ("numpy.ctypeslib.c_intp", False),  # a ctypes class
        ("numpy.lib._datasource.DataSource", False),  # its __del__ removes a folder
        ("lightgbm.basic.Dataset", False),  # its __del__ frees a handle from the file
        ("numpy.testing.suppress_warnings", False),
        ("scipy._lib._testutils.PytestTester", False),
        ("sklearn.ensemble._forest.RandomForestClassifier", True),
        ("numpy.random.mtrand.RandomState", True),
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


def test_a_name_in_a_module_that_runs_on_import_is_refused_without_importing_it(
    monkeypatch,
) -> None:
    # numpy.f2py.__main__ runs f2py on this process's arguments when imported ("-v"
    # prints the version and exits).
    monkeypatch.setattr(sys, "argv", ["siklus", "-v"])
    monkeypatch.delitem(sys.modules, "numpy.f2py.__main__", raising=False)
    assert is_trusted("numpy.f2py.__main__.Thing") is False
    assert "numpy.f2py.__main__" not in sys.modules


def _rewrite(path: Path, edit) -> None:
    """Edit the schema of a skops file in place, as someone crafting one would."""
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    schema = json.loads(files["schema.json"])
    edit(schema)
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def _json(value) -> dict:
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}  # fmt: skip


def test_a_class_imported_into_a_library_module_is_not_called_with_file_arguments(
    tmp_path,
) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    path = tmp_path / "gzip.skops"
    sio.dump(DecisionTreeClassifier().fit([[0], [1]], [0, 1]), path)

    def edit(schema: dict) -> None:
        schema["content"]["content"]["criterion"] = {
            "__class__": "GzipFile",
            "__module__": "sklearn.datasets._covtype",  # gzip.GzipFile, imported there
            "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins",
                        "__loader__": "TupleNode", "content": [_json(str(victim)), _json("wb")]},
        }  # fmt: skip

    _rewrite(path, edit)
    with pytest.raises(UntrustedModel, match="GzipFile"):
        load_estimator(path)
    assert victim.read_text() == "keep me"


def test_a_library_class_with_a_finalizer_is_refused(tmp_path) -> None:
    from numpy.lib._datasource import DataSource

    victim = tmp_path / "victim"
    victim.mkdir()
    model = DecisionTreeClassifier().fit([[0], [1]], [0, 1])
    model.note = DataSource(str(victim))  # _istmpdest False here; the file says True
    path = tmp_path / "ds.skops"
    sio.dump(model, path)

    def edit(schema: dict) -> None:
        note = schema["content"]["content"]["note"]
        note["__module__"] = "numpy.lib._datasource"
        note["content"]["content"]["_istmpdest"]["content"] = "true"

    _rewrite(path, edit)
    with pytest.raises(UntrustedModel, match="DataSource"):
        load_estimator(path)
    gc.collect()
    assert victim.is_dir()


def _widen(estimator, n_features: int) -> None:
    """Point a split at feature n_features - 1 of a tree that claims that many features."""
    tree = estimator.tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    inner = int(np.flatnonzero(nodes["left_child"] != -1)[0])
    nodes["feature"][inner] = n_features - 1
    wide = Tree(n_features, tree.n_classes, tree.n_outputs)
    wide.__setstate__({**state, "nodes": nodes})
    estimator.tree_ = wide


def test_a_tree_claiming_more_features_than_its_estimator_checks_is_refused(tmp_path, xy) -> None:
    # The tree's own n_features comes from the same file; scikit-learn checks the input
    # against the estimator's n_features_in_ only (predicting would read out of bounds).
    x, y = xy
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    _widen(model, 10**8)
    path = tmp_path / "wide.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="feature 99999999"):
        load_estimator(path)


def test_a_gradient_boosting_tree_is_bounded_by_the_ensemble_width(tmp_path, xy) -> None:
    # GradientBoosting walks its trees without asking them for their width.
    x, y = xy
    model = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(x, y)
    member = model.estimators_[1, 0]
    _widen(member, 10**8)
    member.n_features_in_ = 10**8
    path = tmp_path / "gb.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="corrupt decision tree"):
        load_estimator(path)


def test_trees_without_a_recorded_width_are_refused(tmp_path, xy) -> None:
    x, y = xy
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    del tree.n_features_in_  # scikit-learn then skips its width check
    hgb = HistGradientBoostingClassifier(max_iter=2, random_state=0).fit(x, y)
    del hgb.n_features_in_
    for name, model in (("tree", tree), ("hgb", hgb)):
        path = tmp_path / f"{name}.skops"
        sio.dump(model, path)
        with pytest.raises(UntrustedModel, match="n_features_in_"):
            load_estimator(path)


def test_a_categorical_split_pointing_past_its_category_sets_is_refused(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 6, 400), rng.normal(size=400)])
    y = (x[:, 0] % 2 == 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(x, y)
    path = tmp_path / "cat.skops"
    sio.dump(model, path)
    # Its preprocessor holds partial(check_array): both named in the allow-list.
    loaded = load_estimator(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    nodes = model._predictors[0][0].nodes
    categorical = np.flatnonzero((nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 1))
    nodes["bitset_idx"][categorical[0]] = 10**6
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="category set"):
        load_estimator(path)


@pytest.mark.parametrize(
    "estimator",
    [
        DecisionTreeClassifier(max_leaf_nodes=20, random_state=0),  # best-first builder
        RandomForestClassifier(n_estimators=4, max_leaf_nodes=30, random_state=0),
        HistGradientBoostingClassifier(max_iter=3, max_leaf_nodes=200, min_samples_leaf=2),
        DecisionTreeClassifier(min_samples_split=10**6),  # a single leaf: the root
        GradientBoostingClassifier(n_estimators=3, max_leaf_nodes=16, random_state=0),
        IsolationForest(n_estimators=4, max_features=0.5, random_state=0),
        ExtraTreesClassifier(n_estimators=4, random_state=0),
        BaggingClassifier(
            DecisionTreeClassifier(), n_estimators=4, max_features=0.5, random_state=0
        ),
        CalibratedClassifierCV(RandomForestClassifier(n_estimators=4, random_state=0), cv=3),
        # Each tree of a chain also sees the labels before it: wider than the chain's input.
        ClassifierChain(DecisionTreeClassifier(random_state=0), order=[0, 1, 2]),
    ],
    ids=lambda e: type(e).__name__ + str(e.get_params().get("max_leaf_nodes") or ""),
)
def test_valid_tree_models_of_every_builder_and_ensemble_load(tmp_path, xy, estimator) -> None:
    x, y = xy
    if isinstance(estimator, ClassifierChain):  # three labels, the later ones from the first
        y = np.column_stack([y, 1 - y, (x[:, 0] > np.median(x[:, 0])).astype(int)])
    model = estimator.fit(x, y)
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    np.testing.assert_array_equal(load_estimator(path).predict(x), model.predict(x))


def test_a_deep_regression_tree_on_many_rows_loads(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20_000, 5)), rng.normal(size=20_000)
    model = DecisionTreeRegressor(random_state=0).fit(x, y)  # max_depth=None
    assert model.tree_.node_count > 10_000
    path = tmp_path / "deep.skops"
    sio.dump(model, path)
    np.testing.assert_array_equal(load_estimator(path).predict(x), model.predict(x))


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
@pytest.mark.parametrize("rows", [1, 7, 569])
def test_fitted_neighbour_trees_load(tmp_path, xy, algorithm, rows) -> None:
    x, y = xy
    model = KNeighborsClassifier(n_neighbors=1, algorithm=algorithm, leaf_size=3)
    model.fit(x[:rows], y[:rows])
    path = tmp_path / "knn.skops"
    sio.dump(model, path)
    np.testing.assert_array_equal(load_estimator(path).predict(x), model.predict(x))


def _corrupt_binary_tree(model, change) -> None:
    state = list(model._tree.__getstate__())
    state[1], state[2] = state[1].copy(), state[2].copy()
    change(state)
    model._tree.__setstate__(tuple(state))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s[1].__setitem__(0, 10**9), "point index names points"),
        (lambda s: s[2]["idx_end"].__setitem__(0, 10**9), "past the end of its point index"),
        (lambda s: s[2]["is_leaf"].__setitem__(-1, 0), "children past its last node"),
    ],
    ids=["idx_array", "idx_end", "is_leaf"],
)
@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_a_neighbour_tree_indexing_outside_itself_is_refused(
    tmp_path, xy, algorithm, change, why
) -> None:
    # Each would crash the process at the first prediction (queries do not check them).
    x, y = xy
    model = KNeighborsClassifier(algorithm=algorithm).fit(x, y)
    _corrupt_binary_tree(model, change)
    path = tmp_path / "knn.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match=why):
        load_estimator(path)


def test_histogram_boosting_on_pandas_categories_loads_without_extra_trust(tmp_path) -> None:
    """``categorical_features="from_dtype"`` on a frame with a category column: what a
    user training on pandas gets. It loads with the default allow-list and predicts the
    same; a partial of a function that is not trusted is still refused."""
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"colour": pd.Categorical(rng.choice(["red", "green", "blue"], 500)),
         "size": rng.normal(size=500)}
    )  # fmt: skip
    y = ((frame["colour"] == "red") ^ (frame["size"] > 0)).astype(int)
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features="from_dtype")
    path = tmp_path / "hgb.skops"
    sio.dump(model.fit(frame, y), path)
    np.testing.assert_array_equal(load_estimator(path).predict(frame), model.predict(frame))
    np.testing.assert_allclose(
        load_estimator(path).predict_proba(frame), model.predict_proba(frame)
    )

    from functools import partial

    hostile = make_pipeline(FunctionTransformer(partial(np.asarray, dtype=float)))
    sio.dump(hostile.fit(frame[["size"]]), path)
    with pytest.raises(UntrustedModel, match=r"numpy.*asarray"):
        load_estimator(path)


def _pca_one_by_one():
    from sklearn.decomposition import PCA

    return PCA(n_components=1).fit(np.arange(6.0).reshape(-1, 1))


@pytest.mark.parametrize("how", ["partial", "kw_args", "inv_kw_args"])
def test_a_function_writing_into_an_array_of_the_model_is_refused(tmp_path, how) -> None:
    """A ufunc is arithmetic, but ``out=`` makes it write into any array the file names,
    also one of the model's own (here a PCA's components, after the load-time checks
    ran): a crafted file could rewrite checked tree indices at prediction. Bound by a
    ``partial`` or passed as a ``FunctionTransformer``'s keyword arguments, it is refused."""
    pca = _pca_one_by_one()
    write = {"out": pca.components_, "casting": "unsafe"}
    if how == "partial":
        step = FunctionTransformer(partial(np.multiply, 10**9, **write))
    elif how == "kw_args":
        step = FunctionTransformer(np.negative, kw_args=write)
    else:
        step = FunctionTransformer(np.negative, inverse_func=np.negative, inv_kw_args=write)
    path = tmp_path / "write.skops"
    sio.dump(make_pipeline(step, pca), path)
    with pytest.raises(UntrustedModel, match=r"out=|partial of multiply"):
        load_estimator(path)


@pytest.mark.parametrize(
    "bound",
    [
        partial(np.add, 1.0),  # a ufunc with an input of the file's
        partial(check_array, np.ones(2)),  # check_array, but with a positional argument
        partial(StandardScaler, copy=False),  # a class called with the file's arguments
    ],
    ids=["ufunc", "check_array-positional", "class"],
)
def test_a_partial_other_than_check_array_with_its_keywords_is_refused(tmp_path, bound):
    """``partial`` is trusted for what scikit-learn stores, ``partial(check_array,
    dtype=..., ensure_all_finite=...)``; anything else binds file values to a call."""
    path = tmp_path / "partial.skops"
    sio.dump(make_pipeline(FunctionTransformer(bound)), path)
    with pytest.raises(UntrustedModel, match="partial"):
        load_estimator(path)


def test_a_partial_hidden_as_a_default_factory_is_found(tmp_path) -> None:
    """A ``defaultdict`` calls its ``default_factory`` on a missing key: a partial there
    is a call with the file's arguments like any other, and is refused."""
    from collections import defaultdict

    pca = _pca_one_by_one()
    pca.lookup_ = defaultdict(partial(np.multiply, 2.0, 3.0, out=pca.components_[0]))
    path = tmp_path / "factory.skops"
    sio.dump(pca, path)
    with pytest.raises(UntrustedModel, match="partial of multiply"):
        load_estimator(path)


def test_a_partial_of_a_function_named_as_extra_trusted_still_loads(tmp_path) -> None:
    """Whoever names a function as trusted may keep a partial of it (as before partial
    was on the allow-list, when both were named)."""
    model = make_pipeline(FunctionTransformer(partial(np.asarray, dtype=float)))
    path = tmp_path / "asarray.skops"
    sio.dump(model.fit(np.ones((3, 2))), path)
    loaded = load_estimator(path, extra_trusted=["numpy.asarray"])
    np.testing.assert_array_equal(loaded.transform(np.eye(2)), np.eye(2))


@pytest.mark.parametrize("which", ["func", "inverse_func"])
def test_a_function_transformer_calling_a_class_is_refused(tmp_path, which) -> None:
    """A trusted class may be stored, not built with the file's keyword arguments at every
    transform (``numpy.ndarray(shape=...)`` would allocate what the file asks for)."""
    x = np.arange(6.0).reshape(-1, 2)
    transformer = FunctionTransformer(
        **{which: np.ndarray}, kw_args={"shape": (2,)}, check_inverse=False
    )
    path = tmp_path / "cls.skops"
    sio.dump(transformer.fit(x), path)
    with pytest.raises(UntrustedModel, match=f"FunctionTransformer whose {which} is a class"):
        load_estimator(path)
    sio.dump(FunctionTransformer(np.log1p).fit(x), path)  # a ufunc stays fine
    np.testing.assert_allclose(load_estimator(path).transform(x), np.log1p(x))
