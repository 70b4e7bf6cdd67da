"""SQL that writes values exactly as the GraphQL layer serializes them, so PostgreSQL can build the response.

Each helper mirrors one Python serializer, and the differential test (tests/api/test_read_path.py) holds them
equal: `gid` is `ids.encode`, `instant` is the DateTime scalar (`datetime.isoformat` of a UTC instant),
`cursor` is `cursors.encode_cursor`, `amount` is `people.money`'s amount. `quotient`, `in_context` and
`half_even` do arithmetic as Python's `decimal` does under its default context, for the amounts the domain
computes with it (`credits.expected_earnings`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, DefaultContext
from typing import Any

from sqlalchemy import Integer, Numeric, Text, case, cast, extract, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
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


EMPTY_LIST: ColumnElement[Any] = literal_column("'[]'::json")
PRECISION = DefaultContext.prec
"""Significant digits of an operation's result under Python's default decimal context (28)."""
assert DefaultContext.rounding == ROUND_HALF_EVEN


def json_list(item: ColumnElement[Any], *order: Any) -> ColumnElement[Any]:
    """The JSON array of `item` over a select's rows in `order`; an empty array when there are none."""
    return func.coalesce(func.json_agg(aggregate_order_by(item, *order)), EMPTY_LIST)


def number(value: int | str) -> ColumnElement[Any]:
    """A numeric constant written into the statement."""
    return literal_column(str(value))


def _named(**values: ColumnElement[Any]) -> Any:
    """A one-row derived table of `values` (correlated to whatever rows they read), so that an expression used
    several times below is computed once. The selects over these correlate explicitly (`correlate_except`):
    automatic correlation looks only one level up, and a value may read a row from further out."""
    return (select(*(value.label(name) for name, value in values.items())).offset(number(0))
            .correlate_except(None).subquery())


def _over(derived: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`value` read from the one-row `derived`, as a scalar subquery (correlated to everything else)."""
    return select(value).select_from(derived).correlate_except(derived).scalar_subquery()


def _ten_to(exponent: ColumnElement[Any]) -> ColumnElement[Any]:
    """10 ** exponent as an exact numeric, for an integer exponent of either sign (read from its text: `power`
    keeps only 16 decimals of a negative power)."""
    return cast(const("1e").op("||")(cast(exponent, Text)), Numeric)


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, number(1)), else_=number(0))


def half_even(value: ColumnElement[Any], places: ColumnElement[Any]) -> ColumnElement[Any]:
    """An exact numeric rounded to `places` decimals (an integer of either sign), ties to even: `quantize`'s
    default rounding (PostgreSQL's `round` takes ties away from zero)."""
    t = _named(x=value, places=places)
    scaled = _named(y=func.abs(t.c.x) * _ten_to(t.c.places))
    whole = func.floor(scaled.c.y)
    up = case((scaled.c.y - whole > number("0.5"), number(1)),
              (scaled.c.y - whole == number("0.5"), func.mod(whole, number(2))), else_=number(0))
    return _over(t, _over(scaled, func.sign(t.c.x) * (whole + up) * _ten_to(-t.c.places)))


def _exponent(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """floor(log10(value)) of a positive exact numeric, exactly: the logarithm's own rounding is corrected by
    comparing with the powers of ten on either side."""
    t = _named(x=value, e=cast(func.floor(func.log(value)), Integer))
    return _over(t, t.c.e - _one_if(t.c.x < _ten_to(t.c.e)) + _one_if(t.c.x >= _ten_to(t.c.e + number(1))))


def in_context(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """An exact numeric as Python's decimal context leaves an operation's result: PRECISION significant digits,
    ties to even."""
    t = _named(x=value)
    places = number(PRECISION - 1) - _exponent(func.abs(t.c.x))
    return _over(t, case((t.c.x == number(0), t.c.x), else_=half_even(t.c.x, places)))


def quotient(dividend: ColumnElement[Any], divisor: ColumnElement[Any]) -> ColumnElement[Any]:
    """`Decimal(dividend) / Decimal(divisor)` of two integers (dividend >= 0, divisor > 0): the exact quotient
    rounded to PRECISION significant digits, ties to even, by integer division and its remainder."""
    t = _named(k=cast(dividend, Numeric), n=cast(divisor, Numeric))
    # the quotient's exponent: the integers' difference in length, or one less
    longer: ColumnElement[Any] = func.length(cast(t.c.k, Text)) - func.length(cast(t.c.n, Text))
    digits = _named(places=number(PRECISION - 1) - (longer - _one_if(t.c.k * _ten_to(-longer) < t.c.n)))
    scaled = _named(m=t.c.k * _ten_to(digits.c.places))
    q = func.div(scaled.c.m, t.c.n)
    twice_rest = (scaled.c.m - q * t.c.n) * number(2)
    up = case((twice_rest > t.c.n, number(1)), (twice_rest == t.c.n, func.mod(q, number(2))), else_=number(0))
    rounded = _over(digits, _over(scaled, (q + up) * _ten_to(-digits.c.places)))
    return _over(t, case((t.c.k == number(0), t.c.k), else_=rounded))
