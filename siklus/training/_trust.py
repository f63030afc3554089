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
- outside them, only the exact names in :data:`TRUSTED_NAMES` (an ``OrderedDict`` is what
  scikit-learn's own objects hold);
- plain Python values skops trusts itself (``dict``, ``list``, numbers, strings).

A trusted type can still hold hostile values. skops leaves ``sklearn.tree._tree.Tree``
untrusted by default for that reason: its node arrays hold child and feature indices
that scikit-learn follows without bounds checks, so a crafted file could crash the
process or read outside memory on the first prediction. siklus trusts trees (every tree
model needs them) and, after loading, checks every tree's indices
(:func:`check_tree_indices`): a child is a later node of the same tree (so no index is
out of range and no walk can loop), a feature is one the tree was fitted on.
"""

from __future__ import annotations

import importlib
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
#: Exact names outside those libraries that a model file may contain.
TRUSTED_NAMES: frozenset[str] = frozenset(
    {"collections.OrderedDict", "collections.Counter", "collections.defaultdict"}
)
#: Classes of trusted libraries that read or write files when constructed.
_FILE_BACKED: tuple[str, ...] = ("numpy.memmap", "numpy.lib.npyio.", "numpy.lib._npyio_impl.")
_FILE_BACKED_MODULES: tuple[str, ...] = ("scipy.io",)


def _resolve(name: str) -> Any:
    """The object a skops type name (``module.Qualified.name``) refers to, or None."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                value = getattr(value, attr)
        except AttributeError:
            return None
        return value
    return None


def is_trusted(name: str) -> bool:
    """Whether a type name found in a model file is on siklus' allow-list."""
    if name in TRUSTED_NAMES:
        return True
    if not name.startswith(TRUSTED_MODULE_PREFIXES) or name.startswith(_FILE_BACKED):
        return False
    value = _resolve(name)
    if isinstance(value, np.ufunc):  # numpy.log1p and the like: arithmetic, nothing else
        return True
    if not isinstance(value, type):
        return False
    if issubclass(value, np.memmap):
        return False
    module = getattr(value, "__module__", "") or ""
    return not module.startswith(_FILE_BACKED_MODULES)


def refused_types(found: Iterable[str], extra_trusted: Iterable[str] = ()) -> list[str]:
    """The names in ``found`` (from ``skops.io.get_untrusted_types``) siklus refuses."""
    extra = set(extra_trusted)
    return [t for t in found if t not in extra and not is_trusted(t)]


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        yield from obj.values()
    elif isinstance(obj, list | tuple | set | frozenset):
        yield from obj
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            yield from obj.ravel()
    elif hasattr(obj, "__dict__"):
        yield from vars(obj).values()


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


def check_tree_indices(estimator: Any) -> None:
    """Refuse a loaded model whose tree nodes point outside their tree (see module doc).

    Raises:
        UntrustedModel: A decision tree or histogram-gradient-boosting predictor has a
            child index that is not a later node of its tree, or a feature index outside
            the features it was fitted on.
    """
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import TREE_LEAF, Tree

    # A histogram-gradient-boosting estimator is visited before its predictors, which do
    # not know how many features there are.
    width: dict[int, int] = {}
    for obj in _walk(estimator):
        predictors = getattr(obj, "_predictors", None)
        n_features = getattr(obj, "n_features_in_", None)
        if isinstance(predictors, list) and isinstance(n_features, int):
            for predictor in (p for step in predictors for p in step):
                width[id(predictor)] = n_features
        if isinstance(obj, Tree):
            left, right = obj.children_left, obj.children_right
            leaf = (left == TREE_LEAF) & (right == TREE_LEAF)
            _check_nodes(left, right, obj.feature, leaf, int(obj.n_features), "decision tree")
        elif isinstance(obj, TreePredictor):
            nodes = obj.nodes
            leaf = nodes["is_leaf"].astype(bool)
            _check_nodes(
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                nodes["feature_idx"].astype(np.int64),
                leaf,
                width.get(id(obj)),
                "gradient-boosting tree",
            )


__all__ = ["TRUSTED_MODULE_PREFIXES", "TRUSTED_NAMES", "check_tree_indices", "is_trusted",
           "refused_types"]  # fmt: skip
