"""A member turned away from joining after a no-show mark: a typed error saying what happened and what to do, and
the provider told (in-app, once per burst of retries) so that they can undo the no-show."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from tests.api.factories import count_rows
from tests.api.lifecycle_helpers import (
    JOIN,
    MARK_NO_SHOW,
    UNDO_NO_SHOW,
    World,
    at,
    book,
    error,
    ok,
    snapshot,
    view,
    when,
    world,
)
from tests.harness.app import Api, Person
from tests.harness.live import LiveServer
from tests.live.test_chat_and_notifications import NOTIFICATIONS, start

NOTICES = "{ notifications(first: 20) { edges { node { kind title body readAt session { id status } } } } }"
TURNED_AWAY = ("you were marked as a no-show at 11:10 on Mon 23 Nov (Europe/Berlin); ask the provider to undo the "
               "no-show so you can join: they have been told you tried to join")
NOTICE_BODY = ("Sam Member tried to join the session of Mon 23 Nov 10:00 (Europe/London), which you marked as a "
               "no-show at 10:10. Undo the no-show to let them in.")


async def notices(w: World, who: Person) -> list[dict[str, Any]]:
    data = await w.api.gql(NOTICES, as_=who)
    return [edge["node"] for edge in data["notifications"]["edges"]]


async def marked(w: World, clock: FrozenClock) -> str:
    """A confirmed VIDEO session Monday 10:00-11:00 UTC, marked a no-show by the provider at 10:10."""
    session = await book(w, at(0, 10))
    clock.set(when(0, 10, 10))
    no_show = await ok(w, MARK_NO_SHOW, {"sessionId": session["id"]}, w.provider)
    assert (no_show["status"], no_show["noShowParty"]) == ("NO_SHOW", "MEMBER")
    return session["id"]  # type: ignore[no-any-return]


def turned_away(result: dict[str, Any]) -> tuple[str, str, str | None, str]:
    return (*error(result), result.get("message", ""))


async def test_a_turned_away_member_is_told_why_and_the_provider_hears_once_per_burst(api: Api,
                                                                                      clock: FrozenClock) -> None:
    w = await world(api)
    session_id = await marked(w, clock)
    provider_before = len(await notices(w, w.provider))
    before = await snapshot(w, session_id)
    clock.set(when(0, 10, 12))
    refused = await w.run(JOIN, {"sessionId": session_id}, w.member)
    assert turned_away(refused) == ("BasicError", "INVALID_TRANSITION", None, TURNED_AWAY)
    assert await snapshot(w, session_id) == before  # the session, its timeline and the wallet are untouched
    told = await notices(w, w.provider)
    assert len(told) == provider_before + 1
    assert told[0] == {"kind": "MEMBER_WAITING", "title": "Your client tried to join", "body": NOTICE_BODY,
                       "readAt": None, "session": {"id": session_id, "status": "NO_SHOW"}}
    emails = await count_rows(api.deps, m.EmailDelivery)
    for seconds in (20, 59):  # retries within the minute: the same answer, no new notice
        clock.set(when(0, 10, 12) + timedelta(seconds=seconds))
        again = await w.run(JOIN, {"sessionId": session_id, "idempotencyKey": f"retry-{seconds}"}, w.member)
        assert turned_away(again) == ("BasicError", "INVALID_TRANSITION", None, TURNED_AWAY)
    assert len(await notices(w, w.provider)) == provider_before + 1
    clock.set(when(0, 10, 14))  # a new burst, two minutes later: told again
    assert turned_away(await w.run(JOIN, {"sessionId": session_id}, w.member))[1] == "INVALID_TRANSITION"
    kinds = [(n["kind"], n["title"]) for n in await notices(w, w.provider)]
    assert kinds[:2] == [("MEMBER_WAITING", "Your client tried to join")] * 2
    assert len(kinds) == provider_before + 2
    assert await count_rows(api.deps, m.EmailDelivery) == emails  # in-app only: the kind's email says "waiting"
    assert await snapshot(w, session_id) == before
    # the provider undoes the no-show, and the member gets in, recorded as 15 minutes late
    undone = await ok(w, UNDO_NO_SHOW, {"sessionId": session_id}, w.provider)
    assert (undone["status"], undone["noShowParty"]) == ("CONFIRMED", None)
    clock.set(when(0, 10, 15))
    joined = await ok(w, JOIN, {"sessionId": session_id}, w.member)
    assert [e["node"]["type"] for e in joined["timeline"]["edges"]][-4:] == [
        "NO_SHOW_MARKED", "FUNDS_CAPTURED", "NO_SHOW_UNDONE", "MEMBER_JOINED"]
    assert (await view(w, session_id, w.member))["memberLateMinutes"] == 15


async def test_concurrent_retries_tell_the_provider_once(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session_id = await marked(w, clock)
    provider_before = len(await notices(w, w.provider))
    results = await asyncio.gather(*(w.run(JOIN, {"sessionId": session_id}, w.member) for _ in range(4)))
    assert {turned_away(r) for r in results} == {("BasicError", "INVALID_TRANSITION", None, TURNED_AWAY)}
    told = await notices(w, w.provider)
    assert (len(told), told[0]["title"]) == (provider_before + 1, "Your client tried to join")


async def test_other_refused_joins_tell_nobody(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session_id = await marked(w, clock)
    provider_before = len(await notices(w, w.provider))
    member_before = len(await notices(w, w.member))
    own = await w.run(JOIN, {"sessionId": session_id}, w.provider)  # the provider: the plain refusal
    assert turned_away(own) == ("BasicError", "INVALID_TRANSITION", None, "cannot join a session that is NO_SHOW")
    stranger = await api.member("Nosy Neighbour")
    theirs = await w.run(JOIN, {"sessionId": session_id}, stranger)
    assert error(theirs) == ("BasicError", "NOT_FOUND", "sessionId")
    clock.set(when(0, 11))  # the scheduled end: the no-show can no longer be undone
    late = await w.run(JOIN, {"sessionId": session_id}, w.member)
    assert turned_away(late) == ("BasicError", "INVALID_TRANSITION", None, "cannot join a session that is NO_SHOW")
    assert (len(await notices(w, w.provider)), len(await notices(w, w.member))) == (provider_before, member_before)


async def test_the_provider_hears_of_the_attempt_live(live: LiveServer, clock: FrozenClock) -> None:
    w = await world(live.api)
    session_id = await marked(w, clock)
    await live.settle()
    listening = await start(live, w.provider.token, NOTIFICATIONS, {}, 1)
    clock.set(when(0, 10, 20))
    refused = await w.run(JOIN, {"sessionId": session_id}, w.member)
    assert error(refused) == ("BasicError", "INVALID_TRANSITION", None)
    (notice,) = await asyncio.wait_for(listening, timeout=20)
    assert (notice["kind"], notice["title"], notice["session"]) == (
        "MEMBER_WAITING", "Your client tried to join", {"status": "NO_SHOW"})
