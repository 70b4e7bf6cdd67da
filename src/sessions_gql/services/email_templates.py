"""The email for each notification kind: subject, plain text and HTML, in the recipient's time zone.

Everything a user typed (names, notes, message previews) is escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind, Role

K = NotificationKind
LEADS: dict[NotificationKind, str] = {
    K.SESSION_REQUESTED: "A member has requested a session with you. Please confirm or decline it.",
    K.SESSION_PROPOSED: "A session was proposed to you. Please confirm or decline it.",
    K.SESSION_CONFIRMED: "Your session is confirmed.",
    K.SESSION_DECLINED: "Your session request was declined.",
    K.SESSION_CANCELLED: "Your session was cancelled.",
    K.SESSION_EXPIRED: "The session request expired without an answer.",
    K.NEW_TIME_PROPOSED: "A new time was proposed for your session. Please accept or reject it.",
    K.NEW_TIME_ACCEPTED: "The new time for your session was accepted.",
    K.NEW_TIME_REJECTED: "The new time proposed for your session was rejected.",
    K.MEETING_REMINDER: "A reminder: your session is tomorrow.",
    K.MEETING_LINK: "Your session starts in an hour.",
    K.MEMBER_WAITING: "Your client is in the waiting room.",
    K.NO_SHOW_MARKED: "The session was marked as a no-show.",
    K.SESSION_REFUNDED: "The session was refunded.",
    K.MESSAGE_RECEIVED: "You have a new message.",
    K.ACCOUNT_FLAGGED: "Your account was flagged after repeated cancellations; it ranks lower in search.",
    K.ACCOUNT_DEACTIVATED: "Your account was deactivated after repeated cancellations.",
}
ADMIN_DEACTIVATED = "A provider's account was deactivated after repeated cancellations."
LINK_KINDS = (K.MEETING_LINK, K.MEMBER_WAITING)
FOOTER = "You can choose which emails you receive in your notification settings; in-app notifications stay on."


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def when(starts_at: datetime, ends_at: datetime, time_zone: str) -> str:
    """E.g. "Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"."""
    zone = ZoneInfo(time_zone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}-{end:%H:%M} ({time_zone})"


def render(kind: NotificationKind, *, recipient: m.User, session: m.Session | None, title: str, note: str
           ) -> Email:
    """The email telling `recipient` about a notification: `title` and `note` are its in-app title and body."""
    lines = _facts(kind, recipient, session, note)
    subject = title
    if session is not None:
        subject = f"{subject}: {when(session.starts_at, session.ends_at, recipient.time_zone)}"
    lead = ADMIN_DEACTIVATED if kind is K.ACCOUNT_DEACTIVATED and recipient.role is Role.ADMIN else LEADS[kind]
    greeting = f"Hello {recipient.display_name},"
    text = "\n\n".join([greeting, lead, *(f"{label}: {value}" for label, value in lines), FOOTER]) + "\n"
    return Email(subject=subject, text=text, html=_html(subject, greeting, lead, lines))


def _facts(kind: NotificationKind, recipient: m.User, session: m.Session | None, note: str
           ) -> list[tuple[str, str]]:
    """(label, value) lines below the lead; values are plain text (escaped for HTML later)."""
    if session is None:
        return [("Message", note)] if kind is K.MESSAGE_RECEIVED else []
    facts = [("When", when(session.starts_at, session.ends_at, recipient.time_zone))]
    if kind is K.NEW_TIME_PROPOSED and session.proposal_starts_at and session.proposal_ends_at:
        facts.append(("Proposed time", when(session.proposal_starts_at, session.proposal_ends_at,
                                            recipient.time_zone)))
    if kind is K.SESSION_DECLINED and session.decline_note:
        facts.append(("Note", session.decline_note))
    if kind is K.SESSION_CANCELLED and session.cancellation_note:
        facts.append(("Note", session.cancellation_note))
    if kind is K.MESSAGE_RECEIVED:
        facts.append(("Message", note))
    if kind in LINK_KINDS and session.video_room_url:
        facts.append(("Join", session.video_room_url))
    return facts


def _html(subject: str, greeting: str, lead: str, lines: list[tuple[str, str]]) -> str:
    rows = "".join(f"<p><strong>{escape(label)}:</strong> {_value(label, value)}</p>\n" for label, value in lines)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(subject)}</title></head>\n<body>\n'
        f"<p>{escape(greeting)}</p>\n<p>{escape(lead)}</p>\n{rows}"
        f'<p style="color:#666;font-size:small">{escape(FOOTER)}</p>\n</body></html>\n'
    )


def _value(label: str, value: str) -> str:
    if label == "Join":
        return f'<a href="{escape(value, quote=True)}">{escape(value)}</a>'
    return escape(value)
