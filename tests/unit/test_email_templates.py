"""Every notification kind has an email, in the recipient's time zone, with what the user typed escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind, Role
from sessions_gql.services.email_templates import LEADS, render, when
from sessions_gql.services.notify import TITLES

K = NotificationKind
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BERLIN = "Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"
LINK = "https://meet.example.org/s-abc?x=1&y=2"


def person(role: Role = Role.MEMBER) -> m.User:
    return m.User(role=role, display_name="Sam <Member> & Co", time_zone="Europe/Berlin", email="sam@member.test")


def session(**values: object) -> m.Session:
    return m.Session(starts_at=TUESDAY, ends_at=TUESDAY.replace(hour=11), video_room_url=LINK, **values)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_has_a_subject_text_and_html_in_the_recipients_time_zone(kind: NotificationKind) -> None:
    email = render(kind, recipient=person(), session=session(), title=TITLES[kind], note="Lane: hello")
    assert email.subject == f"{TITLES[kind]}: {BERLIN}"
    assert email.text.startswith(f"Hello Sam <Member> & Co,\n\n{LEADS[kind]}\n\nWhen: {BERLIN}\n")
    assert "<p>Hello Sam &lt;Member&gt; &amp; Co,</p>" in email.html
    assert f"<p><strong>When:</strong> {BERLIN}</p>" in email.html


def test_the_meeting_link_carries_the_join_url() -> None:
    email = render(K.MEETING_LINK, recipient=person(), session=session(), title="t", note="n")
    assert f"\n\nJoin: {LINK}\n\n" in email.text
    assert '<a href="https://meet.example.org/s-abc?x=1&amp;y=2">https://meet.example.org/s-abc?x=1&amp;y=2</a>' in (
        email.html)


def test_notes_and_messages_are_escaped_in_html_only() -> None:
    declined = render(K.SESSION_DECLINED, recipient=person(), session=session(decline_note="<script>x</script>"),
                      title="t", note="n")
    assert "\n\nNote: <script>x</script>\n\n" in declined.text
    assert "<p><strong>Note:</strong> &lt;script&gt;x&lt;/script&gt;</p>" in declined.html
    message = render(K.MESSAGE_RECEIVED, recipient=person(), session=None, title="New message", note="Lane: <b>hi")
    assert (message.subject, "Message: Lane: <b>hi" in message.text) == ("New message", True)
    assert "<p><strong>Message:</strong> Lane: &lt;b&gt;hi</p>" in message.html


def test_a_proposed_time_is_shown_beside_the_current_one() -> None:
    proposed = session(proposal_starts_at=TUESDAY.replace(day=25), proposal_ends_at=TUESDAY.replace(day=25, hour=11))
    email = render(K.NEW_TIME_PROPOSED, recipient=person(), session=proposed, title="t", note="n")
    assert f"When: {BERLIN}\n\nProposed time: Wednesday 25 November 2026, 11:00-12:00 (Europe/Berlin)\n" in email.text


def test_admins_hear_that_a_providers_account_was_deactivated() -> None:
    email = render(K.ACCOUNT_DEACTIVATED, recipient=person(Role.ADMIN), session=session(), title="t", note="n")
    assert "A provider's account was deactivated after repeated cancellations." in email.text


def test_times_follow_daylight_saving_at_each_end() -> None:
    start, end = datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert when(start, end, "Europe/Berlin") == "Sunday 29 March 2026, 01:30-03:30 (Europe/Berlin)"
    assert when(start, end, "America/New_York") == "Saturday 28 March 2026, 20:30-21:30 (America/New_York)"
