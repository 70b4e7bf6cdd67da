"""What each notice says, to each recipient, in their own time zone: in-app title and body and the email.

A provider in Berlin, members in New York and Kolkata; the clock starts on Monday 23 November 2026 08:00 UTC
(09:00 in Berlin, 03:00 in New York, 13:30 in Kolkata).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sessions_gql.api import ids
from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.services import scheduler
from tests.api.lifecycle_helpers import (
    CANCEL,
    CONFIRM,
    PROPOSE,
    PROPOSE_NEW_TIME,
    REQUEST,
    SAVE_SERVICE,
    SET_AVAILABILITY,
    WITHDRAW_NEW_TIME,
    World,
    advance,
    ok,
)
from tests.api.test_email import FOOTER
from tests.harness.app import Api, Person

NOTICES = "{ notifications(first: 20) { edges { node { kind title body session { id } } } } }"
SET_PREFERENCES = """mutation($preferences: [EmailPreferenceInput!]!) {
  setEmailPreferences(preferences: $preferences) { kind email } }"""
CHAT = "query($id: ID!) { session(id: $id) { conversation { messages { edges { node { body } } } } } }"
CONFLICTS = "query($id: ID!) { session(id: $id) { status conflicts { startsAt endsAt } } }"
IMPORT = """mutation($ics: String!) { importBusyTimes(ics: $ics) { __typename } }"""
ADD_OVERRIDE = """mutation($input: AddAvailabilityOverrideInput!) { addAvailabilityOverride(input: $input) {
  __typename } }"""
NY_PHONE, IN_PHONE = "+1 212 555 0100", "+91 98765 43210"
BUSY_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:dentist@example.org
DTSTART:20261125T103000Z
DTEND:20261125T113000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""


@dataclass
class Three:
    """The Berlin provider's world with a member in New York (Ana) and one in Kolkata (Ravi)."""

    world: World
    ana: Person
    ravi: Person

    @property
    def provider(self) -> Person:
        return self.world.provider


