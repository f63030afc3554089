"""What a model file may contain: the type allow-list, and the checks skops cannot make.

skops refuses to build any object whose type is not trusted, so the allow-list decides
what code a model file can reach. Trusting whole module prefixes (``builtins.``,
``numpy.``) would also trust functions and classes that act on the outside world when
called with arguments from the file: ``builtins.exec``, ``numpy.memmap`` (creates files),
``numpy.load``. So the rule is narrower:

- a name under a trusted library (:data:`TRUSTED_MODULE_PREFIXES`) is trusted only when
  it is a **class** — estimators, their parts, dtypes, sparse matrices, random states — and
  not a file-backed one (:data:`_FILE_BACKED`), or a NumPy ufunc (``numpy.log1p`` in a
  ``FunctionTransformer``: arithmetic only); any other library *function* must be named
  as extra trusted;
- outside them, and for functions, only the exact names in :data:`TRUSTED_NAMES` (an
  ``OrderedDict`` is what scikit-learn's own objects hold);
- plain Python values skops trusts itself (``dict``, ``list``, numbers, strings).

A trusted class is reached in three ways, and each is narrowed: skops may call it with
arguments from the file (a ``ConstructorFromReduceNode``), so a class imported into a
library module from elsewhere (``sklearn.datasets._covtype.GzipFile`` is ``gzip.GzipFile``,
which truncates any file it is given) is not trusted — the class itself must be defined
in the library; skops builds others with ``__new__`` and sets their attributes from the
file, so a class with a finalizer (``__del__``) is refused unless listed in
:data:`_SAFE_FINALIZERS` (``numpy.lib._datasource.DataSource.__del__`` removes the
folder its attributes name); and finding the class imports the module the name gives,
so names in modules that are not model code (tests, build tools, ``numpy.f2py``, whose
``__main__`` runs f2py on import, dataset downloaders) are refused before any import.

A trusted type can still hold hostile values. skops leaves ``sklearn.tree._tree.Tree``
untrusted by default for that reason: its node arrays hold child and feature indices
that scikit-learn follows without bounds checks, so a crafted file could crash the
process or read outside memory on the first prediction. siklus trusts trees (every tree
model needs them) and, after loading, checks every tree's indices
(:func:`check_tree_indices`): a child is a later node of the same tree (so no index is
out of range and no walk can loop), a feature is one the tree was fitted on. That width
comes from the estimator that scikit-learn checks the input against before walking the
tree (its ``n_features_in_``, and gradient boosting's for its trees, which it walks
without asking them), never from the tree's own ``n_features``, which is read from
the same file and checked by nothing at prediction.

Arguments bound to a call are values of the file too: trusting ``functools.partial``
would let a file call a ufunc with ``out=`` an array of the model (rewriting checked
indices at prediction) or a class with arguments of its choosing, so a partial is
scikit-learn's ``partial(check_array, <options>)`` or one of a function the caller
named as trusted, and a ``FunctionTransformer``'s keyword arguments never hold ``out``
(:func:`check_bound_calls`).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from siklus.exceptions import UntrustedModel

#: Libraries whose classes a model file may contain.
TRUSTED_MODULE_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "lightgbm.",
    "xgboost.",
)
#: Exact names that a model file may contain beyond the library classes: containers
#: scikit-learn's own objects hold, and what ``HistGradientBoosting*`` with categorical
#: features keeps in its preprocessor, ``partial(check_array, ...)``. ``check_array`` only
#: validates and converts its input; a ``partial`` binding check_array's input, or one of
#: a ufunc or class, is refused after loading (:func:`check_bound_calls`): that would be
#: a call with arguments of the file that nobody named as trusted.
TRUSTED_NAMES: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "collections.Counter",
        "collections.defaultdict",
        "functools.partial",
        "sklearn.utils.validation.check_array",
    }
)
#: Classes of trusted libraries that read or write files when constructed.
_FILE_BACKED: tuple[str, ...] = ("numpy.memmap", "numpy.lib.npyio.", "numpy.lib._npyio_impl.")
_FILE_BACKED_MODULES: tuple[str, ...] = ("scipy.io",)
#: Module name parts that no model needs: tests, build and packaging tools, file and
#: network helpers. A name with one is refused before its module is imported (importing
#: ``numpy.f2py.__main__`` runs f2py on this process's arguments).
_REFUSED_PARTS: frozenset[str] = frozenset(
    {
        "__main__",
        "tests",
        "testing",
        "_testing",
        "_testutils",
        "conftest",
        "f2py",
        "distutils",
        "_build_utils",
        "_pyinstaller",
        "ctypeslib",
        "_datasource",
        "npyio",
        "_npyio_impl",
        "datasets",
        "callback",
        "io",
    }
)
#: Library classes with a finalizer that only releases what their own ``__setstate__``
#: created: both Boosters replace the stored model bytes with a fresh native handle (or
#: keep None), so ``__del__`` never frees a pointer taken from the file. (LightGBM's
#: ``Dataset`` and ``_InnerPredictor`` have no such ``__setstate__``: refused.)
_SAFE_FINALIZERS: frozenset[str] = frozenset({"lightgbm.basic.Booster", "xgboost.core.Booster"})


def _resolve(name: str) -> Any:
    """The object a skops type name (``module.Qualified.name``) refers to, or None."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module, or one that fails to import: not trusted
            continue
        try:
            for attr in parts[cut:]:
                value = getattr(value, attr)
        except AttributeError:
            return None
        return value
    return None


