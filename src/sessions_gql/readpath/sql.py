"""SQL that writes values exactly as the GraphQL layer serializes them, so PostgreSQL can build the response.

Each helper mirrors one Python serializer, and the differential test (tests/api/test_read_path.py) holds them
equal: `gid` is `ids.encode`, `instant` is the DateTime scalar (`datetime.isoformat` of a UTC instant),
`cursor` is `cursors.encode_cursor`, `amount` is `people.money`'s amount.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Numeric, Text, case, cast, extract, func, literal_column, type_coerce
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.sql.elements import ColumnElement


def const(value: str) -> ColumnElement[Any]:
    """A string constant written into the statement (never input): the statement text stays one per shape."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def b64url(raw: ColumnElement[Any]) -> ColumnElement[Any]:
    """base64url without padding, like `base64.urlsafe_b64encode(...).rstrip("=")` (PostgreSQL wraps its base64
    every 76 characters: the line breaks go)."""
    encoded = func.encode(func.convert_to(raw, const("UTF8")), const("base64"))
    return func.rtrim(func.translate(func.replace(encoded, literal_column("E'\\n'"), const("")), const("+/"),
                                     const("-_")), const("="))


def gid(type_name: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """The global id of a row, as `ids.encode(type_name, key)`."""
    return b64url(const(type_name + ":").op("||")(cast(key, Text)))


def instant(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`datetime.isoformat()` of the UTC instant: microseconds only when there are some, offset +00:00."""
    utc = column.op("AT TIME ZONE")(const("UTC"))
    seconds = func.to_char(utc, const('YYYY-MM-DD"T"HH24:MI:SS'))
    whole = func.mod(extract("microseconds", column), literal_column("1000000")) == literal_column("0")
    micros = case((whole, const("")), else_=func.to_char(utc, const(".US")))
    return case((column.is_(None), None), else_=seconds.op("||")(micros).op("||")(const("+00:00")))


def cursor(*parts: ColumnElement[Any]) -> ColumnElement[Any]:
    """`encode_cursor(*parts)`: base64url of the JSON array of the parts as strings. The parts are instants, ids
    and numbers, which JSON writes without escapes."""
    raw: ColumnElement[Any] = const('["')
    for index, part in enumerate(parts):
        raw = raw.op("||")(part if index == 0 else const('","').op("||")(part))
    return b64url(raw.op("||")(const('"]')))


def text_of(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(column, Text)


def amount(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`f"{Decimal(amount).quantize(Decimal('0.01'))}"`: two decimals."""
    return cast(cast(column, Numeric(20, 2)), Text)


def as_json(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON-typed expression (json_build_object's arguments keep their SQL types)."""
    return type_coerce(value, JSON)
