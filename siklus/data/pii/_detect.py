"""Find personal data inside one text value: the value-level detectors.

Each kind has a candidate regular expression and a validator, because a pattern alone
flags order numbers, dates and version strings. A candidate counts only if it passes
its validator: the Luhn checksum and a known card-network prefix for payment cards,
Python's :mod:`ipaddress` parser for IP addresses, the structure of the number for
national IDs. Overlapping candidates are resolved by a fixed priority (email, IPv6,
IPv4, card, NIK, SSN, phone), so ``4111 1111 1111 1111`` is one card, not a phone.

What is deliberately *not* detected (documented in docs/data-quality.md): bare 10-digit
numbers without a ``+``, a leading ``0`` or separators (indistinguishable from ids),
SSNs written without dashes, and names inside free text (see :mod:`._names` for name
columns).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

#: Every kind this module can report, in overlap-resolution priority order.
KINDS = ("email", "ipv6", "ipv4", "credit_card", "id_nik", "id_ssn", "phone")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[\w.]+)?(?![\w:])"
)
# 12-19 digits, optionally in groups separated by single spaces or dashes.
_CARD = re.compile(r"(?<![\w-])\d{4}(?:[ -]?\d{2,7}){2,4}(?![\w-])")
_NIK = re.compile(r"(?<![\w.-])\d{16}(?![\w.-])")
_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
# International: "+", country code, then digit groups with single separators.
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w-])")
# Local with a trunk "0": 0812-3456-7890, (021) 555 1234, 08123456789.
_PHONE_TRUNK = re.compile(r"(?<![\w+])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ .-]?\d{2,5}){1,4}(?![\w-])")
# North American: (212) 555-0123, 212-555-0123, 212.555.0123.
_PHONE_NANP = re.compile(r"(?<![\w+])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[.-])\d{3}[.-]\d{4}(?![\w-])")

# Indonesian province codes (first two digits of a NIK), as of 2024.
_NIK_PROVINCES = frozenset(
    {
        11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
        61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
    }
)  # fmt: skip


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data found in a text: ``text[start:end]`` is of ``kind``."""

    kind: str
    start: int
    end: int
    value: str


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number satisfies."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The card network of a number by its prefix (IIN) and length, or None."""
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649) and 16 <= n <= 19:
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    return None


def is_credit_card(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    if " " in text and "-" in text:  # mixed separators: not how cards are written
        return False
    return card_network(digits) is not None and luhn_valid(digits)


def is_nik(digits: str) -> bool:
    """Indonesian NIK: province, regency, district, birth date (day + 40 for women), serial."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    province, regency, district = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    day, month, serial = int(digits[6:8]), int(digits[8:10]), int(digits[12:])
    day = day - 40 if day > 40 else day
    return (
        province in _NIK_PROVINCES
        and regency > 0
        and district > 0
        and 1 <= day <= 31
        and 1 <= month <= 12
        and serial > 0
    )


def is_ssn(area: str, group: str, serial: str) -> bool:
    """US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def is_phone(text: str) -> bool:
    """A plausible phone number: 8-15 digits (E.164), balanced parentheses."""
    digits = re.sub(r"\D", "", text)
    if text.count("(") != text.count(")"):
        return False
    if text.startswith("+"):
        return 8 <= len(digits) <= 15
    if digits.startswith("0"):
        # "00…" is an international prefix or a zero-padded id: too ambiguous.
        return 9 <= len(digits) <= 13 and digits[1] != "0"
    return len(digits) == 10  # NANP


def _is_ip(text: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return address.version == version


def _candidates(text: str, ipv4: bool) -> list[PiiMatch]:
    found: list[PiiMatch] = []

    def add(kind: str, match: re.Match[str]) -> None:
        found.append(PiiMatch(kind, match.start(), match.end(), match.group()))

    if "@" in text:
        for m in _EMAIL.finditer(text):
            add("email", m)
    if ":" in text:
        for m in _IPV6.finditer(text):
            if any(c.isalnum() for c in m.group()) and _is_ip(m.group(), 6):
                add("ipv6", m)
    if not any(c.isdigit() for c in text):
        return found
    if ipv4:
        for m in _IPV4.finditer(text):
            if _is_ip(m.group(), 4):
                add("ipv4", m)
    for m in _CARD.finditer(text):
        if is_credit_card(m.group()):
            add("credit_card", m)
    for m in _NIK.finditer(text):
        if is_nik(m.group()):
            add("id_nik", m)
    for m in _SSN.finditer(text):
        if is_ssn(*m.groups()):
            add("id_ssn", m)
    for pattern in (_PHONE_INTL, _PHONE_TRUNK, _PHONE_NANP):
        for m in pattern.finditer(text):
            if is_phone(m.group()):
                add("phone", m)
    return found


def find_pii(text: str, *, ipv4: bool = True) -> list[PiiMatch]:
    """Every piece of personal data in ``text``, left to right, without overlaps.

    Example:
        >>> [m.kind for m in find_pii("mail j.doe@example.com or call +62 812-3456-7890")]
        ['email', 'phone']
        >>> find_pii("order 4111111111111112")  # 16 digits, fails Luhn: not a card
        []

    Args:
        text: One value.
        ipv4: Look for IPv4 addresses; off for columns of version numbers, where
            ``1.2.3.4`` is a version, not an address.
    """
    candidates = _candidates(text, ipv4)
    priority = {kind: i for i, kind in enumerate(KINDS)}
    candidates.sort(key=lambda m: (priority[m.kind], -(m.end - m.start), m.start))
    chosen: list[PiiMatch] = []
    for match in candidates:
        if all(match.end <= c.start or match.start >= c.end for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


__all__ = [
    "KINDS",
    "PiiMatch",
    "card_network",
    "find_pii",
    "is_credit_card",
    "is_nik",
    "is_phone",
    "is_ssn",
    "luhn_valid",
]
