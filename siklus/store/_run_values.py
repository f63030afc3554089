"""What a run may hold: key names, param values, metric values, and how they are stored.

The tracking API checks values when they are logged (so an error points at the caller's
line, not at a background flush) and the store checks them again before writing (so no
other writer can store what a filter cannot read back). Both use these functions.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

from siklus.exceptions import InvalidParameter

#: Longest metric, param or tag key; long enough for ``"validation/per_class/f1/…"``.
MAX_KEY_LENGTH = 250
#: Longest param or tag value kept as text; a longer value is almost always a mistake
#: (a whole config file), and would bloat every search over the runs table.
MAX_VALUE_LENGTH = 6000

_KEY = re.compile(r"[A-Za-z0-9_\-./: ]+")

# JSON has no NaN or infinity. The latest-metrics column keeps NaN as null and ±inf as
# ±DBL_MAX, which still orders and compares like infinity in SQL; reading maps them back.
_INF_SENTINEL = sys.float_info.max


def check_key(kind: str, key: Any) -> str:
    """Return ``key`` if it can name a metric, param or tag, else raise.

    Keys are what filters address (``metrics.val/loss > 0.2``), so they are limited to
    letters, digits, ``_ - . / :`` and spaces.

    Args:
        kind: ``"metric"``, ``"param"`` or ``"tag"`` (for the message).
        key: The key to check.

    Raises:
        InvalidParameter: Not a string, empty, too long, or with other characters.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidParameter(f"A {kind} key must be a non-empty string, got {key!r}.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter(
            f"The {kind} key {key[:40]!r}… is {len(key)} characters long; the limit is "
            f"{MAX_KEY_LENGTH}."
        )
    if not _KEY.fullmatch(key):
        raise InvalidParameter(
            f"The {kind} key {key!r} has characters filters cannot address; use letters, "
            "digits, spaces and _ - . / : only (e.g. 'val/loss')."
        )
    return key


def param_value(key: str, value: Any) -> str | int | float:
    """Return ``value`` as a run keeps it: finite numbers stay numbers, the rest is text.

    Numbers stay numbers so ``params.C > 0.5`` compares numerically. Booleans, None,
    NaN/inf and other objects become ``str(value)``, the text a person would search for.
    NumPy scalars count as numbers.

    Raises:
        InvalidParameter: The text is longer than :data:`MAX_VALUE_LENGTH`.
    """
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalar → Python scalar
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidParameter(
            f"The value of param {key!r} is {len(text)} characters long; the limit is "
            f"{MAX_VALUE_LENGTH}. Log a file with log_artifact() instead."
        )
    return text


def tag_value(key: str, value: Any) -> str:
    """Return ``value`` as text (tags are text, like cost-allocation tags)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidParameter(
            f"The value of tag {key!r} is {len(text)} characters long; the limit is "
            f"{MAX_VALUE_LENGTH}."
        )
    return text


def metric_value(key: str, value: Any) -> float:
    """Return ``value`` as a float (NumPy and other number types included).

    Raises:
        InvalidParameter: Text, or anything ``float()`` does not take.
    """
    if isinstance(value, str | bytes):
        raise InvalidParameter(
            f"Metric {key!r} must be a number, got the text {value!r}; log text as a tag."
        )
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"Metric {key!r} must be a number, got {type(value).__name__} {value!r}."
        ) from None


def metric_step(key: str, step: Any) -> int:
    """Return ``step`` as an int (NumPy integers included)."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise InvalidParameter(f"The step of metric {key!r} must be an integer, got {step!r}.")
    return int(step)


def encode_latest(value: float) -> float | None:
    """A metric value as the latest-metrics JSON column keeps it (see ``_INF_SENTINEL``)."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return _INF_SENTINEL if value > 0 else -_INF_SENTINEL
    return value


def decode_latest(value: float | None) -> float:
    """Undo :func:`encode_latest`."""
    if value is None:
        return math.nan
    if abs(value) == _INF_SENTINEL:
        return math.inf if value > 0 else -math.inf
    return float(value)


__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "check_key",
    "decode_latest",
    "encode_latest",
    "metric_step",
    "metric_value",
    "param_value",
    "tag_value",
]
