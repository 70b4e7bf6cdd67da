"""The text of the system message a booking event posts into the pair's conversation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party, SessionStatus, TimelineEventType
from sessions_gql.domain.events import TimelineRecorded

T = TimelineEventType
Describe = Callable[[TimelineRecorded, m.Session], str]


def when(at: datetime | None) -> str:
    """'Tue 24 Nov 10:00 UTC': both parties read the same words, whatever their time zones."""
    if at is None:
        return "an unknown time"
    return f"{at:%a} {at.day} {at:%b %H:%M} UTC"


def _moved(verb: str) -> Describe:
    return lambda e, row: f"New time {when(e.new_starts_at)} {verb}; the session stays at {when(row.starts_at)}"


def _no_show(event: TimelineRecorded, row: m.Session) -> str:
    who = "provider" if event.reason == Party.PROVIDER.value else "member"
    return f"Session on {when(row.starts_at)} marked as a no-show: the {who} did not attend"


def _expired(event: TimelineRecorded, row: m.Session) -> str:
    if event.reason == "PROPOSAL":
        return _moved("lapsed")(event, row)
    return f"Session request for {when(row.starts_at)} expired without an answer"


TEXTS: dict[TimelineEventType, Describe] = {
    T.REQUESTED: lambda e, row: f"Session requested for {when(row.starts_at)}",
    T.PROPOSED: lambda e, row: f"Session proposed for {when(row.starts_at)}",
    T.APPROVED_BY_MEMBER: lambda e, row: f"Session confirmed for {when(row.starts_at)}",
    T.APPROVED_BY_PROVIDER: lambda e, row: f"Session confirmed for {when(row.starts_at)}",
    T.DECLINED: lambda e, row: f"Session request for {when(row.starts_at)} declined",
    T.WITHDRAWN: lambda e, row: f"Session request for {when(row.starts_at)} withdrawn",
    T.CANCELLED_BY_MEMBER: lambda e, row: f"Session on {when(row.starts_at)} cancelled by the member",
    T.CANCELLED_BY_PROVIDER: lambda e, row: f"Session on {when(row.starts_at)} cancelled by the provider",
    T.CANCELLED_BY_ADMIN: lambda e, row: f"Session on {when(row.starts_at)} cancelled by support",
    T.NEW_TIME_PROPOSED: lambda e, row: f"New time proposed: {when(e.new_starts_at)} "
                                        f"(was {when(e.previous_starts_at)})",
    T.NEW_TIME_ACCEPTED: lambda e, row: f"New time accepted: the session is now {when(e.new_starts_at)}",
    T.NEW_TIME_REJECTED: _moved("declined"),
    T.NEW_TIME_WITHDRAWN: _moved("withdrawn"),
    T.EXPIRED: _expired,
    T.NO_SHOW_MARKED: _no_show,
    T.COMPLETED: lambda e, row: f"Session on {when(row.starts_at)} completed",
}


def describe(event: TimelineRecorded, row: m.Session) -> str | None:
    """The message for an event that changes the session's status or time; None for every other event."""
    if event.type in (T.APPROVED_BY_MEMBER, T.APPROVED_BY_PROVIDER) and event.to_status is not SessionStatus.CONFIRMED:
        return None
    text = TEXTS.get(event.type)
    return text(event, row) if text is not None else None
