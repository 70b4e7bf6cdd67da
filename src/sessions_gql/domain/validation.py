"""Input rules shared by the use cases. Each raises ValidationError naming the field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions_gql.domain.errors import ValidationError

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,30}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_CREDITS = 1_000_000
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def email(value: str, *, field: str = "email") -> str:
    cleaned = value.strip().lower()
    if len(cleaned) > 320 or not EMAIL.match(cleaned):
        raise ValidationError(f"{value!r} is not an email address", field=field)
    return cleaned


def text(value: str | None, *, field: str, max_length: int, required: bool = True) -> str | None:
    cleaned = value.strip() if value is not None else None
    if not cleaned:
        if required:
            raise ValidationError(f"{field} must not be empty", field=field)
        return None
    if len(cleaned) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters", field=field)
    return cleaned


def time_zone(value: str, *, field: str = "timeZone") -> str:
    """An IANA zone name; tz database files that are not zones (a folder, 'localtime') are refused too."""
    try:
        if value in NOT_ZONES:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"{value!r} is not an IANA time zone", field=field) from None
    return value


def phone(value: str | None, *, field: str = "phone") -> str | None:
    if value is None or not value.strip():
        return None
    if not PHONE.match(value.strip()):
        raise ValidationError(f"{value!r} is not a phone number", field=field)
    return value.strip()


def country(value: str | None, *, field: str = "country") -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip().upper()
    if not COUNTRY.match(cleaned):
        raise ValidationError("country must be an ISO 3166 two-letter code", field=field)
    return cleaned


def currency(value: str, *, field: str = "currency") -> str:
    cleaned = value.strip().upper()
    if not CURRENCY.match(cleaned):
        raise ValidationError("currency must be an ISO 4217 three-letter code", field=field)
    return cleaned


def money(value: str, *, field: str) -> Decimal:
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise ValidationError(f"{value!r} is not a decimal amount", field=field) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(f"{field} must be zero or more, with at most two decimals", field=field)
    if amount >= Decimal("10000000"):
        raise ValidationError(f"{field} is too large", field=field)
    return amount.quantize(Decimal("0.01"))


def rate(value: float, *, field: str) -> Decimal:
    if not 0 <= value < 1:
        raise ValidationError(f"{field} must be at least 0 and below 1", field=field)
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def positive_int(value: int, *, field: str, maximum: int = MAX_CREDITS) -> int:
    if not 0 < value <= maximum:
        raise ValidationError(f"{field} must be between 1 and {maximum}", field=field)
    return value


def duration(value: int, *, field: str = "durationMinutes") -> int:
    if not (15 <= value <= 240 and value % 5 == 0):
        raise ValidationError("a session lasts 15 to 240 minutes, in steps of 5", field=field)
    return value
