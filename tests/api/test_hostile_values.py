"""Values no client should send: each refused with VALIDATION (and a message that echoes at most a little of
it), never a masked INTERNAL_SERVER_ERROR.

Before the fixes: an id past 64 bits or with a non-ASCII digit, and instants near year 1 or 9999, were 500s
(OverflowError in SQLite or in datetime arithmetic, ValueError from int("²")); a 100,000-character search string
ran a LIKE over it; a padded, upper-case or brace-wrapped spelling of an issued id was accepted as that id.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sessions_gql.api import ids
from tests.api.factories import insert_service
from tests.harness.app import Api

A_UUID = "0190b6f4-6d1b-7c3c-9c8e-3c1f0e0b1a2b"
NODE = "query($id: ID!) { node(id: $id) { id } }"
SESSION = "query($id: ID!) { session(id: $id) { id } }"


def raw(text: str, *, pad: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


def not_an_id(value: str, field: str = "id") -> dict[str, Any]:
    shown = repr(value if len(value) <= 60 else value[:60] + "...")
    return {"message": f"{shown} is not an id", "extensions": {"code": "VALIDATION", "field": field}}


IDS: dict[str, tuple[str, str]] = {
    # name: (document, id)
    "a message id past 64 bits": (NODE, raw("Message:" + "9" * 30)),
    "a message id of 2^63": (NODE, raw(f"Message:{2**63}")),
    "a superscript digit": (NODE, raw("Notification:²")),
    "an Arabic-Indic digit": (NODE, raw("Notification:\u0661")),
    "a leading zero": (NODE, raw("Message:07")),
    "a negative number": (NODE, raw("Message:-7")),
    "an upper-case uuid": (SESSION, raw("Session:" + A_UUID.upper())),
    "a uuid in braces": (SESSION, raw("Session:{" + A_UUID + "}")),
    "a uuid without hyphens": (SESSION, raw("Session:" + A_UUID.replace("-", ""))),
    "a padded id": (SESSION, raw("Session:" + A_UUID, pad=True)),
    "a stray character": (SESSION, raw("Session:" + A_UUID)[:10] + "!" + raw("Session:" + A_UUID)[10:]),
    "standard base64": (SESSION, base64.b64encode(b"Session:" + b"\xfb" * 3).decode()),
    "non-ASCII": (SESSION, "Séssion"),
    "200,000 characters": (SESSION, "x" * 200_000),
    "empty": (SESSION, ""),
}


@pytest.mark.parametrize("name", list(IDS))
async def test_a_malformed_id_is_validation(api: Api, name: str) -> None:
    document, value = IDS[name]
    mia = await api.member("Mia")
    body = await api.post(document, {"id": value}, token=mia.token)
    field = "node" if document is NODE else "session"
    assert body["data"] == {field: None}
    assert [{"message": e["message"], "extensions": e["extensions"]} for e in body["errors"]] == [not_an_id(value)]


async def test_issued_ids_still_resolve(api: Api) -> None:
    mia = await api.member("Mia")
    assert await api.gql("query($id: ID!) { member(id: $id) { id } node(id: $id) { id } }", {"id": mia.gid},
                         as_=mia) == {"member": {"id": mia.gid}, "node": {"id": mia.gid}}
    assert ids.encode("Message", 7) == raw("Message:7")


def out_of_range(value: str) -> str:
    return f'DateTime out of range: "{value}". Expected an instant from 1900 to 2199.'


SLOTS = ("query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) { availableSlots(providerId: $p, serviceId: $s, "
         "from: $from, to: $to) { startsAt } }")


@pytest.mark.parametrize(("starts", "ends"), [
    ("9999-12-31T23:00:00Z", "9999-12-31T23:30:00Z"),
    ("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+14:00"),
    ("1899-12-31T23:59:59Z", "1900-01-01T01:00:00Z"),
])
async def test_an_instant_out_of_range_is_validation(api: Api, starts: str, ends: str) -> None:
    pat, mia = await api.provider("Pat"), await api.member("Mia")
    assert pat.provider_id is not None
    service = ids.encode("Service", await insert_service(api.deps, pat.provider_id))
    body = await api.post(SLOTS, {"p": pat.gid, "s": service, "from": starts, "to": ends}, token=mia.token)
    assert body["data"] is None
    assert (body["errors"][0]["message"], body["errors"][0]["extensions"]) == (
        f"Variable '$from' has invalid value: {out_of_range(starts)}", {"code": "VALIDATION"})
    literal = await api.post(f'{{ sessions(filter: {{startsAfter: "{starts}"}}) {{ totalCount }} }}', token=mia.token)
    assert [(e["message"], e["extensions"]) for e in literal["errors"]] == [(out_of_range(starts),
                                                                             {"code": "VALIDATION"})]


async def test_the_edges_of_the_range_are_accepted(api: Api) -> None:
    mia = await api.member("Mia")
    assert await api.gql('{ a: sessions(filter: {startsAfter: "1900-01-01T00:00:00Z"}) { totalCount } '
                         'b: sessions(filter: {startsAfter: "2199-12-31T23:59:59Z"}) { totalCount } }',
                         as_=mia) == {"a": {"totalCount": 0}, "b": {"totalCount": 0}}


PROVIDERS = "query($f: ProviderFilter) { providers(filter: $f) { edges { node { id } } } }"


@pytest.mark.parametrize("field", ["search", "skill"])
async def test_a_search_past_200_characters_is_validation(api: Api, field: str) -> None:
    mia = await api.member("Mia")
    assert await api.gql(PROVIDERS, {"f": {field: "x" * 200}}, as_=mia) == {"providers": {"edges": []}}
    body = await api.post(PROVIDERS, {"f": {field: "x" * 100_000}}, token=mia.token)
    assert body["data"] is None
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        (f"filter.{field} must be at most 200 characters", {"code": "VALIDATION", "field": f"filter.{field}"})]


async def test_an_error_quoting_a_huge_value_is_cut_short(api: Api) -> None:
    mia = await api.member("Mia")
    name = "Q" * 5000
    deep = "user { member { " * 7 + "id" + " } }" * 7
    body = await api.post(f"query {name} {{ viewer {{ {deep} }} }}", token=mia.token)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION"}
    assert error["message"] == f"'{name}' exceeds maximum operation depth of 12"[:497] + "..."


async def test_a_cursor_nested_too_deeply_is_validation(api: Api) -> None:
    mia = await api.member("Mia")
    body = await api.post("query($a: String) { providers(after: $a) { edges { node { id } } } }",
                          {"a": raw("[" * 100_000)}, token=mia.token)
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        ("that cursor is not one this API gave out", {"code": "VALIDATION", "field": "after"})]
