"""Turn a request body (JSON or CSV) into the rows a model predicts on.

Parsing only decides the *shape* of the payload: which columns and rows it holds. Values
are kept exactly as sent; the model's signature check (``LoadedModel.predict``) converts
and validates types afterwards, so a type error is reported once, the same way for every
payload format, naming the column and the rows.

Accepted JSON shapes (``application/json``):

- a list of records: ``[{"age": 41, "city": "Oslo"}, ...]``
- the same list wrapped: ``{"records": [...]}`` or ``{"instances": [...]}``
- one record: ``{"age": 41, "city": "Oslo"}``
- split form (``DataFrame.to_json(orient="split")``):
  ``{"columns": ["age", "city"], "data": [[41, "Oslo"], ...]}``

Parquet (``application/x-parquet`` or ``application/vnd.apache.parquet``): one file,
read with pyarrow; columns keep their Parquet types.

CSV (``text/csv``): when the first line is the signature's column names (in any order)
it is a header; otherwise each line holds one value per signature column, in signature
order. Empty CSV fields are missing values, which the model's pipeline imputes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from siklus.exceptions import InvalidInput
from siklus.serving._errors import UnsupportedMediaType

JSON_TYPES = frozenset({"application/json", "text/json"})
CSV_TYPES = frozenset({"text/csv", "application/csv"})
PARQUET_TYPES = frozenset({"application/x-parquet", "application/vnd.apache.parquet"})
_WRAPPERS = ("records", "instances")
_SPLIT_KEYS = frozenset({"columns", "data"})
_SPLIT_OPTIONAL = frozenset({"index"})  # pandas' orient="split" adds it; rows keep order


def parse_payload(
    body: bytes, content_type: str | None, signature: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Parse a prediction request body into a DataFrame, one row per instance.

    Args:
        body: The raw request body.
        content_type: The request's ``Content-Type`` header, parameters included
            (``application/json; charset=utf-8``).
        signature: The model's input signature (``manifest["input_signature"]``); CSV
            needs it to recognise a header and to name positional columns.

    Returns:
        The rows with the columns as sent; values are not converted.

    Raises:
        UnsupportedMediaType: The content type is not JSON, CSV or Parquet (HTTP 415).
        InvalidInput: The body is empty, malformed, holds zero rows, or rows of the
            wrong shape; the message says where and what shape is expected.

    Example:
        >>> sig = [{"name": "x", "type": "number", "nullable": False}]
        >>> parse_payload(b'[{"x": 1.5}]', "application/json", sig)["x"].tolist()
        [1.5]
    """
    media_type, charset = _media_type(content_type)
    if media_type not in JSON_TYPES and media_type not in CSV_TYPES:
        if media_type in PARQUET_TYPES:
            return _from_parquet(body)
        shown = repr(content_type) if content_type else "none"
        raise UnsupportedMediaType(
            f"Content-Type {shown} is not supported; send application/json (records, "
            '{"columns": [...], "data": [...]} or one object), text/csv or '
            "application/x-parquet."
        )
    if not body.strip():
        raise InvalidInput(
            "The request body is empty; send at least one row as JSON or CSV "
            "(e.g. [{...}] with one key per model input column)."
        )
    text = _decode(body, charset)
    if media_type in JSON_TYPES:
        return _from_json(text)
    return _from_csv(text, [str(column["name"]) for column in signature])


def media_type_of(content_type: str | None) -> str:
    """The bare, lower-case media type of a ``Content-Type`` header."""
    return _media_type(content_type)[0]


def _media_type(content_type: str | None) -> tuple[str, str]:
    media, _, params = (content_type or "").partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _decode(body: bytes, charset: str) -> str:
    # utf-8-sig also drops a byte-order mark, which spreadsheet exports often start with.
    encoding = "utf-8-sig" if charset in ("utf-8", "utf8") else charset
    try:
        return body.decode(encoding)
    except LookupError:
        raise UnsupportedMediaType(
            f"Unknown charset {charset!r} in Content-Type; send UTF-8 (charset=utf-8)."
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The request body is not valid {charset} text: byte {exc.start} "
            f"({body[exc.start : exc.start + 1]!r}) cannot be decoded. Send UTF-8."
        ) from None


# -- Parquet -------------------------------------------------------------------------------
def _from_parquet(body: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not body:
        raise InvalidInput("The request body is empty; send one Parquet file.")
    try:
        table = pq.read_table(pa.BufferReader(body))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput(
            f"The request body is not a readable Parquet file ({type(exc).__name__}: {exc}). "
            "Send the bytes of one .parquet file (e.g. DataFrame.to_parquet())."
        ) from None
    if table.num_rows == 0:
        raise InvalidInput("The Parquet body holds zero rows; send at least one row.")
    return table.to_pandas()


# -- JSON ----------------------------------------------------------------------------------
def json_document(body: bytes) -> Any:
    """Decode a JSON body (UTF-8, BOM allowed); InvalidInput with the position when malformed."""
    if not body.strip():
        raise InvalidInput(
            "The request body is empty; send at least one row as JSON or CSV "
            "(e.g. [{...}] with one key per model input column)."
        )
    text = _decode(body, "utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno} (character {exc.pos})."
        ) from None


def _from_json(text: str) -> pd.DataFrame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno} (character {exc.pos})."
        ) from None
    return frame_from_json(doc)


