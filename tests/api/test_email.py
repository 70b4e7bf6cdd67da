"""Email through the outbox: rendered in the recipient's time zone, sent over real SMTP, retried, sent once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import aiosmtplib
from sqlalchemy import select

from sessions_gql.api import ids
from sessions_gql.db import models as m
from sessions_gql.domain.enums import EmailStatus, NotificationKind
from sessions_gql.services import scheduler
from sessions_gql.services.messaging import email_delivery
from tests.api.lifecycle_helpers import advance, at, book, request, world
from tests.harness.app import START, Api, Person
from tests.harness.smtp import SmtpServer

S = EmailStatus
SET_PREFERENCES = """mutation($preferences: [EmailPreferenceInput!]!) {
  setEmailPreferences(preferences: $preferences) { kind email } }"""
PREFERENCES = "{ viewer { emailPreferences { kind email } } }"
NOTIFICATIONS = "{ notifications(first: 10) { edges { node { kind } } } }"
FOOTER = "You can choose which emails you receive in your notification settings; in-app notifications stay on.\n"


async def address(api: Api, who: Person) -> str:
    async with api.deps.sessions() as db:
        user = await db.get(m.User, who.viewer.user_id)
        assert user is not None
        return user.email


async def room(api: Api, session_id: str) -> str:
    """The session's video room URL, as stored (the API shows it only from 15 minutes before the start)."""
    async with api.deps.sessions() as db:
        row = await db.get(m.Session, uuid.UUID(ids.split(session_id)[1]))
        assert row is not None and row.video_room_url is not None
        return row.video_room_url


async def deliveries(api: Api) -> list[m.EmailDelivery]:
    async with api.deps.sessions() as db:
        return list((await db.scalars(select(m.EmailDelivery).order_by(m.EmailDelivery.id))).all())


async def test_booking_emails_each_party_in_their_own_time_zone(mail_api: Api, smtp_server: SmtpServer) -> None:
    w = await world(mail_api)
    session = await book(w, at(1, 10))  # Tuesday 10:00 UTC: 10:00 in London, 11:00 in Berlin
    assert await email_delivery.deliver_due(mail_api.deps) == 2
    provider_mail, member_mail = smtp_server.inbox.messages
    assert provider_mail.rcpt_tos == [await address(mail_api, w.provider)]
    assert provider_mail.subject == (
        "New session request: Tuesday 24 November 2026, 10:00-11:00 (Europe/London)")
    assert provider_mail.part("plain") == (
        "Hello Dr Lane,\n\nSam Member requested a Therapy session with you. Please confirm or decline it.\n\n"
        "When: tomorrow, Tuesday 24 November 2026, 10:00-11:00 (Europe/London)\n\nHow: Video call\n\n"
        f"Answer by: Tuesday 24 November 2026, 08:00 (Europe/London)\n\n{FOOTER}")
    assert member_mail.rcpt_tos == [await address(mail_api, w.member)]
    assert member_mail.subject == "Session confirmed: Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"
    link = await room(mail_api, session["id"])
    assert member_mail.part("plain") == (
        "Hello Sam Member,\n\nYour Therapy session with Dr Lane is confirmed.\n\n"
        "When: tomorrow, Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)\n\nHow: Video call\n\n"
        f"Join: {link}\n\n{FOOTER}")
    html = member_mail.part("html")
    assert "<p>Your Therapy session with Dr Lane is confirmed.</p>" in html
    assert ("<p><strong>When:</strong> tomorrow, Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)</p>"
            in html)
    rows = await deliveries(mail_api)
    assert [r.message["Message-ID"] for r in smtp_server.inbox.messages] == [
        f"<notification-{row.notification_id}@localhost>" for row in rows]
    assert [(r.status, r.attempts, r.sent_at, r.last_error) for r in rows] == [(S.SENT, 1, START, None)] * 2


async def test_the_reminder_and_the_join_link_are_emailed_at_their_time(mail_api: Api, smtp_server: SmtpServer
                                                                       ) -> None:
    w = await world(mail_api)
    await book(w, at(2, 10))  # Wednesday 10:00 UTC
    await advance(mail_api, 26 * 60)  # Tuesday 10:00: the member's reminder; the two booking emails went too
    reminder = smtp_server.inbox.messages[-1]
    assert (len(smtp_server.inbox.messages), reminder.subject) == (
        3, "Your session is tomorrow: Wednesday 25 November 2026, 11:00-12:00 (Europe/Berlin)")
    await advance(mail_api, 23 * 60)  # Wednesday 09:00: the provider's link
    link = smtp_server.inbox.messages[-1]
    assert link.subject == (
        "Your session starts in 1 hour: Wednesday 25 November 2026, 10:00-11:00 (Europe/London)")
    text = link.part("plain")
    url = text.split("Join: ", 1)[1].split("\n", 1)[0]
    assert url.startswith("https://meet.example.org/s-")
    assert f'<a href="{url}">{url}</a>' in link.part("html")
    assert len(smtp_server.inbox.messages) == 4


async def test_a_refused_email_is_retried_after_the_backoff_and_delivered_once(mail_api: Api,
                                                                               smtp_server: SmtpServer) -> None:
    smtp_server.inbox.refusals.append("451 try again")
    w = await world(mail_api)
    await request(w, at(1, 10))
    assert await email_delivery.deliver_due(mail_api.deps) == 1
    (row,) = await deliveries(mail_api)
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == (
        S.PENDING, 1, START + timedelta(seconds=30), "SMTPDataError: (451, 'try again')")
    mail_api.deps.clock.advance(timedelta(seconds=29))
    assert (await email_delivery.deliver_due(mail_api.deps), smtp_server.inbox.messages) == (0, [])
    await advance(mail_api, 1)  # the test clock sends what fell due
    (row,) = await deliveries(mail_api)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (S.SENT, 2, START + timedelta(seconds=89), None)
    await advance(mail_api, 60)
    assert [r.rcpt_tos for r in smtp_server.inbox.messages] == [[await address(mail_api, w.provider)]]


