"""Feature selection: only the features needed for inference (Data Wrangler's last step).

:func:`select_features` drops constant and near-constant features, one of each highly
correlated pair, and features with little mutual information with the target (or low
random-forest importance), and reports for every dropped feature why, with the number
behind the decision. It can store the selection as a new dataset version.

Example:
    >>> from siklus.data.selection import select_features
    >>> report = select_features(ctx, "bc", target="diagnosis")  # doctest: +SKIP
"""

from siklus.data.selection._prepare import encode_features, infer_task, top_value_share
from siklus.data.selection._report import REASONS, DroppedFeature, SelectionReport
from siklus.data.selection._select import (
    METHODS,
    MIN_MUTUAL_INFO,
    NOISE_PROBES,
    forest_importances,
    mutual_information,
    select_features,
)

__all__ = [
    "METHODS",
    "MIN_MUTUAL_INFO",
    "NOISE_PROBES",
    "REASONS",
    "DroppedFeature",
    "SelectionReport",
    "encode_features",
    "forest_importances",
    "infer_task",
    "mutual_information",
    "select_features",
    "top_value_share",
]
