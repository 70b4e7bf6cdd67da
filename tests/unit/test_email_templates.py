"""Every notification kind has an email, in the recipient's time zone, with what the user typed escaped; the
times and relative words of the one formatter (services/messaging/notice_text.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Modality, NotificationKind, Role, SessionStatus
from sessions_gql.domain.errors import Interval
from sessions_gql.services.messaging.email_templates import render
from sessions_gql.services.messaging.notice_text import Facts, chat_time, compose, relative, span

K = NotificationKind
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday: four days before
BERLIN = "Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"
LINK = "https://meet.example.org/s-abc?x=1&y=2"


def person(name: str = "Sam <Member> & Co", role: Role = Role.MEMBER, tz: str = "Europe/Berlin") -> m.User:
    return m.User(id=uuid.uuid4(), role=role, display_name=name, time_zone=tz, email="sam@member.test")


MEMBER, PROVIDER = person(), person("Dr Lane", Role.PROVIDER, "Europe/London")


def facts(**values: object) -> Facts:
    row = m.Session(starts_at=TUESDAY, ends_at=TUESDAY + timedelta(hours=1), video_room_url=LINK,
                    modality=Modality.VIDEO, status=SessionStatus.CONFIRMED, approved_by_member=True,
                    approved_by_provider=True, created_by=Role.MEMBER, refunded_credits=0)
    for key, value in values.items():
        setattr(row, key, value)
    return Facts(row=row, member=MEMBER, provider=PROVIDER, service="Therapy")


@pytest.mark.parametrize("kind", [kind for kind in NotificationKind if kind is not K.MESSAGE_RECEIVED])
def test_every_kind_has_a_subject_text_and_html_in_the_recipients_time_zone(kind: NotificationKind) -> None:
    notice = compose(kind, recipient=MEMBER, facts=facts(), now=NOW)
    email = render(notice, recipient=MEMBER)
    assert email.text.startswith(f"Hello Sam <Member> & Co,\n\n{notice.lead}\n\n")
    assert "<p>Hello Sam &lt;Member&gt; &amp; Co,</p>" in email.html
    if kind in (K.ACCOUNT_FLAGGED, K.ACCOUNT_DEACTIVATED):  # about the account: the session is a line below
        assert email.subject == notice.title
    else:
        assert email.subject == f"{notice.title}: {BERLIN}"
        assert f"\n\nWhen: in 4 days, {BERLIN}\n\n" in email.text
        assert f"<p><strong>When:</strong> in 4 days, {BERLIN}</p>" in email.html
        assert notice.body.startswith(f"{notice.lead}\nWhen: in 4 days, {BERLIN}\n")


def test_the_join_url_is_a_link_in_html() -> None:
    email = render(compose(K.MEETING_LINK, recipient=PROVIDER, facts=facts(), now=TUESDAY - timedelta(hours=1)),
                   recipient=PROVIDER)
    assert email.subject == "Your session starts in 1 hour: Tuesday 24 November 2026, 10:00-11:00 (Europe/London)"
    assert f"\n\nJoin: {LINK}\n\n" in email.text
    assert '<a href="https://meet.example.org/s-abc?x=1&amp;y=2">https://meet.example.org/s-abc?x=1&amp;y=2</a>' in (
        email.html)


def test_notes_and_messages_are_escaped_in_html_only() -> None:
    declined = facts(decline_note="<script>x</script>", status=SessionStatus.DECLINED)
    email = render(compose(K.SESSION_DECLINED, recipient=MEMBER, facts=declined, now=NOW), recipient=MEMBER)
    assert "\n\nNote: <script>x</script>\n\n" in email.text
    assert "<p><strong>Note:</strong> &lt;script&gt;x&lt;/script&gt;</p>" in email.html
    notice = compose(K.MESSAGE_RECEIVED, recipient=MEMBER, facts=None, now=NOW, note="Lane: <b>hi")
    message = render(notice, recipient=MEMBER)
    assert (notice.body, message.subject, "Message: Lane: <b>hi" in message.text) == (
        "Lane: <b>hi", "New message", True)
    assert "<p><strong>Message:</strong> Lane: &lt;b&gt;hi</p>" in message.html


def test_a_proposed_time_is_shown_beside_the_current_one() -> None:
    proposed = facts(status=SessionStatus.RESCHEDULING, proposal_starts_at=TUESDAY.replace(day=25),
                     proposal_ends_at=TUESDAY.replace(day=25, hour=11))
    email = render(compose(K.NEW_TIME_PROPOSED, recipient=MEMBER, facts=proposed, now=NOW), recipient=MEMBER)
    assert (f"When: in 4 days, {BERLIN}\n\n"
            "Proposed time: in 5 days, Wednesday 25 November 2026, 11:00-12:00 (Europe/Berlin)\n") in email.text


def test_times_follow_daylight_saving_at_each_end() -> None:
    start, end = datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert span(start, end, "Europe/Berlin") == "Sunday 29 March 2026, 01:30-03:30 (Europe/Berlin)"
    assert span(start, end, "America/New_York") == "Saturday 28 March 2026, 20:30-21:30 (America/New_York)"


@pytest.mark.parametrize(("now", "zone", "words"), [
    (TUESDAY - timedelta(hours=2, minutes=30), "Europe/London", "today, in 2 hours 30 minutes"),
    (TUESDAY - timedelta(minutes=1), "Europe/London", "today, in 1 minute"),
    (TUESDAY - timedelta(seconds=20), "Europe/London", "today, in under a minute"),
    (TUESDAY - timedelta(hours=11), "Europe/London", "tomorrow, in 11 hours"),  # 23:00 Monday in London
    (TUESDAY - timedelta(hours=11), "Asia/Kolkata", "today, in 11 hours"),  # 04:30 Tuesday in Kolkata
    (TUESDAY - timedelta(hours=11), "America/New_York", "tomorrow, in 11 hours"),  # 18:00 Monday in New York
    (TUESDAY - timedelta(hours=24), "Europe/London", "tomorrow"),
    (TUESDAY - timedelta(days=6), "Europe/London", "in 6 days"),
    (TUESDAY - timedelta(days=7), "Europe/London", None),
    (TUESDAY + timedelta(minutes=10), "Europe/London", "now"),
    (TUESDAY + timedelta(hours=1), "Europe/London", None),
])
def test_relative_words_are_computed_in_the_recipients_zone(now: datetime, zone: str, words: str | None) -> None:
    assert relative(TUESDAY, TUESDAY + timedelta(hours=1), zone, now) == words


def test_chat_times_show_each_distinct_zone_once() -> None:
    assert chat_time(TUESDAY, ("Asia/Kolkata", "America/New_York")) == (
        "Tue 24 Nov 15:30 (Asia/Kolkata) / Tue 24 Nov 05:00 (America/New_York)")
    assert chat_time(TUESDAY, ("Europe/London", "Europe/London")) == "Tue 24 Nov 10:00 (Europe/London)"


def test_a_request_over_busy_time_warns_the_provider_only() -> None:
    busy = (Interval(TUESDAY - timedelta(minutes=30), TUESDAY + timedelta(minutes=15)),
            Interval(TUESDAY + timedelta(minutes=45), TUESDAY + timedelta(hours=2)))
    requested = replace(facts(status=SessionStatus.AWAITING_APPROVAL, approved_by_provider=False,
                              respond_by=TUESDAY - timedelta(hours=2)), conflicts=busy)
    notice = compose(K.SESSION_REQUESTED, recipient=PROVIDER, facts=requested, now=NOW)
    assert notice.remarks == ("You already have something at Tuesday 24 November 2026, 09:30-10:15 (Europe/London); "
                              "Tuesday 24 November 2026, 10:45-12:00 (Europe/London).",)
    assert notice.body.endswith("\nAnswer by: Tuesday 24 November 2026, 08:00 (Europe/London)\n"
                                + notice.remarks[0])
    email = render(notice, recipient=PROVIDER)
    assert f"\n\n{notice.remarks[0]}\n\n" in email.text and f"<p>{notice.remarks[0]}</p>" in email.html
    assert compose(K.SESSION_CONFIRMED, recipient=PROVIDER, facts=requested, now=NOW).remarks == ()
    assert compose(K.SESSION_REQUESTED, recipient=MEMBER, facts=requested, now=NOW).remarks == ()


def test_a_provider_no_show_that_deactivates_says_so() -> None:
    missed = replace(facts(status=SessionStatus.NO_SHOW), streak=5)
    own = compose(K.ACCOUNT_DEACTIVATED, recipient=PROVIDER, facts=missed, now=NOW)
    admin = compose(K.ACCOUNT_DEACTIVATED, recipient=person("Ops", Role.ADMIN, "UTC"), facts=missed, now=NOW)
    assert own.lines == (("Last", "the Therapy session with Sam <Member> & Co on Tuesday 24 November 2026, "
                                  "10:00-11:00 (Europe/London), not started by you (a no-show)"),)
    assert (admin.title, admin.lines) == ("Provider account deactivated: Dr Lane", (
        ("Last", "the Therapy session with Sam <Member> & Co on Tuesday 24 November 2026, 10:00-11:00 (UTC), "
                 "not started by the provider (a no-show)"),))


def test_a_phone_session_names_the_number_only_when_the_provider_may_see_it() -> None:
    called = facts(modality=Modality.PHONE)
    unseen = compose(K.SESSION_CONFIRMED, recipient=PROVIDER, facts=called, now=NOW)
    seen = compose(K.SESSION_CONFIRMED, recipient=PROVIDER, facts=replace(called, member_phone="+49 30 1"), now=NOW)
    assert dict(unseen.lines)["How"] == "Phone call: you call Sam <Member> & Co (no number available to you)"
    assert dict(seen.lines)["How"] == "Phone call: you call Sam <Member> & Co on +49 30 1"
    assert dict(compose(K.SESSION_CONFIRMED, recipient=MEMBER, facts=called, now=NOW).lines)["How"] == (
        "Phone call: Dr Lane calls Sam <Member> & Co")
