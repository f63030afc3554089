"""What a data-quality check reports: one result per rule and an overall verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule.

    Attributes:
        index: Position of the rule in its rule set.
        name: The rule's label (``name``, or ``type(column)``).
        type: The rule type (``range``, ``uniqueness``, …).
        severity: ``error`` (fails the check) or ``warning`` (reported only).
        passed: Whether the data satisfies the rule.
        offending_rows: Rows that break the rule; None for whole-dataset rules
            (``row_count``, ``freshness``).
        rows: Rows in the dataset.
        observed: The measured value: a fraction, a count, or the newest time and its age.
        expected: The requirement, in words (``"in [0, 120]"``).
        message: One sentence with what was found, pass or fail.
        sample: Up to five offending rows as ``{"row": position or None, "values": {...}}``.
    """

    index: int
    name: str
    type: str
    severity: str
    passed: bool
    offending_rows: int | None
    rows: int
    observed: Any
    expected: str
    message: str
    sample: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CheckReport:
    """Every rule's result against one dataset version, and the verdict.

    Attributes:
        dataset: ``name:version`` checked.
        dataset_id: Its id.
        sha256: Hash of its Parquet file.
        ruleset: The rule set's name.
        rows: Rows in the dataset.
        passed: True unless an ``error``-severity rule failed.
        checked_at: When the check ran (ISO 8601, UTC).
        now: The reference time of freshness rules (ISO 8601, UTC).
        results: One :class:`RuleResult` per rule, in rule-set order.
    """

    dataset: str
    dataset_id: str
    sha256: str
    ruleset: str
    rows: int
    passed: bool
    checked_at: str
    now: str
    results: list[RuleResult]

    @property
    def failed_errors(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def failed_warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warning"]

    def result(self, name: str) -> RuleResult:
        """The result of the rule labelled ``name`` (KeyError when there is none)."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        return cls(**{**data, "results": [RuleResult(**r) for r in data["results"]]})


__all__ = ["CheckReport", "RuleResult"]
