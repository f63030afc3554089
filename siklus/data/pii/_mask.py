"""Turn personal data into something safe to keep: a format-keeping mask or a keyed hash.

* **mask** hides most characters but keeps the shape, so a person can still see what
  kind of value was there (``j***@e***.com``, ``**** **** **** 1234``). Masks are not
  reversible and not unique: use them for display and sharing.
* **hash** is HMAC-SHA256 with a secret salt: the same value and salt always give the
  same 64 hex characters, so hashed columns still join and group, but without the salt
  nobody can test guesses (a plain SHA-256 of a phone number is broken by enumerating
  all phone numbers).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from siklus.data.pii._detect import find_pii
from siklus.exceptions import InvalidParameter

ACTIONS = ("mask", "hash", "drop", "keep")


def _stars(text: str) -> str:
    return "*" * len(text)


def _mask_digits(text: str, keep_last: int) -> str:
    """Replace digits with ``*`` except the last ``keep_last``; separators stay."""
    total = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for char in text:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - keep_last else "*")
        else:
            out.append(char)
    return "".join(out)


def _mask_email(text: str) -> str:
    local, _, domain = text.rpartition("@")
    labels = domain.split(".")
    return f"{local[:1]}***@{labels[0][:1]}***.{labels[-1]}"


def _mask_ipv4(text: str) -> str:
    first, *rest = text.split(".")
    return ".".join([first, *("*" for _ in rest)])


def _mask_ipv6(text: str) -> str:
    groups = text.split(":")
    first = next((i for i, g in enumerate(groups) if g), None)
    return ":".join(g if i == first or not g else "*" for i, g in enumerate(groups))


def _mask_name(text: str) -> str:
    return re.sub(r"[^\W\d_]+", lambda m: m.group()[0] + _stars(m.group()[1:]), text)


def _mask_generic(text: str) -> str:
    """Keep the first character; every other letter or digit becomes ``*``."""
    return text[:1] + re.sub(r"[^\W_]", "*", text[1:])


_MASKS = {
    "email": _mask_email,
    "credit_card": lambda t: _mask_digits(t, 4),
    "phone": lambda t: _mask_digits(t, 2),
    "id_ssn": lambda t: _mask_digits(t, 4),
    "id_nik": lambda t: _mask_digits(t, 4),
    "ipv4": _mask_ipv4,
    "ipv6": _mask_ipv6,
    "person_name": _mask_name,
}


def mask_value(text: str, kind: str | None = None) -> str:
    """Mask one piece of personal data of ``kind``, keeping its format.

    Example:
        >>> mask_value("john.doe@example.com", "email")
        'j***@e***.com'
        >>> mask_value("4111 1111 1111 1234", "credit_card")
        '**** **** **** 1234'

    Args:
        text: The value (the matched part, not the whole cell, for embedded data).
        kind: A kind from :data:`~siklus.data.pii.KINDS` or ``person_name``; None or
            unknown masks generically (first character kept).
    """
    return _MASKS.get(kind or "", _mask_generic)(text)


def check_salt(salt: str | bytes | None) -> bytes:
    """The salt as bytes; refuse a missing or empty one (a hash without it is guessable).

    Raises:
        InvalidParameter: No salt was given.
    """
    if not salt:
        raise InvalidParameter(
            "Hashing personal data needs a secret salt: pass salt=... (CLI: --salt or "
            "--salt-file). Keep it secret and reuse it to get the same hashes again."
        )
    return salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)


def hash_value(text: str, salt: str | bytes) -> str:
    """HMAC-SHA256 of ``text`` keyed with ``salt``, as 64 hex characters.

    Example:
        >>> hash_value("a@b.com", "s3cret") == hash_value("a@b.com", "s3cret")
        True
    """
    return hmac.new(check_salt(salt), text.encode("utf-8"), hashlib.sha256).hexdigest()


def redact_text(
    text: str,
    action: str,
    *,
    kind: str | None = None,
    salt: str | bytes | None = None,
    ipv4: bool = True,
    whole: bool = False,
) -> str:
    """Mask or hash the personal data in one value.

    Only the detected parts change (``"call +62 812 3456 789 today"`` keeps its words);
    with ``whole`` (name columns, columns named explicitly) the entire value is treated
    as one piece of data of ``kind``.

    Args:
        text: The value.
        action: ``mask`` or ``hash``.
        kind: The column's kind, used when ``whole``.
        salt: Required for ``hash``.
        ipv4: Passed to :func:`~siklus.data.pii.find_pii`.
        whole: Redact the whole value instead of the detected parts.
    """
    if action not in ("mask", "hash"):
        raise InvalidParameter(f"redact_text action must be 'mask' or 'hash', got {action!r}.")

    def one(part: str, part_kind: str | None) -> str:
        return mask_value(part, part_kind) if action == "mask" else hash_value(part, salt or b"")

    if whole:
        return one(text, kind)
    matches = find_pii(text, ipv4=ipv4)
    if not matches:
        return text
    out, at = [], 0
    for match in matches:
        out += [text[at : match.start], one(match.value, match.kind)]
        at = match.end
    out.append(text[at:])
    return "".join(out)


__all__ = ["ACTIONS", "check_salt", "hash_value", "mask_value", "redact_text"]
