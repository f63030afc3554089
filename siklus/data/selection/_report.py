"""What feature selection reports: the kept features, and why each other one went."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Why a feature was dropped, in the order the checks run.
REASONS = ("constant", "near_constant", "correlated", "low_importance")


@dataclass(frozen=True)
class DroppedFeature:
    """One dropped feature and the evidence.

    Attributes:
        column: The feature.
        reason: One of :data:`REASONS`.
        value: The number behind the decision: the top value's share (constant,
            near-constant), ``|r|`` (correlated) or the importance score (low
            importance).
        threshold: The limit it crossed.
        partner: For ``correlated``, the feature it duplicates (which was kept).
        detail: The decision in one sentence.
    """

    column: str
    reason: str
    value: float
    threshold: float | None
    detail: str
    partner: str | None = None


@dataclass(frozen=True)
class SelectionReport:
    """The outcome of :func:`~siklus.data.selection.select_features`.

    Attributes:
        dataset: ``name:version`` the features came from.
        target: The target column.
        task: ``classification`` or ``regression``.
        method: ``mutual_info`` or ``random_forest`` (the importance step).
        rows: Rows used (those with a target value).
        kept: Selected features, in the dataset's column order.
        dropped: One :class:`DroppedFeature` per removed feature, in decision order.
        mutual_information: Mutual information (nats) of every candidate feature with
            the target, as scikit-learn computes it on the encoded features.
        importances: The scores the importance step ranked by (mutual information, or
            random-forest impurity importances of the features that reached it).
        thresholds: The limits used (``near_constant``, ``correlation``,
            ``min_importance``, ``top_k``).
        output: ``name:version`` of the stored selection, when one was written.
    """

    dataset: str
    target: str
    task: str
    method: str
    rows: int
    kept: list[str]
    dropped: list[DroppedFeature]
    mutual_information: dict[str, float]
    importances: dict[str, float]
    thresholds: dict[str, Any]
    output: str | None = None

    def why(self, column: str) -> DroppedFeature | None:
        """Why ``column`` was dropped, or None if it was kept (or never a candidate)."""
        return next((d for d in self.dropped if d.column == column), None)

    def dropped_for(self, reason: str) -> list[str]:
        return [d.column for d in self.dropped if d.reason == reason]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SelectionReport:
        return cls(**{**data, "dropped": [DroppedFeature(**d) for d in data["dropped"]]})


__all__ = ["REASONS", "DroppedFeature", "SelectionReport"]
