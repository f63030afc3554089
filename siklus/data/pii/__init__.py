"""Personal data (PII): find it in a dataset's columns, then mask, hash or drop it.

Detected kinds: ``email``, ``phone`` (E.164 and common local formats), ``credit_card``
(Luhn-checked, known networks), ``ipv4``, ``ipv6``, ``id_ssn`` (US Social Security
numbers), ``id_nik`` (Indonesian 16-digit NIK) and ``person_name`` (by column name plus
value shape). Limits and tricky cases are documented in docs/data-quality.md.

Example:
    >>> from siklus.data.pii import redact_pii, scan_pii
    >>> report = scan_pii(ctx, "customers")  # doctest: +SKIP
    >>> safe = redact_pii(ctx, "customers", action="hash", salt=secret)  # doctest: +SKIP

The value-level functions (:func:`find_pii`, :func:`mask_value`, :func:`hash_value`,
:func:`redact_text`, :func:`scan_values`) work on plain strings, for recipe steps and
anything else that holds values in memory.
"""

from siklus.data.pii._detect import (
    KINDS,
    PiiMatch,
    card_network,
    find_pii,
    is_credit_card,
    is_nik,
    is_phone,
    is_ssn,
    luhn_valid,
)
from siklus.data.pii._mask import ACTIONS, check_salt, hash_value, mask_value, redact_text
from siklus.data.pii._names import is_name_column, is_version_column, looks_like_name
from siklus.data.pii._redact import ALL_KINDS, plan_actions, redact_pii
from siklus.data.pii._scan import PiiColumn, PiiReport, scan_pii, scan_values

__all__ = [
    "ACTIONS",
    "ALL_KINDS",
    "KINDS",
    "PiiColumn",
    "PiiMatch",
    "PiiReport",
    "card_network",
    "check_salt",
    "find_pii",
    "hash_value",
    "is_credit_card",
    "is_name_column",
    "is_nik",
    "is_phone",
    "is_ssn",
    "is_version_column",
    "looks_like_name",
    "luhn_valid",
    "mask_value",
    "plan_actions",
    "redact_pii",
    "redact_text",
    "scan_pii",
    "scan_values",
]
