"""Global ids: what `encode` gives out decodes back to its key, and nothing else is taken for an id."""

from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessions_gql.api import ids
from sessions_gql.domain.errors import DomainError, ValidationError

TYPES = st.sampled_from(["Member", "Provider", "Session", "Service", "Conversation", "User", "Package", "Note",
                         "AvailabilityOverride", "Message", "Notification", "TimelineEvent", "LedgerEntry"])
KEYS = st.integers(0, 2**63 - 1)


@given(type_name=TYPES, key=st.uuids())
def test_issued_uuid_ids_round_trip(type_name: str, key: uuid.UUID) -> None:
    assert ids.decode_uuid(ids.encode(type_name, key), type_name) == key


@given(type_name=TYPES, key=KEYS)
def test_issued_numeric_ids_round_trip(type_name: str, key: int) -> None:
    assert ids.decode_int(ids.encode(type_name, key), type_name) == key


def _encoded_text(text: str, pad: bool) -> str:
    raw = base64.urlsafe_b64encode(text.encode()).decode()
    return raw if pad else raw.rstrip("=")


anything = st.text(max_size=80) | st.builds(
    _encoded_text, st.builds("{}:{}".format, TYPES | st.text(max_size=12),
                             st.text(max_size=40) | st.uuids().map(str).map(str.upper)
                             | st.integers().map(str) | st.uuids().map(lambda u: u.hex)), st.booleans())


@given(value=anything)
def test_a_string_is_an_id_only_if_it_is_what_encode_gives_out(value: str) -> None:
    try:
        type_name, key = ids.split(value)
    except ValidationError as refused:
        assert refused.code == "VALIDATION" and len(str(refused)) <= 640  # 60 characters, escaped
        return
    assert ids.encode(type_name, key) == value


@given(value=anything, type_name=TYPES)
def test_decoding_anything_is_the_key_or_a_coded_refusal(value: str, type_name: str) -> None:
    for decode in (ids.decode_uuid, ids.decode_int):
        try:
            key = decode(value, type_name)  # type: ignore[operator]
        except DomainError as refused:
            assert refused.code in ("VALIDATION", "NOT_FOUND")
            continue
        assert ids.encode(type_name, key) == value


@pytest.mark.parametrize("key", [2**63, 10**30, -1])
def test_a_numeric_key_outside_64_bits_is_not_an_id(key: int) -> None:
    with pytest.raises(ValidationError):
        ids.decode_int(ids.encode("Message", key), "Message")