def _library(module: str) -> bool:
    """Whether ``module`` is a trusted library or one of its modules."""
    return f"{module}.".startswith(TRUSTED_MODULE_PREFIXES)


def _refused_module(module: str) -> bool:
    return module.startswith(_FILE_BACKED_MODULES) or not _REFUSED_PARTS.isdisjoint(
        module.split(".")
    )


def _finalizer(cls: type) -> bool:
    """Whether ``cls`` runs code of its own when collected (a ``__del__`` of a library)."""
    return any("__del__" in vars(base) for base in cls.__mro__ if base is not object)


def is_trusted(name: str) -> bool:
    """Whether a type name found in a model file is on siklus' allow-list."""
    if name in TRUSTED_NAMES:
        return True
    if not name.startswith(TRUSTED_MODULE_PREFIXES) or name.startswith(_FILE_BACKED):
        return False
    if _refused_module(name.rpartition(".")[0]):  # before importing anything
        return False
    value = _resolve(name)
    if isinstance(value, np.ufunc):  # numpy.log1p and the like: arithmetic, nothing else
        return True
    if not isinstance(value, type):
        return False
    if issubclass(value, np.memmap):
        return False
    module = getattr(value, "__module__", "") or ""
    if not _library(module) or _refused_module(module):
        return False  # imported from elsewhere (gzip.GzipFile), or a file/test helper
    own = f"{module}.{value.__qualname__}"
    return not _finalizer(value) or own in _SAFE_FINALIZERS or name in _SAFE_FINALIZERS


