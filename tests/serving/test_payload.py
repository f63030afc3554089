"""parse_payload: every accepted shape, and a clear error for every bad one (no server)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from siklus.exceptions import InvalidInput
from siklus.serving import UnsupportedMediaType, parse_payload

SIG = [
    {"name": "age", "type": "number", "nullable": True},
    {"name": "city", "type": "string", "nullable": True},
]
JSON = "application/json"
CSV = "text/csv"
EXPECTED = pd.DataFrame({"age": [41.0, 7.5], "city": ["Oslo", "Lima"]})


def _check(frame: pd.DataFrame, expected: pd.DataFrame = EXPECTED) -> None:
    assert list(frame.columns) == list(expected.columns)
    assert frame.astype(object).to_dict("list") == expected.astype(object).to_dict("list")


@pytest.mark.parametrize(
    "body",
    [
        b'[{"age": 41.0, "city": "Oslo"}, {"age": 7.5, "city": "Lima"}]',
        b'{"records": [{"age": 41.0, "city": "Oslo"}, {"age": 7.5, "city": "Lima"}]}',
        b'{"instances": [{"age": 41.0, "city": "Oslo"}, {"age": 7.5, "city": "Lima"}]}',
        b'{"columns": ["age", "city"], "data": [[41.0, "Oslo"], [7.5, "Lima"]]}',
        b'{"columns": ["age", "city"], "index": [0, 1], "data": [[41.0, "Oslo"], [7.5, "Lima"]]}',
        b'\xef\xbb\xbf[{"age": 41.0, "city": "Oslo"}, {"age": 7.5, "city": "Lima"}]',  # BOM
    ],
    ids=["records", "records-wrapped", "instances", "split", "split-with-index", "bom"],
)
def test_json_shapes(body: bytes) -> None:
    _check(parse_payload(body, JSON, SIG))


def test_single_object_is_one_row() -> None:
    frame = parse_payload(b'{"age": 41.0, "city": "Oslo"}', "application/json; charset=utf-8", SIG)
    _check(frame, EXPECTED.iloc[:1])


def test_values_are_kept_as_sent() -> None:
    # Type checking belongs to the model signature, not to parsing: "abc" stays "abc".
    frame = parse_payload(b'[{"age": "abc", "city": 3}, {"age": null, "city": null}]', JSON, SIG)
    assert frame["age"].tolist()[0] == "abc"
    assert frame["city"].tolist()[0] == 3
    assert pd.isna(frame["age"].tolist()[1]) and pd.isna(frame["city"].tolist()[1])


@pytest.mark.parametrize(
    "body",
    [b"age,city\n41.0,Oslo\n7.5,Lima\n", b"city,age\r\nOslo,41.0\r\nLima,7.5\r\n"],
    ids=["header", "header-reordered"],
)
def test_csv_with_header(body: bytes) -> None:
    frame = parse_payload(body, CSV, SIG)
    assert sorted(frame.columns) == ["age", "city"]
    assert frame["age"].tolist() == ["41.0", "7.5"]  # text: the signature converts it
    assert frame["city"].tolist() == ["Oslo", "Lima"]


def test_csv_without_header_is_positional_and_empty_fields_are_missing() -> None:
    frame = parse_payload(b'41.0,Oslo\n\n,"Lima, Peru"\n', CSV, SIG)
    assert list(frame.columns) == ["age", "city"]
    assert frame["age"].tolist()[0] == "41.0" and frame["age"].tolist()[1] is None
    assert frame["city"].tolist() == ["Oslo", "Lima, Peru"]


def test_csv_header_with_a_wrong_name_is_still_a_header() -> None:
    # So the signature check can say "missing column 'city'" instead of a type error.
    frame = parse_payload(b"age,town\n41.0,Oslo\n", CSV, SIG)
    assert list(frame.columns) == ["age", "town"]


def test_nan_literal_is_accepted_in_json() -> None:
    frame = parse_payload(b'[{"age": NaN, "city": "Oslo"}]', JSON, SIG)
    assert math.isnan(frame["age"].iloc[0])


@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        (b'[{"age": 41.0,', JSON, r"not valid JSON: .* line 1 column 15 \(character 14\)"),
        (b"", JSON, "request body is empty"),
        (b"  \n ", CSV, "request body is empty"),
        (b"[]", JSON, "zero rows"),
        (b'{"records": []}', JSON, "zero rows"),
        (b'{"columns": ["age", "city"], "data": []}', JSON, "zero rows"),
        (b"age,city\n", CSV, "zero data rows"),
        (b"[1, 2]", JSON, r"Row 0 of the JSON list is a int \(1\), not a record"),
        (b'[{"age": 1, "city": "a"}, [1, "b"]]', JSON, r'Row 1 .*"columns"'),
        (b"42", JSON, "The JSON body is a int; expected a list of records"),
        (b'{"records": {"age": 1}}', JSON, '"records" must be a list of records'),
        (
            b'[{"age": 1, "city": "a"}, {"age": 2}]',
            JSON,
            r"Record 1 .*missing \['city'\], extra \[\]",
        ),
        (b'{"columns": ["age"], "data": [[1, 2]]}', JSON, r"Row 0 of \"data\" has 2 values"),
        (b'{"columns": ["age", "age"], "data": [[1, 2]]}', JSON, r"\['age'\] more than once"),
        (b'{"columns": "age", "data": [[1]]}', JSON, '"columns" must be a list'),
        (b"41.0,Oslo\n7.5\n", CSV, r"CSV line 2 has 1 fields; expected 2 values"),
        (b"age,city\n41.0,Oslo,extra\n", CSV, r"CSV line 2 has 3 fields; expected the 2 columns"),
        (b'41.0,"Oslo\n', CSV, "CSV body is malformed"),
        (b"\xff\xfe[]", JSON, "not valid utf-8 text: byte 0"),
    ],
)
def test_bad_payloads(body: bytes, content_type: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as info:
        parse_payload(body, content_type, SIG)
    assert info.value.http_status == 400


@pytest.mark.parametrize("content_type", ["application/xml", "", None, "application/json5"])
def test_unsupported_media_type(content_type: str | None) -> None:
    with pytest.raises(
        UnsupportedMediaType, match=r"application/json .* text/csv or application/x-parquet"
    ) as info:
        parse_payload(b"<rows/>", content_type, SIG)
    assert info.value.http_status == 415
    assert isinstance(info.value, InvalidInput)


def test_unknown_charset_is_415() -> None:
    with pytest.raises(UnsupportedMediaType, match="Unknown charset 'klingon'"):
        parse_payload(b"[]", "application/json; charset=klingon", SIG)
