"""Masks keep the format; hashes are keyed (HMAC-SHA256) and repeatable."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from siklus.data.pii import hash_value, mask_value, redact_text
from siklus.exceptions import InvalidParameter


@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("john.doe@example.com", "email", "j***@e***.com"),
        ("a@mail.example.co.id", "email", "a***@m***.id"),
        ("4111 1111 1111 1234", "credit_card", "**** **** **** 1234"),
        ("4111111111111234", "credit_card", "************1234"),
        ("+62 812-3456-7890", "phone", "+** ***-****-**90"),
        ("(212) 555-0123", "phone", "(***) ***-**23"),
        ("123-45-6789", "id_ssn", "***-**-6789"),
        ("3201234506780001", "id_nik", "************0001"),
        ("192.168.1.23", "ipv4", "192.*.*.*"),
        ("2001:db8:85a3::8a2e:370:7334", "ipv6", "2001:*:*::*:*:*"),
        ("Mary-Jane O'Neil", "person_name", "M***-J*** O'N***"),
        ("secret-42", None, "s*****-**"),
    ],
)
def test_masks_keep_the_format(value, kind, masked):
    assert mask_value(value, kind) == masked


def test_hash_is_hmac_sha256_and_repeatable():
    expected = hmac.new(b"pepper", b"a@b.com", hashlib.sha256).hexdigest()
    assert hash_value("a@b.com", "pepper") == expected
    assert hash_value("a@b.com", b"pepper") == expected
    assert hash_value("a@b.com", "salt2") != expected
    assert hash_value("a@b.com", "pepper") != hashlib.sha256(b"a@b.com").hexdigest()
    with pytest.raises(InvalidParameter, match="secret salt"):
        hash_value("a@b.com", "")


def test_redact_text_changes_only_the_personal_parts():
    text = "call +62 812 3456 789 or write a@b.co, order ORD-1"
    assert redact_text(text, "mask") == "call +** *** **** *89 or write a***@b***.co, order ORD-1"
    hashed = redact_text(text, "hash", salt="k")
    assert hashed.startswith("call " + hash_value("+62 812 3456 789", "k") + " or write ")
    assert redact_text("nothing here", "mask") == "nothing here"
    assert redact_text("John Smith", "mask", kind="person_name", whole=True) == "J*** S****"
    assert redact_text("John Smith", "hash", salt="k", whole=True) == hash_value("John Smith", "k")
    with pytest.raises(InvalidParameter, match="'mask' or 'hash'"):
        redact_text("x", "drop")