async def three_zones(api: Api) -> Three:
    provider = await api.provider("Dr Weber", tz="Europe/Berlin")
    ana = await api.member("Ana Novak", credits=500, tz="America/New_York", phone=NY_PHONE)
    ravi = await api.member("Ravi Kumar", credits=500, tz="Asia/Kolkata", phone=IN_PHONE)
    rules = [{"weekday": day, "start": "08:00", "end": "21:00"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]
    await api.gql(SET_AVAILABILITY, {"input": {"timeZone": "Europe/Berlin", "weeklyRules": rules}}, as_=provider)
    service = await api.gql(SAVE_SERVICE, {"input": {
        "name": "Therapy", "skills": ["Anxiety"], "durationMinutes": 60, "priceCredits": 60, "fee": "50.00",
        "currency": "EUR", "modalities": ["VIDEO", "PHONE", "IN_PERSON"], "freeInitialConsultation": False}},
        as_=provider)
    w = World(api=api, provider=provider, member=ravi, service_id=service["saveService"]["service"]["id"])
    return Three(world=w, ana=ana, ravi=ravi)


def utc(day: int, hour: int, minute: int = 0) -> str:
    """November `day`, 2026, at hour:minute UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).isoformat()


async def notices(api: Api, who: Person) -> list[dict[str, Any]]:
    """(kind, title, body) of the viewer's notifications, oldest first."""
    data = await api.gql(NOTICES, as_=who)
    return [{"kind": e["node"]["kind"], "title": e["node"]["title"], "body": e["node"]["body"]}
            for e in reversed(data["notifications"]["edges"])]


async def emails(api: Api, who: Person) -> list[tuple[str, str]]:
    """(subject, plain text) of the emails queued for `who`, oldest first."""
    async with api.deps.sessions() as db:
        rows = (await db.scalars(select(m.EmailDelivery).where(m.EmailDelivery.user_id == who.viewer.user_id)
                                 .order_by(m.EmailDelivery.id))).all()
        return [(row.subject, row.text_body) for row in rows]


async def room(api: Api, session_id: str) -> str:
    async with api.deps.sessions() as db:
        row = await db.get(m.Session, uuid.UUID(ids.split(session_id)[1]))
        assert row is not None and row.video_room_url is not None
        return row.video_room_url


def mail(name: str, *paragraphs: str) -> str:
    return "\n\n".join([f"Hello {name},", *paragraphs, FOOTER])


async def request(t: Three, member: Person, starts_at: str, modality: str = "VIDEO", *, as_: Person | None = None
                  ) -> dict[str, Any]:
    extra = {"memberId": member.gid} if as_ is not None else {}
    return await ok(t.world, REQUEST, {"providerId": t.provider.gid, "serviceId": t.world.service_id,
                                       "startsAt": starts_at, "modality": modality, **extra}, as_ or member)


async def test_each_party_reads_the_time_in_their_own_zone_with_relative_words(api: Api) -> None:
    t = await three_zones(api)
    session = await request(t, t.ravi, utc(23, 19))  # 20:00 Monday in Berlin, 00:30 Tuesday in Kolkata
    requested = {"kind": "SESSION_REQUESTED", "title": "New session request", "body": (
        "Ravi Kumar requested a Therapy session with you. Please confirm or decline it.\n"
        "When: today, in 11 hours, Monday 23 November 2026, 20:00-21:00 (Europe/Berlin)\n"
        "How: Video call\n"
        "Answer by: Monday 23 November 2026, 20:00 (Europe/Berlin)")}
    assert await notices(api, t.provider) == [requested]
    assert await notices(api, t.ravi) == []
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    link = await room(api, session["id"])
    confirmed = (
        "Your Therapy session with Dr Weber is confirmed.\n"
        "When: tomorrow, in 11 hours, Tuesday 24 November 2026, 00:30-01:30 (Asia/Kolkata)\n"
        f"How: Video call\nJoin: {link}")
    assert await notices(api, t.ravi) == [{"kind": "SESSION_CONFIRMED", "title": "Session confirmed",
                                           "body": confirmed}]
    assert await emails(api, t.ravi) == [(
        "Session confirmed: Tuesday 24 November 2026, 00:30-01:30 (Asia/Kolkata)",
        mail("Ravi Kumar", "Your Therapy session with Dr Weber is confirmed.",
             "When: tomorrow, in 11 hours, Tuesday 24 November 2026, 00:30-01:30 (Asia/Kolkata)",
             "How: Video call", f"Join: {link}"))]
    assert await notices(api, t.provider) == [requested]  # the provider acted: told nothing more
    # a PHONE session for New York: the provider gets the member's number, the member hears who calls where
    phone = await request(t, t.ana, utc(24, 14), "PHONE")  # 15:00 Berlin, 09:00 New York
    assert (await notices(api, t.provider))[-1]["body"] == (
        "Ana Novak requested a Therapy session with you. Please confirm or decline it.\n"
        "When: tomorrow, Tuesday 24 November 2026, 15:00-16:00 (Europe/Berlin)\n"
        f"How: Phone call: you call Ana Novak on {NY_PHONE}\n"
        "Answer by: Tuesday 24 November 2026, 09:00 (Europe/Berlin)")
    await ok(t.world, CONFIRM, {"sessionId": phone["id"]}, t.provider)
    assert await notices(api, t.ana) == [{"kind": "SESSION_CONFIRMED", "title": "Session confirmed", "body": (
        "Your Therapy session with Dr Weber is confirmed.\n"
        "When: tomorrow, Tuesday 24 November 2026, 09:00-10:00 (America/New_York)\n"
        f"How: Phone call: Dr Weber calls you on {NY_PHONE}")}]


async def test_a_reminder_sent_at_confirmation_two_and_a_half_hours_ahead_says_today(api: Api) -> None:
    t = await three_zones(api)
    session = await request(t, t.ravi, utc(23, 10, 30))  # 16:00 in Kolkata, 11:30 in Berlin
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    assert await scheduler.run_due(api.deps) == 1  # the member's reminder is due at once, at 08:00 UTC
    link = await room(api, session["id"])
    reminder = (await notices(api, t.ravi))[-1]
    assert reminder == {"kind": "MEETING_REMINDER", "title": "Your session is today, in 2 hours 30 minutes",
                        "body": (
        "A reminder: your Therapy session with Dr Weber is today, in 2 hours 30 minutes.\n"
        "When: today, in 2 hours 30 minutes, Monday 23 November 2026, 16:00-17:00 (Asia/Kolkata)\n"
        f"How: Video call\nJoin: {link}")}
    subject, text = (await emails(api, t.ravi))[-1]
    assert subject == ("Your session is today, in 2 hours 30 minutes: "
                       "Monday 23 November 2026, 16:00-17:00 (Asia/Kolkata)")
    assert "tomorrow" not in text and "tomorrow" not in reminder["body"]
    await advance(api, 90)  # 09:30 UTC: the provider's link, an hour ahead, in Berlin time
    assert (await notices(api, t.provider))[-1] == {
        "kind": "MEETING_LINK", "title": "Your session starts in 1 hour", "body": (
            "Your Therapy session with Ravi Kumar starts in 1 hour.\n"
            "When: today, in 1 hour, Monday 23 November 2026, 11:30-12:30 (Europe/Berlin)\n"
            f"How: Video call\nJoin: {link}")}


async def test_an_admins_phone_booking_tells_the_provider_who_what_and_the_number(api: Api) -> None:
    t = await three_zones(api)
    admin = await api.admin()
    await request(t, t.ana, utc(25, 15), "PHONE", as_=admin)  # Wednesday 16:00 Berlin, 10:00 New York
    body = ("Support requested a Therapy session with you for Ana Novak. Please confirm or decline it.\n"
            "When: in 2 days, Wednesday 25 November 2026, 16:00-17:00 (Europe/Berlin)\n"
            f"How: Phone call: you call Ana Novak on {NY_PHONE}\n"
            "Answer by: Tuesday 24 November 2026, 09:00 (Europe/Berlin)")
    assert await notices(api, t.provider) == [{"kind": "SESSION_REQUESTED", "title": "New session request",
                                               "body": body}]
    assert await emails(api, t.provider) == [(
        "New session request: Wednesday 25 November 2026, 16:00-17:00 (Europe/Berlin)",
        mail("Dr Weber", *body.split("\n")))]
    assert await notices(api, t.ana) == [{"kind": "SESSION_REQUESTED", "title": "New session request", "body": (
        "A Therapy session with Dr Weber was requested for you; Dr Weber will confirm or decline it.\n"
        "When: in 2 days, Wednesday 25 November 2026, 10:00-11:00 (America/New_York)\n"
        f"How: Phone call: Dr Weber calls you on {NY_PHONE}")}]


async def test_a_withdrawn_new_time_is_told_to_the_other_party_by_app_and_email(api: Api) -> None:
    t = await three_zones(api)
    session = await request(t, t.ravi, utc(24, 10))  # Tuesday 15:30 in Kolkata
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    await ok(t.world, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": utc(25, 10)}, t.provider)
    before = len(await notices(api, t.provider))
    withdrawn = await ok(t.world, WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, t.provider)
    assert (withdrawn["status"], withdrawn["proposal"]) == ("CONFIRMED", None)
    link = await room(api, session["id"])
    body = ("The new time proposed for your Therapy session with Dr Weber was withdrawn; it stays at its original "
            "time.\n"
            "When: tomorrow, Tuesday 24 November 2026, 15:30-16:30 (Asia/Kolkata)\n"
            "Dropped time: Wednesday 25 November 2026, 15:30 (Asia/Kolkata)\n"
            f"How: Video call\nJoin: {link}")
    assert (await notices(api, t.ravi))[-1] == {"kind": "NEW_TIME_WITHDRAWN", "title": "New time withdrawn",
                                                "body": body}
    assert (await emails(api, t.ravi))[-1] == (
        "New time withdrawn: Tuesday 24 November 2026, 15:30-16:30 (Asia/Kolkata)",
        mail("Ravi Kumar", *body.split("\n")))
    assert len(await notices(api, t.provider)) == before  # the proposer is not told of their own act
    # turned off by email, it is still notified in-app
    await api.gql(SET_PREFERENCES, {"preferences": [{"kind": "NEW_TIME_WITHDRAWN", "email": False}]}, as_=t.ravi)
    await ok(t.world, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": utc(26, 10)}, t.provider)
    mails = len(await emails(api, t.ravi))
    await ok(t.world, WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, t.provider)
    assert [n["kind"] for n in await notices(api, t.ravi)][-2:] == ["NEW_TIME_PROPOSED", "NEW_TIME_WITHDRAWN"]
    assert len(await emails(api, t.ravi)) == mails


async def test_a_new_time_left_unanswered_lapses_at_the_original_start_and_both_are_told(api: Api) -> None:
    t = await three_zones(api)
    session = await request(t, t.ravi, utc(24, 10))  # Tuesday 11:00 Berlin, 15:30 Kolkata
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    await ok(t.world, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": utc(25, 11)}, t.ravi)
    link = await room(api, session["id"])
    await advance(api, 26 * 60)  # Tuesday 10:00 UTC: the original start
    lapsed = "was not answered before the session's start, so it lapsed; the session stays at its original time."
    assert (await notices(api, t.ravi))[-1] == {"kind": "NEW_TIME_EXPIRED", "title": "Proposed new time lapsed",
                                                "body": (
        f"The new time proposed for your Therapy session with Dr Weber {lapsed}\n"
        "When: now, Tuesday 24 November 2026, 15:30-16:30 (Asia/Kolkata)\n"
        "Dropped time: Wednesday 25 November 2026, 16:30 (Asia/Kolkata)\n"
        f"How: Video call\nJoin: {link}")}
    provider_body = (f"The new time proposed for your Therapy session with Ravi Kumar {lapsed}\n"
                     "When: now, Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)\n"
                     "Dropped time: Wednesday 25 November 2026, 12:00 (Europe/Berlin)\n"
                     f"How: Video call\nJoin: {link}")
    assert (await notices(api, t.provider))[-1] == {"kind": "NEW_TIME_EXPIRED", "title": "Proposed new time lapsed",
                                                    "body": provider_body}
    assert (await emails(api, t.provider))[-1] == (
        "Proposed new time lapsed: Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)",
        mail("Dr Weber", *provider_body.split("\n")))
    state = (await api.gql(CONFLICTS, {"id": session["id"]}, as_=t.provider))["session"]
    assert state == {"status": "CONFIRMED", "conflicts": []}


async def test_a_session_booked_before_the_us_clock_change_is_told_in_the_new_offset(api: Api,
                                                                                      clock: FrozenClock) -> None:
    clock.set(datetime(2026, 10, 30, 8, tzinfo=UTC))  # Friday: New York on EDT (UTC-4) until Sunday 1 November
    t = await three_zones(api)
    monday = datetime(2026, 11, 2, 14, tzinfo=UTC).isoformat()  # 09:00 EST in New York, 15:00 CET in Berlin
    session = await request(t, t.ana, monday)
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    link = await room(api, session["id"])
    assert (await notices(api, t.ana))[-1]["body"] == (
        "Your Therapy session with Dr Weber is confirmed.\n"
        "When: in 3 days, Monday 2 November 2026, 09:00-10:00 (America/New_York)\n"
        f"How: Video call\nJoin: {link}")
    await advance(api, 3 * 24 * 60 - 24 * 60 + 6 * 60)  # Sunday 14:00 UTC, after the change: the reminder
    reminder = (await notices(api, t.ana))[-1]
    assert (reminder["title"], reminder["body"].split("\n")[1]) == (
        "Your session is tomorrow", "When: tomorrow, Monday 2 November 2026, 09:00-10:00 (America/New_York)")
    assert (await emails(api, t.ana))[-1][0] == (
        "Your session is tomorrow: Monday 2 November 2026, 09:00-10:00 (America/New_York)")


async def test_an_automatic_deactivation_is_worded_for_the_provider_and_for_admins(api: Api) -> None:
    t = await three_zones(api)
    admin = await api.admin()
    sessions = [await request(t, t.ravi, utc(day, 10)) for day in (26, 27, 30)]
    sessions += [await request(t, t.ana, utc(day, 12)) for day in (26, 27)]
    for session in sessions:
        await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    for session in sessions:
        await ok(t.world, CANCEL, {"sessionId": session["id"], "reason": "ILLNESS"}, t.provider)
    last = "the Therapy session with Ana Novak on Friday 27 November 2026"
    provider_body = (
        "Your account was deactivated automatically after 5 cancellations in a row. Members cannot book you and "
        "pending requests cannot be confirmed until an admin reactivates it.\n"
        f"Last: {last}, 13:00-14:00 (Europe/Berlin), cancelled by you")
    told = await notices(api, t.provider)
    assert [n["kind"] for n in told].count("ACCOUNT_FLAGGED") == 1
    assert told[-1] == {"kind": "ACCOUNT_DEACTIVATED", "title": "Your account was deactivated",
                        "body": provider_body}
    admin_body = ("Dr Weber's provider account was deactivated automatically after 5 cancellations in a row. Only "
                  "an admin can reactivate it.\n"
                  f"Last: {last}, 12:00-13:00 (UTC), cancelled by the provider")
    assert await notices(api, admin) == [{"kind": "ACCOUNT_DEACTIVATED",
                                          "title": "Provider account deactivated: Dr Weber", "body": admin_body}]
    assert (await emails(api, admin)) == [("Provider account deactivated: Dr Weber",
                                           mail("root", *admin_body.split("\n")))]
    assert (await notices(api, t.ana))[-1] == {"kind": "SESSION_CANCELLED", "title": "Session cancelled", "body": (
        "Your Therapy session with Dr Weber was cancelled by Dr Weber.\n"
        "When: in 4 days, Friday 27 November 2026, 07:00-08:00 (America/New_York)\n"
        "Reason: Illness")}


async def test_conflicts_show_busy_and_blocked_time_to_the_provider_and_admins_only(api: Api) -> None:
    t = await three_zones(api)
    admin = await api.admin()
    session = await request(t, t.ravi, utc(25, 10))  # Wednesday 10:00-11:00 UTC
    assert (await api.gql(CONFLICTS, {"id": session["id"]}, as_=t.provider))["session"]["conflicts"] == []
    assert await api.gql(IMPORT, {"ics": BUSY_ICS}, as_=t.provider) == {
        "importBusyTimes": {"__typename": "AvailabilitySuccess"}}
    blocked = {"kind": "BLOCKED", "startsAt": utc(25, 9), "endsAt": utc(25, 10, 15), "note": "school run"}
    assert (await api.gql(ADD_OVERRIDE, {"input": blocked}, as_=t.provider))["addAvailabilityOverride"] == {
        "__typename": "AvailabilitySuccess"}
    apart = {"kind": "BLOCKED", "startsAt": utc(25, 11), "endsAt": utc(25, 12)}  # touches the end: no conflict
    await api.gql(ADD_OVERRIDE, {"input": apart}, as_=t.provider)
    both = [{"startsAt": utc(25, 9), "endsAt": utc(25, 10, 15)},
            {"startsAt": utc(25, 10, 30), "endsAt": utc(25, 11, 30)}]
    for who in (t.provider, admin):
        assert (await api.gql(CONFLICTS, {"id": session["id"]}, as_=who))["session"] == {
            "status": "AWAITING_APPROVAL", "conflicts": both}
    assert (await api.gql(CONFLICTS, {"id": session["id"]}, as_=t.ravi))["session"] == {
        "status": "AWAITING_APPROVAL", "conflicts": []}
    # RESCHEDULING: the proposed time's conflicts are listed too
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    later = {"kind": "BLOCKED", "startsAt": utc(26, 12, 30), "endsAt": utc(26, 13)}
    await api.gql(ADD_OVERRIDE, {"input": later}, as_=t.provider)
    await ok(t.world, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": utc(26, 12)}, t.provider)
    assert (await api.gql(CONFLICTS, {"id": session["id"]}, as_=t.provider))["session"] == {
        "status": "RESCHEDULING", "conflicts": [*both, {"startsAt": utc(26, 12, 30), "endsAt": utc(26, 13)}]}


async def test_an_admins_proposal_over_busy_time_warns_the_provider_and_names_the_place(api: Api) -> None:
    t = await three_zones(api)
    admin = await api.admin()
    await api.gql(IMPORT, {"ics": BUSY_ICS}, as_=t.provider)
    proposal = {"memberId": t.ana.gid, "serviceId": t.world.service_id, "startsAt": utc(25, 10),
                "durationMinutes": 60, "priceCredits": 60, "modality": "IN_PERSON",
                "location": "Praxis Weber, Hauptstr. 5, Berlin", "providerId": t.provider.gid}
    await ok(t.world, PROPOSE, proposal, admin)
    assert await notices(api, t.provider) == [{"kind": "SESSION_PROPOSED", "title": "A session was proposed to you",
                                               "body": (
        "A Therapy session with Ana Novak was proposed for you; Ana Novak will confirm or decline it.\n"
        "When: in 2 days, Wednesday 25 November 2026, 11:00-12:00 (Europe/Berlin)\n"
        "How: In person at Praxis Weber, Hauptstr. 5, Berlin\n"
        "You already have something at Wednesday 25 November 2026, 11:30-12:30 (Europe/Berlin).")}]
    assert await notices(api, t.ana) == [{"kind": "SESSION_PROPOSED", "title": "A session was proposed to you",
                                          "body": (
        "Dr Weber proposed a Therapy session to you. Please confirm or decline it.\n"
        "When: in 2 days, Wednesday 25 November 2026, 05:00-06:00 (America/New_York)\n"
        "How: In person at Praxis Weber, Hauptstr. 5, Berlin\n"
        "Answer by: Tuesday 24 November 2026, 03:00 (America/New_York)")}]


async def test_chat_messages_show_the_time_in_both_parties_zones_without_relative_words(api: Api) -> None:
    t = await three_zones(api)
    session = await request(t, t.ravi, utc(23, 19))
    await ok(t.world, CONFIRM, {"sessionId": session["id"]}, t.provider)
    both = "Tue 24 Nov 00:30 (Asia/Kolkata) / Mon 23 Nov 20:00 (Europe/Berlin)"
    for who in (t.ravi, t.provider):
        chat = (await api.gql(CHAT, {"id": session["id"]}, as_=who))["session"]["conversation"]["messages"]
        assert [e["node"]["body"] for e in chat["edges"]] == [f"Session requested for {both}",
                                                             f"Session confirmed for {both}"]
