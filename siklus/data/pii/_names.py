"""Person-name columns: recognised by the column's name *and* the shape of its values.

A value such as "Blue Widget" or "Jakarta" looks exactly like a name, so values alone
cannot tell a person's name from a product or a city. A column is treated as names only
when its name says so (``name``, ``first_name``, ``nama``, ``customerName`` …, but not
``product_name`` or ``file_name``) and most of its values have the shape of a name:
one to five words of letters, with apostrophes, hyphens or dots inside.
"""

from __future__ import annotations

import itertools
import re

_NAME_TOKENS = frozenset(
    {
        "name", "names", "fullname", "firstname", "lastname", "middlename", "surname",
        "forename", "givenname", "familyname", "maidenname", "nama", "namalengkap",
        "namadepan", "namabelakang", "contactname", "customername", "nombre", "nom",
    }
)  # fmt: skip
#: A column name with one of these tokens names a thing, not a person.
_NOT_PERSON = frozenset(
    {
        "product", "file", "filename", "company", "item", "host", "hostname", "user",
        "username", "domain", "table", "column", "brand", "street", "city", "country",
        "category", "model", "device", "app", "project", "dataset", "branch", "bank",
        "store", "shop", "org", "organization", "organisation", "business", "merchant",
        "pet", "event", "feature", "key", "field", "server", "database", "schema", "tag",
        "type", "label", "class", "team", "group", "site", "place", "region", "province",
        "district", "produk", "barang", "toko", "perusahaan", "kota", "jalan", "file_name",
        "display", "screen", "nick", "nickname", "login", "account", "queue", "job",
    }
)  # fmt: skip
_WORD = r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]+)*\.?"
_NAME_VALUE = re.compile(rf"^{_WORD}(?:\s+{_WORD}){{0,4}}$")


def column_tokens(column: str) -> list[str]:
    """Lower-case words of a column name: ``customerFirstName`` → customer, first, name."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", column)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def is_name_column(column: str) -> bool:
    """Whether the column's name says it holds people's names."""
    tokens = column_tokens(column)
    if any(t in _NOT_PERSON for t in tokens):
        return False
    joined = "".join(tokens)
    pairs = {a + b for a, b in itertools.pairwise(tokens)}
    return (
        any(t in _NAME_TOKENS for t in tokens)
        or joined in _NAME_TOKENS
        or bool(pairs & _NAME_TOKENS)
    )


def looks_like_name(value: str) -> bool:
    """Whether ``value`` has the shape of a person's name (letters only, 1-5 words)."""
    value = value.strip()
    return 2 <= len(value) <= 80 and bool(_NAME_VALUE.match(value))


#: Columns whose name says they hold versions: ``1.2.3.4`` there is not an IP address.
_VERSION_TOKENS = frozenset({"version", "ver", "release", "build", "firmware", "revision"})


def is_version_column(column: str) -> bool:
    return any(t in _VERSION_TOKENS for t in column_tokens(column))


__all__ = ["column_tokens", "is_name_column", "is_version_column", "looks_like_name"]
