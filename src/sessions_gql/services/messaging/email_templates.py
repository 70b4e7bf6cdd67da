"""The email of a notification: subject, plain text and HTML, from the same notice as the in-app text
(services/messaging/notice_text.py), so it says what the in-app notice says, in the recipient's time zone.

Everything a user typed (names, notes, message previews) is escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from sessions_gql.db import models as m
from sessions_gql.services.messaging.notice_text import Notice

FOOTER = "You can choose which emails you receive in your notification settings; in-app notifications stay on."


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def render(notice: Notice, *, recipient: m.User) -> Email:
    """The email telling `recipient` about `notice`: its title (and the session's time) as the subject, its lead,
    one paragraph per fact, its remarks."""
    subject = f"{notice.title}: {notice.when}" if notice.when else notice.title
    greeting = f"Hello {recipient.display_name},"
    paragraphs = [notice.lead, *(f"{label}: {value}" for label, value in notice.lines), *notice.remarks]
    text = "\n\n".join([greeting, *paragraphs, FOOTER]) + "\n"
    return Email(subject=subject, text=text, html=_html(subject, greeting, notice))


def _html(subject: str, greeting: str, notice: Notice) -> str:
    rows = "".join(f"<p><strong>{escape(label)}:</strong> {_value(label, value)}</p>\n"
                   for label, value in notice.lines)
    remarks = "".join(f"<p>{escape(remark)}</p>\n" for remark in notice.remarks)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(subject)}</title></head>\n<body>\n'
        f"<p>{escape(greeting)}</p>\n<p>{escape(notice.lead)}</p>\n{rows}{remarks}"
        f'<p style="color:#666;font-size:small">{escape(FOOTER)}</p>\n</body></html>\n'
    )


def _value(label: str, value: str) -> str:
    if label == "Join":
        return f'<a href="{escape(value, quote=True)}">{escape(value)}</a>'
    return escape(value)