async def test_a_permanent_refusal_fails_at_once(mail_api: Api, smtp_server: SmtpServer) -> None:
    smtp_server.inbox.refusals.append("550 no such mailbox")
    w = await world(mail_api)
    await request(w, at(1, 10))
    await email_delivery.deliver_due(mail_api.deps)
    await advance(mail_api, 60)
    (row,) = await deliveries(mail_api)
    assert (row.status, row.attempts, row.last_error, smtp_server.inbox.messages) == (
        S.FAILED, 1, "SMTPDataError: (550, 'no such mailbox')", [])


async def test_a_failing_email_backs_off_and_gives_up_after_eight_attempts(api: Api) -> None:
    async def refuse(message: object) -> None:
        raise aiosmtplib.SMTPDataError(421, "busy")

    w = await world(api)
    await request(w, at(1, 10))
    waits = []
    for _ in range(8):
        assert await email_delivery.deliver_due(api.deps, refuse) == 1
        (row,) = await deliveries(api)
        waits.append((row.next_attempt_at - api.deps.clock.now()).total_seconds())
        api.deps.clock.advance(row.next_attempt_at - api.deps.clock.now())
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 0]
    assert (row.status, row.attempts) == (S.FAILED, 8)
    api.deps.clock.advance(timedelta(days=1))
    assert await email_delivery.deliver_due(api.deps, refuse) == 0


async def test_concurrent_workers_never_send_one_email_twice(mail_api: Api, smtp_server: SmtpServer) -> None:
    w = await world(mail_api)
    for hour in (9, 11, 13):
        await book(w, at(1, hour))
    handled = await asyncio.gather(*(email_delivery.deliver_due(mail_api.deps) for _ in range(3)))
    ids = [r.message["Message-ID"] for r in smtp_server.inbox.messages]
    assert (sum(handled), len(ids), len(set(ids))) == (6, 6, 6)
    assert {(r.status, r.attempts) for r in await deliveries(mail_api)} == {(S.SENT, 1)}


async def test_an_email_left_sending_by_a_crashed_worker_is_sent_when_its_lease_ends(
        mail_api: Api, smtp_server: SmtpServer) -> None:
    w = await world(mail_api)
    await request(w, at(1, 10))
    assert await email_delivery.claim(mail_api.deps) is not None  # a worker claims it and dies
    assert await email_delivery.deliver_due(mail_api.deps) == 0
    mail_api.deps.clock.advance(email_delivery.LEASE)
    assert await email_delivery.deliver_due(mail_api.deps) == 1
    (row,) = await deliveries(mail_api)
    assert (row.status, row.attempts, len(smtp_server.inbox.messages)) == (S.SENT, 1, 1)


async def test_a_kind_turned_off_is_not_emailed_but_still_notified_in_app(mail_api: Api,
                                                                          smtp_server: SmtpServer) -> None:
    w = await world(mail_api)
    every = [{"kind": kind.value, "email": True} for kind in NotificationKind]
    off = [{**item, "email": item["kind"] != "SESSION_CONFIRMED"} for item in every]
    changed = await mail_api.gql(SET_PREFERENCES, {"preferences": [{"kind": "SESSION_CONFIRMED", "email": False}]},
                                 as_=w.member)
    assert changed == {"setEmailPreferences": off}
    assert await mail_api.gql(PREFERENCES, as_=w.member) == {"viewer": {"emailPreferences": off}}
    assert await mail_api.gql(PREFERENCES, as_=w.provider) == {"viewer": {"emailPreferences": every}}
    await book(w, at(1, 10))
    await email_delivery.deliver_due(mail_api.deps)
    assert [r.rcpt_tos for r in smtp_server.inbox.messages] == [[await address(mail_api, w.provider)]]
    in_app = await mail_api.gql(NOTIFICATIONS, as_=w.member)
    assert [e["node"]["kind"] for e in in_app["notifications"]["edges"]] == ["SESSION_CONFIRMED"]
    await mail_api.gql(SET_PREFERENCES, {"preferences": [{"kind": "SESSION_CONFIRMED", "email": True}]},
                       as_=w.member)
    assert await mail_api.gql(PREFERENCES, as_=w.member) == {"viewer": {"emailPreferences": every}}


async def test_without_an_smtp_host_deliveries_are_recorded_as_skipped(api: Api) -> None:
    w = await world(api)
    await book(w, at(1, 10))
    assert await email_delivery.deliver_due(api.deps) == 2
    assert [(r.status, r.attempts, r.sent_at) for r in await deliveries(api)] == [(S.SKIPPED, 0, None)] * 2
    assert await email_delivery.deliver_due(api.deps) == 0


async def test_the_worker_loop_sends_the_emails(mail_api: Api, smtp_server: SmtpServer) -> None:
    w = await world(mail_api)
    await book(w, at(1, 10))
    stop = asyncio.Event()
    worker = asyncio.create_task(scheduler.run_forever(mail_api.deps, interval=0.01, stop=stop))
    try:
        async with asyncio.timeout(10):
            while len(smtp_server.inbox.messages) < 2:  # noqa: ASYNC110 - filled on the SMTP server's thread
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await worker
    assert {(r.status, r.attempts) for r in await deliveries(mail_api)} == {(S.SENT, 1)}
