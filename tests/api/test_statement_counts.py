"""Statement counts: a page of sessions costs the same number at 10 rows and at 100 (the loaders batch), and a
transition checks its holds for conflicts in one statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sessions_gql.domain.enums import SessionStatus, TimelineEventType
from tests.api.factories import add_timeline_event, insert_service, insert_session
from tests.api.lifecycle_helpers import CONFIRM, PROPOSE_NEW_TIME, REQUEST, at, book, ok, request, world
from tests.harness.app import START, Api, Person, StatementCounter

PAGE = """query($first: Int!) { sessions(first: $first) { totalCount edges { node { id status
  member { displayName email sponsoredHoursRemaining user { role } } provider { displayName user { displayName } }
  service { name } lastEvent { type } privateNotes { body } } } } }"""


@pytest.fixture
async def busy(api: Api) -> dict[str, Person]:
    """Pat has 100 sessions with 10 members; four other providers have 5 each, interleaved in time."""
    members = [await api.member(f"Member {i}") for i in range(10)]
    providers = [await api.provider(f"Provider {i}") for i in range(5)]
    services = []
    for p, provider in enumerate(providers):
        assert provider.provider_id is not None
        services.append(await insert_service(api.deps, provider.provider_id, name=f"Service {p}"))
    plan = [(0, i, START + timedelta(hours=i)) for i in range(100)]
    plan += [(p, i, START + timedelta(hours=5 * i + p, minutes=30)) for p in range(1, 5) for i in range(5)]
    for p, i, starts_at in plan:
        member, provider = members[i % 10], providers[p]
        assert member.member_id and provider.provider_id
        session_id = await insert_session(api.deps, member.member_id, provider.provider_id, services[p], starts_at,
                                          SessionStatus.CONFIRMED)
        if i % 2:
            await add_timeline_event(api.deps, session_id, TimelineEventType.APPROVED_BY_PROVIDER)
    return {"admin": await api.admin(), "pat": providers[0]}


async def counted(api: Api, person: Person, first: int) -> tuple[int, dict[str, Any]]:
    with StatementCounter(api.deps) as counter:
        data = await api.gql(PAGE, {"first": first}, as_=person)
    return counter.count, data["sessions"]


@pytest.mark.parametrize("viewer", ["admin", "pat"])
async def test_a_page_of_sessions_costs_the_same_statements_at_10_and_100_rows(api: Api, busy: dict[str, Person],
                                                                               viewer: str) -> None:
    counts = {}
    await counted(api, busy[viewer], 1)  # the viewer is loaded once and then remembered for a few seconds
    for first in (10, 100):
        counts[first], page = await counted(api, busy[viewer], first)
        assert len(page["edges"]) == first
        assert page["totalCount"] == (120 if viewer == "admin" else 100)
    # the page with its total, members with their users, providers with theirs, services, last events, private
    # notes, sponsorships, and for a provider one batch of "shares a session" checks for contact details;
    # SQLite adds a BEGIN IMMEDIATE for the request's read session
    expected = 7 + (1 if viewer == "pat" else 0) + (1 if api.deps.settings.is_sqlite else 0)
    assert counts == {10: expected, 100: expected}


async def test_the_batched_fields_show_each_sessions_own_rows(api: Api, busy: dict[str, Person]) -> None:
    _, page = await counted(api, busy["admin"], 12)
    nodes = [edge["node"] for edge in page["edges"]]
    # 00:00 P0, 01:00 P0, 01:30 P1, 02:00 P0, 02:30 P2, 03:00 P0, 03:30 P3, 04:00 P0, 04:30 P4, 05:00 P0, ...
    assert [n["provider"]["displayName"][-1] + n["service"]["name"][-1] for n in nodes] == [
        "00", "00", "11", "00", "22", "00", "33", "00", "44", "00", "00", "11"]
    assert [n["member"]["displayName"] for n in nodes[:4]] == ["Member 0", "Member 1", "Member 0", "Member 2"]
    assert [n["lastEvent"]["type"] for n in nodes[:4]] == ["REQUESTED", "APPROVED_BY_PROVIDER", "REQUESTED",
                                                           "REQUESTED"]
    assert {n["member"]["user"]["role"] for n in nodes} == {"MEMBER"}
    assert {n["member"]["sponsoredHoursRemaining"] for n in nodes} == {0.0}
    assert nodes[0]["member"]["email"].startswith("member.0.")
    assert nodes[2]["provider"]["user"] == {"displayName": "Provider 1"}


def _hold_checks(counter: StatementCounter) -> list[str]:
    """The statements that looked for other sessions' holds overlapping this one's."""
    return [s for s in counter.statements if "FROM slot_holds" in s and "slot_holds.session_id !=" in s
            and "slot_holds.starts_at <" in s]


async def test_a_transition_checks_what_it_holds_against_other_holds_in_one_statement(api: Api) -> None:
    """Issue 13: one conflict statement per transition, for both parties and every interval it holds (a
    session with a proposed new time holds two), not one per interval and party (2 and 4 before)."""
    w = await world(api)
    with StatementCounter(api.deps) as requesting:
        made = await request(w, at(2, 10))
    confirmed = await ok(w, CONFIRM, {"sessionId": made["id"]}, w.provider)
    with StatementCounter(api.deps) as proposing:
        moving = await ok(w, PROPOSE_NEW_TIME, {"sessionId": confirmed["id"], "startsAt": at(2, 14)}, w.member)
    assert moving["status"] == "RESCHEDULING"
    # the guard once each; proposing also reads the provider's other sessions at the new time for the notice
    # that asks them (notice_text.gather), a statement of its own
    assert (len(_hold_checks(requesting)), len(_hold_checks(proposing))) == (1, 2)
    taken = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(2, 14),
                                  "modality": "VIDEO"}, await api.member("Other Member", credits=200))
    assert (taken["__typename"], taken["code"]) == ("BasicError", "SLOT_UNAVAILABLE")  # the proposal holds it


BARE_CANCEL = """mutation($i: CancelSessionInput!) { cancelSession(input: $i) { __typename } }"""
READ_CANCEL = """mutation($i: CancelSessionInput!) { cancelSession(input: $i) { __typename
  ... on SessionSuccess { session { id status } } } }"""


async def test_a_mutation_reads_the_session_back_only_when_the_response_selects_it(api: Api) -> None:
    """Issue 13: no read-back beyond what the response selects. Two cancellations alike but for the selection:
    the one that selects the session costs exactly one statement more, and it is the session's read (the bare
    one read it back too before)."""
    w = await world(api)
    first, second = await book(w, at(3, 10)), await book(w, at(3, 14))
    counts = []
    for session, document in ((first, BARE_CANCEL), (second, READ_CANCEL)):
        with StatementCounter(api.deps) as counter:
            data = await api.gql(document, {"i": {"sessionId": session["id"]}}, as_=w.member)
        counts.append(counter.statements)
    assert data["cancelSession"] == {"__typename": "SessionSuccess",
                                     "session": {"id": second["id"], "status": "CANCELLED"}}
    bare, read = ([s for s in statements if s != "BEGIN"] for statements in counts)  # SQLite's reader begins
    assert len(read) == len(bare) + 1
    extra = [s for s in read if s not in bare]
    assert len(extra) == 1 and extra[0].lstrip().startswith("SELECT") and "FROM sessions" in extra[0]


SESSION_SELECTION = """id version status startsAt endsAt createdAt respondBy priceCredits fee { amount currency }
  providerEarnings { amount currency } expectedEarnings { amount currency } modality skill location memberNote
  durationMinutes funding paymentStatus refundedCredits"""
ANSWER = f"... on SessionSuccess {{ session {{ {SESSION_SELECTION} }} }} ... on UserError {{ code }}"


@pytest.mark.parametrize("starts_at", ["2026-11-24T11:00:00+01:00", "2026-11-24T10:00:00Z"])
async def test_a_mutation_answers_with_the_row_it_committed_without_reading_it_back(api: Api, starts_at: str
                                                                                   ) -> None:
    """The use case reads the session's row in its own transaction just before the commit (`unit.read_back`), so
    the response reads no session row back, and what it shows is what a later query shows, to the character
    (times in UTC, money at its scale), whatever offset the client gave the time in."""
    w = await world(api)
    asked = (f"mutation($input: RequestSessionInput!) {{ requestSession(input: $input) {{ __typename {ANSWER} }} }}")
    with StatementCounter(api.deps) as counter:
        made = (await api.gql(asked, {"input": {"providerId": w.provider.gid, "serviceId": w.service_id,
                                                 "startsAt": starts_at, "modality": "VIDEO", "skill": "Anxiety",
                                                 "memberNote": "first time"}}, as_=w.member))["requestSession"]
    assert made["__typename"] == "SessionSuccess"
    later = await api.gql(f"query($id: ID!) {{ session(id: $id) {{ {SESSION_SELECTION} }} }}",
                          {"id": made["session"]["id"]}, as_=w.member)
    assert made["session"] == later["session"]
    assert made["session"]["startsAt"] == "2026-11-24T10:00:00+00:00"
    read_back = [sql for sql in counter.statements if sql.startswith("SELECT sessions.id")]
    assert len(read_back) == 1 and "WHERE sessions.id = " in read_back[0]  # in the unit, not the loader's IN
    confirm = (f"mutation($input: SessionActionInput!) {{ confirmSession(input: $input) {{ __typename {ANSWER} }} }}")
    confirmed = (await api.gql(confirm, {"input": {"sessionId": made["session"]["id"]}},
                               as_=w.provider))["confirmSession"]
    after = await api.gql(f"query($id: ID!) {{ session(id: $id) {{ {SESSION_SELECTION} }} }}",
                          {"id": made["session"]["id"]}, as_=w.provider)
    assert confirmed["session"] == after["session"] and confirmed["session"]["status"] == "CONFIRMED"
    assert confirmed["session"]["version"] == made["session"]["version"] + 1


async def test_the_second_mutation_of_a_document_answers_as_fresh_as_a_later_query(api: Api) -> None:
    """Two mutations in one document: the second's session, with what it reads beside its row (the last event, the
    timeline), is what a query after the request shows. On SQLite the request's read transaction would still see
    the database as before the first mutation unless it is begun again after each commit."""
    w = await world(api)
    made = await request(w, at(2, 10))
    fields = "id status version lastEvent { type } timeline(first: 20) { edges { node { type } } }"
    answer = f"... on SessionSuccess {{ session {{ {fields} }} }} ... on UserError {{ code }}"
    both = (f"mutation($a: SessionActionInput!, $b: ProposeNewTimeInput!) {{ "
            f"x: confirmSession(input: $a) {{ {answer} }} y: proposeNewTime(input: $b) {{ {answer} }} }}")
    done = await api.gql(both, {"a": {"sessionId": made["id"]}, "b": {"sessionId": made["id"], "startsAt": at(3, 14)}},
                         as_=w.provider)
    later = await api.gql(f"query($id: ID!) {{ session(id: $id) {{ {fields} }} }}", {"id": made["id"]},
                          as_=w.provider)
    assert done["y"]["session"] == later["session"]
    assert later["session"]["status"] == "RESCHEDULING"
    assert "NEW_TIME_PROPOSED" in [edge["node"]["type"] for edge in later["session"]["timeline"]["edges"]]
    assert done["x"]["session"]["status"] == "CONFIRMED"
