"""Success criteria ("recall >= 0.90 on test") and the verdict of a model against them.

The business-goal stage writes success criteria into ``siklus.yaml`` before any model
exists; evaluation later turns a model's metrics into a :class:`Verdict` that says, per
criterion, what was required, what was measured and whether it passed. The registry and
pipelines gate on ``Verdict.passed``, so the rules here err on the side of failing: a
metric that is missing or undefined fails its criterion and says why.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

from siklus.exceptions import InvalidParameter

Op = Literal[">=", ">", "<=", "<", "=="]
OPS: tuple[str, ...] = get_args(Op)

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    # Metrics are computed in floating point, so "==" allows rounding noise; it is meant
    # for exact targets such as "accuracy == 1.0", not for comparing arbitrary decimals.
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}

# Metric and split names: identifiers, plus "." to reach nested values such as
# "per_class.malignant.recall" and "-" for labels like "cost-sensitive".
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_PATTERN = re.compile(
    rf"^\s*(?P<metric>{_NAME})\s*(?P<op>>=|<=|==|>|<)\s*(?P<threshold>{_NUMBER})"
    rf"(?:\s+on\s+(?P<split>{_NAME}))?\s*$",
    re.IGNORECASE,
)
_NAME_RE = re.compile(rf"^{_NAME}$")
_EXPECTED_FORM = (
    "expected '<metric> <op> <number> [on <split>]' with op one of >=, >, <=, <, ==, "
    "for example 'recall >= 0.90 on test' or 'rmse < 3.5'"
)


@dataclass(frozen=True)
class Criterion:
    """One success criterion: ``metric op threshold`` measured on ``split``.

    Instances are immutable and compare by value, so a criterion read from
    ``siklus.yaml`` equals the same criterion written in code. ``str(criterion)`` gives
    the text form, which :func:`parse_criterion` reads back to an equal criterion.

    Attributes:
        metric: A key of the metrics dict, such as ``"recall"``, ``"rmse"`` or the dotted
            path ``"per_class.malignant.recall"``.
        op: One of ``>=``, ``>``, ``<=``, ``<``, ``==``.
        threshold: The number the metric is compared with.
        split: The data split whose metrics are checked (default ``"test"``).

    Raises:
        InvalidParameter: A field is empty, malformed or out of range.
    """

    metric: str
    op: Op
    threshold: float
    split: str = "test"

    def __post_init__(self) -> None:
        for field in ("metric", "split"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _NAME_RE.match(value):
                raise InvalidParameter(
                    f"Criterion {field} {value!r} is not a valid name; use letters, digits, "
                    "'_', '.' or '-', starting with a letter, for example 'recall'."
                )
        if self.op not in OPS:
            raise InvalidParameter(
                f"Criterion op {self.op!r} is not supported; use one of {', '.join(OPS)}."
            )
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise InvalidParameter(
                f"Criterion threshold {threshold!r} is not a number; write it as e.g. 0.9."
            )
        if not math.isfinite(threshold):
            raise InvalidParameter(
                f"Criterion threshold {threshold!r} is not finite; use a real number."
            )
        # Store ints as floats so that 1 and 1.0 give equal criteria and equal YAML.
        object.__setattr__(self, "threshold", float(threshold))

    def __str__(self) -> str:
        # repr() of a float is the shortest text that reads back to the same float.
        return f"{self.metric} {self.op} {self.threshold!r} on {self.split}"

    def check(self, value: float) -> bool:
        """Return whether a measured ``value`` meets this criterion."""
        return _COMPARE[self.op](float(value), self.threshold)


def parse_criterion(text: str) -> Criterion:
    """Parse a criterion written as text.

    Args:
        text: ``"<metric> <op> <number> [on <split>]"``, e.g. ``"recall >= 0.90 on
            test"``, ``"rmse < 3.5 on validation"`` or ``"f1>=0.8"``. The split defaults to
            ``"test"``.

    Returns:
        The parsed :class:`Criterion`.

    Raises:
        InvalidParameter: The text does not have that form; the message quotes it.

    Example:
        >>> parse_criterion("recall >= 0.90 on test")
        Criterion(metric='recall', op='>=', threshold=0.9, split='test')
    """
    if not isinstance(text, str):
        raise InvalidParameter(f"A criterion must be text, got {text!r}; {_EXPECTED_FORM}.")
    match = _PATTERN.match(text)
    if match is None:
        hint = ""
        if re.search(r"(?<![<>=!])=(?!=)|=>|=<", text):
            hint = " (write '>=' or '<=' for bounds and '==' for equality)"
        raise InvalidParameter(f"Cannot parse criterion {text!r}{hint}; {_EXPECTED_FORM}.")
    return Criterion(
        metric=match.group("metric"),
        op=cast(Op, match.group("op")),
        threshold=float(match.group("threshold")),
        split=match.group("split") or "test",
    )


def as_criterion(value: Criterion | str | Mapping[str, Any]) -> Criterion:
    """Accept a criterion in any of the forms a user may write it.

    ``siklus.yaml`` allows both ``- recall >= 0.9 on test`` and a mapping with the four
    fields; API callers may also pass a ready :class:`Criterion`.

    Args:
        value: A :class:`Criterion`, its text form, or a mapping with ``metric``, ``op``,
            ``threshold`` and optionally ``split``.

    Returns:
        The criterion.

    Raises:
        InvalidParameter: The value is none of those forms or does not validate.
    """
    if isinstance(value, Criterion):
        return value
    if isinstance(value, str):
        return parse_criterion(value)
    if isinstance(value, Mapping):
        allowed = {"metric", "op", "threshold", "split"}
        unknown = sorted(str(k) for k in value if k not in allowed)
        missing = sorted(k for k in allowed - {"split"} if k not in value)
        if unknown or missing:
            problems = []
            if unknown:
                problems.append(f"unknown keys {unknown}")
            if missing:
                problems.append(f"missing keys {missing}")
            raise InvalidParameter(
                f"Criterion mapping {dict(value)!r} has {' and '.join(problems)}; expected "
                "keys metric, op, threshold and optionally split."
            )
        return Criterion(**{str(k): v for k, v in value.items()})
    raise InvalidParameter(
        f"A criterion must be text or a mapping, got {value!r}; {_EXPECTED_FORM}."
    )


@dataclass(frozen=True)
class CriterionResult:
    """The outcome of one criterion.

    Attributes:
        metric: The metric the criterion names.
        op: The comparison.
        threshold: The required value.
        split: The split the metric was read from.
        actual: The measured value, or ``None`` when it is missing or undefined.
        passed: Whether the measured value meets the criterion.
        reason: Why a criterion failed without a comparison (missing split or metric,
            undefined value); empty otherwise.
    """

    metric: str
    op: str
    threshold: float
    split: str
    actual: float | None
    passed: bool
    reason: str = ""

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        actual = "n/a" if self.actual is None else f"{self.actual:.4g}"
        text = f"{status} {self.metric} {self.op} {self.threshold:g} on {self.split}"
        text += f" (actual {actual})"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(frozen=True)
class Verdict:
    """Whether a model meets every success criterion.

    Attributes:
        results: One :class:`CriterionResult` per criterion, in the order given.
    """

    results: tuple[CriterionResult, ...]

    @property
    def passed(self) -> bool:
        """True when every criterion passed (and vacuously when there are none)."""
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> tuple[CriterionResult, ...]:
        """The criteria that did not pass, for reports and error messages."""
        return tuple(result for result in self.results if not result.passed)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"passed": bool, "criteria": [...]}``, ready for ``json.dumps``."""
        return {"passed": self.passed, "criteria": [asdict(r) for r in self.results]}

    def __str__(self) -> str:
        head = "PASSED" if self.passed else "FAILED"
        return "\n".join([head, *(f"  {result}" for result in self.results)])


