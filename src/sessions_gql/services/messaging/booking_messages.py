"""The text of the system message a booking event posts into the pair's conversation.

Both parties read it, at any later time: times are shown in the member's zone and, when it differs, the
provider's (notice_text.chat_time), with no relative words, which would be stale the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party, SessionStatus, TimelineEventType
from sessions_gql.domain.events import TimelineRecorded
from sessions_gql.services.messaging.notice_text import chat_time

T = TimelineEventType
When = Callable[[datetime | None], str]
Describe = Callable[[TimelineRecorded, m.Session, When], str]


def _moved(verb: str) -> Describe:
    return lambda e, row, when: (f"New time {when(e.new_starts_at)} {verb}; "
                                 f"the session stays at {when(row.starts_at)}")


def _no_show(event: TimelineRecorded, row: m.Session, when: When) -> str:
    who = "provider" if event.reason == Party.PROVIDER.value else "member"
    return f"Session on {when(row.starts_at)} marked as a no-show: the {who} did not attend"


def _expired(event: TimelineRecorded, row: m.Session, when: When) -> str:
    if event.reason == "PROPOSAL":
        return _moved("lapsed")(event, row, when)
    return f"Session request for {when(row.starts_at)} expired without an answer"


TEXTS: dict[TimelineEventType, Describe] = {
    T.REQUESTED: lambda e, row, when: f"Session requested for {when(row.starts_at)}",
    T.PROPOSED: lambda e, row, when: f"Session proposed for {when(row.starts_at)}",
    T.APPROVED_BY_MEMBER: lambda e, row, when: f"Session confirmed for {when(row.starts_at)}",
    T.APPROVED_BY_PROVIDER: lambda e, row, when: f"Session confirmed for {when(row.starts_at)}",
    T.DECLINED: lambda e, row, when: f"Session request for {when(row.starts_at)} declined",
    T.WITHDRAWN: lambda e, row, when: f"Session request for {when(row.starts_at)} withdrawn",
    T.CANCELLED_BY_MEMBER: lambda e, row, when: f"Session on {when(row.starts_at)} cancelled by the member",
    T.CANCELLED_BY_PROVIDER: lambda e, row, when: f"Session on {when(row.starts_at)} cancelled by the provider",
    T.CANCELLED_BY_ADMIN: lambda e, row, when: f"Session on {when(row.starts_at)} cancelled by support",
    T.NEW_TIME_PROPOSED: lambda e, row, when: f"New time proposed: {when(e.new_starts_at)} "
                                              f"(was {when(e.previous_starts_at)})",
    T.NEW_TIME_ACCEPTED: lambda e, row, when: f"New time accepted: the session is now {when(e.new_starts_at)}",
    T.NEW_TIME_REJECTED: _moved("declined"),
    T.NEW_TIME_WITHDRAWN: _moved("withdrawn"),
    T.EXPIRED: _expired,
    T.NO_SHOW_MARKED: _no_show,
    T.COMPLETED: lambda e, row, when: f"Session on {when(row.starts_at)} completed",
}


def describe(event: TimelineRecorded, row: m.Session, zones: tuple[str, ...]) -> str | None:
    """The message for an event that changes the session's status or time; None for every other event.
    `zones`: the member's time zone, then the provider's."""
    if event.type in (T.APPROVED_BY_MEMBER, T.APPROVED_BY_PROVIDER) and event.to_status is not SessionStatus.CONFIRMED:
        return None
    text = TEXTS.get(event.type)
    return text(event, row, lambda at: chat_time(at, zones)) if text is not None else None
