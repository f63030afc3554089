"""Value-level detectors: each kind found, and the tricky look-alikes left alone."""

from __future__ import annotations

import pytest

from siklus.data.pii import card_network, find_pii, is_nik, luhn_valid


def kinds(text: str, **options) -> list[tuple[str, str]]:
    return [(m.kind, m.value) for m in find_pii(text, **options)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("john.doe@example.com", "email"),
        ("siti_n+promo@mail.co.id", "email"),
        ("+62 812-3456-7890", "phone"),
        ("+14155552671", "phone"),  # E.164
        ("+44 20 7946 0958", "phone"),
        ("+1 (212) 555-0123", "phone"),
        ("0812-3456-7890", "phone"),  # Indonesian mobile
        ("08123456789", "phone"),
        ("(021) 555 1234", "phone"),  # Jakarta landline
        ("212-555-0123", "phone"),  # North American
        ("(212) 555-0123", "phone"),
        ("4111 1111 1111 1111", "credit_card"),  # Visa
        ("5555555555554444", "credit_card"),  # Mastercard
        ("378282246310005", "credit_card"),  # Amex, 15 digits
        ("6011-1111-1111-1117", "credit_card"),  # Discover
        ("192.168.1.23", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ipv6"),
        ("::ffff:192.0.2.1", "ipv6"),
        ("fe80::1%eth0", "ipv6"),
        ("123-45-6789", "id_ssn"),
        ("3201234506780001", "id_nik"),  # West Java, woman born 05-06-78
        ("3171014509900003", "id_nik"),
    ],
)
def test_each_kind_is_found_as_a_whole_value(text: str, kind: str):
    assert kinds(text) == [(kind, text)]


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # 16 digits, fails Luhn: not a card
        "1234567812345678",  # fails Luhn and is no NIK (province 12, month 56)
        "9999888877776666",  # no card network, no NIK province
        "4111-1111 1111-1111",  # mixed separators
        "ORD-2024-000123",  # order id
        "INV/2024/01/0001",
        "order 1234567890",  # bare 10 digits: ambiguous with ids, not a phone
        "id 0001234567",  # zero-padded id
        "2024-01-15",  # dates
        "15/01/2024",
        "01-02-2024",
        "2024-01-15T10:30:45",
        "12:30:45",  # a time is not an IPv6 address
        "00:1A:2B:3C:4D:5E",  # a MAC address neither
        "1.2.3",  # a three-part version
        "10.0.19041.1",  # a four-part version with a part > 255
        "v1.2.3.4",
        "256.1.1.1",
        "666-12-3456",  # SSN area 666 is never issued
        "000-12-3456",
        "Rp 1.250.000",
        "1,234.56",
        "temperature 36.6",
        "",
    ],
)
def test_tricky_negatives(text: str):
    assert kinds(text) == []


def test_dotted_quads_are_addresses_unless_the_column_holds_versions():
    assert kinds("1.2.3.4") == [("ipv4", "1.2.3.4")]
    assert kinds("1.2.3.4", ipv4=False) == []


def test_embedded_values_and_overlaps():
    text = "Mail j.doe@example.com, card 4111 1111 1111 1111 or call +62 812 3456 789 today"
    assert kinds(text) == [
        ("email", "j.doe@example.com"),
        ("credit_card", "4111 1111 1111 1111"),
        ("phone", "+62 812 3456 789"),
    ]
    # A card is one card, not also a phone number or a NIK made of its digits.
    assert kinds("4111 1111 1111 1111") == [("credit_card", "4111 1111 1111 1111")]


def test_checksums_and_structure():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert card_network("4111111111111111") == "visa"
    assert card_network("2221000000000009") == "mastercard"
    assert card_network("1234567812345670") is None
    assert is_nik("3201234506780001")
    assert not is_nik("3201234506780000")  # serial 0000
    assert not is_nik("3201234513780001")  # month 13
    assert not is_nik("9901234506780001")  # no province 99