def frame_from_json(doc: Any) -> pd.DataFrame:
    """The rows of a decoded JSON document in any accepted shape (module docstring)."""
    if isinstance(doc, list):
        return _from_records(doc, "the JSON list")
    if not isinstance(doc, dict):
        raise InvalidInput(
            f"The JSON body is a {type(doc).__name__}; expected a list of records "
            '[{"column": value, ...}], {"records": [...]}, {"columns": [...], "data": [...]} '
            "or one record."
        )
    keys = doc.keys()
    for wrapper in _WRAPPERS:
        if keys == {wrapper}:
            return _from_records(doc[wrapper], f'"{wrapper}"')
    if _SPLIT_KEYS <= keys <= _SPLIT_KEYS | _SPLIT_OPTIONAL:
        return _from_split(doc["columns"], doc["data"])
    return _from_records([doc], "the JSON object")


def _from_records(records: Any, where: str) -> pd.DataFrame:
    if not isinstance(records, list):
        raise InvalidInput(f"{where} must be a list of records, got a {type(records).__name__}.")
    if not records:
        raise InvalidInput(f"{where} holds zero rows; send at least one record.")
    first = records[0]
    if not isinstance(first, dict):
        raise _not_a_record(where, 0, first)
    names = first.keys()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _not_a_record(where, i, record)
        if record.keys() != names:
            missing = [k for k in names if k not in record]
            extra = [k for k in record if k not in names]
            raise InvalidInput(
                f"Record {i} of {where} has different keys from record 0 "
                f"(missing {missing}, extra {extra}); every record needs the same keys. "
                "Send null for a missing value."
            )
    # Column-wise construction keeps each value as sent and is faster than from_records.
    return pd.DataFrame({name: [record[name] for record in records] for name in names})


def _not_a_record(where: str, index: int, value: Any) -> InvalidInput:
    hint = (
        ' For rows of bare values use {"columns": [...], "data": [[...], ...]}.'
        if isinstance(value, list)
        else ""
    )
    return InvalidInput(
        f"Row {index} of {where} is a {type(value).__name__} ({_short(value)}), not a record "
        f'object {{"column": value, ...}}.{hint}'
    )


def _from_split(columns: Any, data: Any) -> pd.DataFrame:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput('"columns" must be a list of column names (strings).')
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidInput(f'"columns" names {dupes} more than once.')
    if not isinstance(data, list):
        raise InvalidInput(f'"data" must be a list of rows, got a {type(data).__name__}.')
    if not data:
        raise InvalidInput('"data" holds zero rows; send at least one row.')
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            got = f"{len(row)} values" if isinstance(row, list) else f"a {type(row).__name__}"
            raise InvalidInput(
                f'Row {i} of "data" has {got}; expected a list of {len(columns)} values, '
                'one per entry of "columns".'
            )
    frame = pd.DataFrame(data, columns=columns, dtype=object)
    # dtype=object keeps values as sent; let pandas pick numeric dtypes where it can.
    return frame.infer_objects()


# -- CSV -----------------------------------------------------------------------------------
def _from_csv(text: str, names: list[str]) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str | None]] = []
    header: list[str] | None = None
    try:
        for fields in reader:
            if not fields:  # blank line
                continue
            if header is None and not rows and _is_header(fields, names):
                header = fields
                continue
            width = len(header) if header is not None else len(names)
            if len(fields) != width:
                expected = (
                    f"the {width} columns of the header line"
                    if header is not None
                    else f"{width} values, one per model column in this order: {names} "
                    "(or start with a header line)"
                )
                raise InvalidInput(
                    f"CSV line {reader.line_num} has {len(fields)} fields; expected {expected}."
                )
            rows.append([value if value != "" else None for value in fields])
    except csv.Error as exc:
        raise InvalidInput(f"The CSV body is malformed at line {reader.line_num}: {exc}.") from None
    if not rows:
        raise InvalidInput("The CSV body holds zero data rows; send at least one line of values.")
    columns = header if header is not None else names
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidInput(f"The CSV header names {dupes} more than once.")
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _is_header(fields: list[str], names: list[str]) -> bool:
    """A first line is a header when most of its fields are model column names.

    Exact equality is the common case; a header with a column misspelt, missing or added
    still counts, so the caller gets "missing column 'x'" rather than a type error about
    the header text.
    """
    if fields == names:
        return True
    known = set(names)
    hits = sum(1 for field in fields if field in known)
    return hits > 0 and hits * 2 >= len(fields)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "CSV_TYPES",
    "JSON_TYPES",
    "PARQUET_TYPES",
    "frame_from_json",
    "json_document",
    "media_type_of",
    "parse_payload",
]