def evaluate_criteria(
    criteria: Iterable[Criterion | str | Mapping[str, Any]],
    metrics_by_split: Mapping[str, Mapping[str, Any]],
) -> Verdict:
    """Check metrics against success criteria.

    Args:
        criteria: Criteria in any form :func:`as_criterion` accepts.
        metrics_by_split: Metrics dicts (as returned by :func:`classification_metrics`
            or :func:`regression_metrics`) keyed by split name, e.g. ``{"test": {...}}``.

    Returns:
        The :class:`Verdict`. A criterion whose split or metric is absent, or whose value
        is ``None`` or not a number, fails with a reason that lists what is available, so
        that a typo in ``siklus.yaml`` cannot let a model through.

    Raises:
        InvalidParameter: A criterion does not parse.

    Example:
        >>> verdict = evaluate_criteria(["recall >= 0.9"], {"test": {"recall": 0.93}})
        >>> verdict.passed
        True
    """
    results = [_evaluate_one(as_criterion(c), metrics_by_split) for c in criteria]
    return Verdict(results=tuple(results))


def _evaluate_one(
    criterion: Criterion, metrics_by_split: Mapping[str, Mapping[str, Any]]
) -> CriterionResult:
    def fail(reason: str, actual: float | None = None) -> CriterionResult:
        return CriterionResult(
            criterion.metric,
            criterion.op,
            criterion.threshold,
            criterion.split,
            actual,
            False,
            reason,
        )

    metrics = metrics_by_split.get(criterion.split)
    if metrics is None:
        available = ", ".join(sorted(metrics_by_split)) or "none"
        return fail(f"no metrics for split {criterion.split!r}; available splits: {available}")
    found, value = _lookup(metrics, criterion.metric)
    if not found:
        available = ", ".join(_numeric_names(metrics)) or "none"
        return fail(
            f"metric {criterion.metric!r} is missing from the {criterion.split} metrics; "
            f"available metrics: {available}"
        )
    if value is None:
        notes = metrics.get("notes") or []
        detail = f" ({'; '.join(map(str, notes))})" if notes else ""
        return fail(f"metric {criterion.metric!r} is undefined on this split{detail}")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return fail(f"metric {criterion.metric!r} is not a number: {value!r}")
    actual = float(value)
    return CriterionResult(
        criterion.metric,
        criterion.op,
        criterion.threshold,
        criterion.split,
        actual,
        criterion.check(actual),
    )


def _lookup(metrics: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """Find ``name`` directly, else as a dotted path into nested dicts."""
    if name in metrics:
        return True, metrics[name]
    current: Any = metrics
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _numeric_names(metrics: Mapping[str, Any]) -> list[str]:
    return sorted(
        name
        for name, value in metrics.items()
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    )