def refused_types(found: Iterable[str], extra_trusted: Iterable[str] = ()) -> list[str]:
    """The names in ``found`` (from ``skops.io.get_untrusted_types``) siklus refuses."""
    extra = set(extra_trusted)
    return [t for t in found if t not in extra and not is_trusted(t)]


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        yield from obj.values()
        if isinstance(obj, defaultdict):  # called on a missing key
            yield obj.default_factory
    elif isinstance(obj, list | tuple | set | frozenset):
        yield from obj
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            yield from obj.ravel()
    else:
        if hasattr(obj, "__dict__"):
            yield from vars(obj).values()
        for cls in type(obj).__mro__:  # attributes skops set in slots
            slots = vars(cls).get("__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                if slot not in ("__dict__", "__weakref__"):
                    yield getattr(obj, slot, None)


def _walk(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through attributes and containers, once."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, str | bytes | int | float | bool | type(None)):
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(_children(obj))


def _check_nodes(left: np.ndarray, right: np.ndarray, feature: np.ndarray, leaf: np.ndarray,
                 n_features: int | None, what: str) -> None:  # fmt: skip
    count = len(left)
    index = np.arange(count)
    inner = ~leaf
    bad = inner & ((left <= index) | (left >= count) | (right <= index) | (right >= count))
    if n_features is not None:
        bad |= inner & ((feature < 0) | (feature >= n_features))
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        raise UntrustedModel(
            f"The model file holds a corrupt {what}: node {node} of {count} points at child "
            f"nodes ({int(left[node])}, {int(right[node])}) or feature {int(feature[node])} "
            "that do not exist in it. scikit-learn would follow these indices without bounds "
            "checks; the file was damaged or crafted. Re-train or restore the model."
        )


def _width(obj: Any) -> int | None:
    """The input width scikit-learn checks ``obj``'s input against, if it records one."""
    n_features = getattr(obj, "n_features_in_", None)
    return int(n_features) if isinstance(n_features, int | np.integer) else None


def _members(estimators: Any) -> Iterator[Any]:
    """The estimators of an ensemble (a list, a list of lists, or an object array)."""
    if isinstance(estimators, np.ndarray) and estimators.dtype == object:
        yield from estimators.ravel()
    elif isinstance(estimators, list | tuple):
        for member in estimators:
            yield from _members(member) if isinstance(member, list | tuple) else (member,)


def _tree_widths(root: Any) -> dict[int, int]:
    """The input width each tree (by id) is walked with, as scikit-learn checks it.

    A tree's width is its estimator's ``n_features_in_`` (what ``predict`` checks, also
    inside forests, bagging and isolation forests), lowered to the ensemble's for the
    trees of gradient boosting (which walks its trees without asking them). A
    histogram-gradient-boosting predictor's width is its estimator's. A tree reached
    without any of these gets none, and is refused.
    """
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    widths: dict[int, int] = {}

    def lower(key: int, width: int | None) -> None:
        if width is not None:
            widths[key] = min(widths.get(key, width), width)

    for obj in _walk(root):
        tree, width = getattr(obj, "tree_", None), _width(obj)
        if isinstance(tree, Tree) and width is not None:
            lower(id(tree), width)
        members = getattr(obj, "estimators_", None)
        if width is not None and members is not None and isinstance(obj, BaseGradientBoosting):
            # Only gradient boosting walks its trees unasked; forests, bagging, chains
            # (whose trees see extra columns) and the rest let each tree check its input.
            for member in _members(members):
                if isinstance(getattr(member, "tree_", None), Tree):
                    lower(id(member.tree_), width)
        predictors = getattr(obj, "_predictors", None)
        if width is not None and isinstance(predictors, list):
            for step in predictors:
                for predictor in step if isinstance(step, list | tuple) else ():
                    if isinstance(predictor, TreePredictor):
                        lower(id(predictor), width)
    return widths


def _no_width(what: str) -> UntrustedModel:
    return UntrustedModel(
        f"The model file holds a {what} outside any fitted estimator that records its "
        "number of input features (n_features_in_), so its feature indices cannot be "
        "checked; scikit-learn would follow them without bounds checks. The file was "
        "damaged or crafted. Re-train or restore the model."
    )


def check_tree_indices(estimator: Any) -> None:
    """Refuse a loaded model whose tree nodes point outside their tree (see module doc).

    Raises:
        UntrustedModel: A decision tree or histogram-gradient-boosting predictor has a
            child index that is not a later node of its tree, a feature index outside
            the input its estimator checks at prediction, or no such estimator; or a
            KD/ball tree of a neighbours model indexes outside its points or nodes.
    """
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import TREE_LEAF, Tree

    check_bound_calls(estimator)
    widths = _tree_widths(estimator)
    for obj in _walk(estimator):
        if isinstance(obj, Tree):
            if id(obj) not in widths:
                raise _no_width("decision tree")
            left, right = obj.children_left, obj.children_right
            leaf = (left == TREE_LEAF) & (right == TREE_LEAF)
            width = min(int(obj.n_features), widths[id(obj)])
            _check_nodes(left, right, obj.feature, leaf, width, "decision tree")
        elif isinstance(obj, TreePredictor):
            if id(obj) not in widths:
                raise _no_width("gradient-boosting tree")
            nodes = obj.nodes
            leaf = nodes["is_leaf"].astype(bool)
            _check_nodes(
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                nodes["feature_idx"].astype(np.int64),
                leaf,
                widths[id(obj)],
                "gradient-boosting tree",
            )
            _check_bitsets(obj, leaf)
        elif _is_binary_tree(obj):
            _check_binary_tree(obj)


#: Keywords ``partial(check_array, ...)`` may bind: what scikit-learn binds (``dtype``,
#: ``ensure_all_finite``) and check_array's other options; never its input.
_CHECK_ARRAY_KEYWORDS: frozenset[str] = frozenset(
    {"accept_sparse", "accept_large_sparse", "dtype", "order", "copy", "force_writeable",
     "ensure_all_finite", "force_all_finite", "ensure_non_negative", "ensure_2d",
     "allow_nd", "ensure_min_samples", "ensure_min_features", "estimator", "input_name"}
)  # fmt: skip


def _bound_call(what: str) -> UntrustedModel:
    return UntrustedModel(
        f"The model file holds {what}. A model file may bind arguments only as "
        "scikit-learn does (partial(check_array, dtype=..., ensure_all_finite=...)); "
        "this would call a function with values of the file at prediction. The file was "
        "crafted or comes from elsewhere; load only models you trust."
    )


def check_bound_calls(estimator: Any) -> None:
    """Refuse calls whose arguments come from the file, beyond what scikit-learn stores.

        A ``functools.partial`` (trusted for ``HistGradientBoosting``'s
        ``partial(check_array, ...)``) of ``check_array`` binds no positional argument and
        only check_array's options; one of a ufunc or a class (trusted by default, to be
        *stored*, not to be called with the file's arguments) is refused. A partial of any
        other function loads only when the caller named that function as extra trusted, and
        then stands. A ``FunctionTransformer``'s function is not a class (trusted to be stored,
    a class would be built with the file's keyword arguments at every transform), and its
    keyword arguments must not hold ``out``: a
        ufunc (trusted as arithmetic) given ``out=`` writes its result into any array the
        file names, also one of the model's own after the load-time checks here passed.

        Raises:
            UntrustedModel: Any of these.
    """
    from functools import partial

    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils.validation import check_array

    for obj in _walk(estimator):
        if isinstance(obj, partial):
            func = getattr(obj.func, "__name__", type(obj.func).__name__)
            if isinstance(obj.func, np.ufunc | type | partial):
                raise _bound_call(f"a partial of {func}")
            extra = sorted(set(obj.keywords) - _CHECK_ARRAY_KEYWORDS)
            if obj.func is check_array and (obj.args or extra):
                bound = f"{len(obj.args)} positional argument(s)" if obj.args else extra
                raise _bound_call(f"a partial of check_array binding {bound}")
        elif isinstance(obj, FunctionTransformer):
            for name in ("func", "inverse_func"):
                if isinstance(getattr(obj, name, None), type):
                    raise _bound_call(
                        f"a FunctionTransformer whose {name} is a class (it would be built "
                        "with the file's arguments at every transform)"
                    )
            for name in ("kw_args", "inv_kw_args"):
                keywords = getattr(obj, name, None)
                if isinstance(keywords, dict) and "out" in keywords:
                    raise _bound_call(
                        f"a FunctionTransformer whose {name} hold out= (its function would "
                        "write into an array of the file)"
                    )


def _is_binary_tree(obj: Any) -> bool:
    """A ``KDTree`` or ``BallTree`` (of nearest-neighbour models)."""
    cls = type(obj)
    return cls.__module__.startswith("sklearn.neighbors.") and any(
        base.__name__.startswith("BinaryTree") for base in cls.__mro__
    )


def _check_binary_tree(tree: Any) -> None:
    """Refuse a KD or ball tree whose indices point outside its points or nodes.

    Queries follow ``idx_array`` into the points, each node's ``idx_start:idx_end`` into
    ``idx_array``, and an inner node ``i`` to nodes ``2i+1`` and ``2i+2``, all without
    bounds checks.
    """
    state = tree.__getstate__()
    data, idx, nodes, bounds = state[0], state[1], state[2], state[3]
    n_levels, n_nodes, weights = state[5], state[6], state[-1]
    count = len(data) if isinstance(data, np.ndarray) and data.ndim == 2 else -1
    problem = None
    if count < 0 or not isinstance(idx, np.ndarray) or idx.shape != (count,):
        problem = "its point index does not match its points"
    elif count and (idx.min() < 0 or idx.max() >= count):
        problem = "its point index names points it does not hold"
    elif len(nodes) != n_nodes or n_nodes != 2 ** int(n_levels) - 1:
        problem = f"it has {len(nodes)} nodes where its {n_levels} levels make {n_nodes}"
    elif bounds.ndim != 3 or bounds.shape[1:] != (n_nodes, data.shape[1]):
        problem = "its node bounds do not match its nodes"
    elif isinstance(weights, np.ndarray) and weights.shape != (count,):
        problem = "its sample weights do not match its points"
    else:
        start, end = nodes["idx_start"], nodes["idx_end"]
        inner = np.flatnonzero(nodes["is_leaf"] == 0)
        if ((start < 0) | (start > end) | (end > count)).any():
            problem = "a node names points past the end of its point index"
        elif len(inner) and 2 * int(inner.max()) + 2 >= n_nodes:
            problem = "an inner node has children past its last node"
    if problem is not None:
        raise UntrustedModel(
            f"The model file holds a corrupt {type(tree).__name__}: {problem}. "
            "scikit-learn would follow these indices without bounds checks; the file was "
            "damaged or crafted. Re-train or restore the model."
        )


def _check_bitsets(predictor: Any, leaf: np.ndarray) -> None:
    """A categorical split's bitset row exists (scikit-learn reads it unchecked)."""
    nodes = predictor.nodes
    categorical = ~leaf & nodes["is_categorical"].astype(bool)
    if not categorical.any():
        return
    rows = []
    for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        bitsets = getattr(predictor, name, None)
        ok = isinstance(bitsets, np.ndarray) and bitsets.ndim == 2 and bitsets.shape[1] == 8
        rows.append(len(bitsets) if ok else 0)
    index = nodes["bitset_idx"].astype(np.int64)
    bad = categorical & ((index < 0) | (index >= min(rows)))
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        raise UntrustedModel(
            f"The model file holds a corrupt gradient-boosting tree: categorical node {node} "
            f"points at category set {int(index[node])}, which does not exist in it. "
            "scikit-learn would read it without bounds checks; the file was damaged or "
            "crafted. Re-train or restore the model."
        )


__all__ = ["TRUSTED_MODULE_PREFIXES", "TRUSTED_NAMES", "check_bound_calls",
           "check_tree_indices", "is_trusted", "refused_types"]  # fmt: skip
