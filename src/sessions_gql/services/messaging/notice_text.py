"""The words of every notice, for every channel: in-app notifications, their emails, and the times in system chat
messages. One formatter, so a channel cannot say less than another (DOMAIN.md "Notifications").

A notice about a session names the other party, the service, the time in the recipient's own time zone (the zone
named) with relative words ("today, in 2 hours 30 minutes", "tomorrow") computed in that zone at `now`, the
modality (PHONE: the member's number for the provider, when the visibility rules let them see it; IN_PERSON: the
location) and the join link when there is one. System chat messages are read by both parties, at any later time:
they show the time in the member's and, when it differs, the provider's zone, and no relative words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.loaders import Loaders
from sessions_gql.domain.enums import Modality, NotificationKind, Party, Role, SessionStatus
from sessions_gql.domain.errors import Interval
from sessions_gql.services import visibility
from sessions_gql.services.sessions import conflicts

K = NotificationKind
S = SessionStatus
TITLES: dict[NotificationKind, str] = {
    K.SESSION_REQUESTED: "New session request",
    K.SESSION_PROPOSED: "A session was proposed to you",
    K.SESSION_CONFIRMED: "Session confirmed",
    K.SESSION_DECLINED: "Session declined",
    K.SESSION_CANCELLED: "Session cancelled",
    K.SESSION_EXPIRED: "Session request expired",
    K.NEW_TIME_PROPOSED: "A new time was proposed",
    K.NEW_TIME_ACCEPTED: "New time accepted",
    K.NEW_TIME_REJECTED: "New time rejected",
    K.NEW_TIME_WITHDRAWN: "New time withdrawn",
    K.NEW_TIME_EXPIRED: "Proposed new time lapsed",
    K.MEETING_REMINDER: "Session reminder",
    K.MEETING_LINK: "Your meeting link",
    K.MEMBER_WAITING: "Your client is in the waiting room",
    K.NO_SHOW_MARKED: "Session marked as a no-show",
    K.SESSION_REFUNDED: "Session refunded",
    K.MESSAGE_RECEIVED: "New message",
    K.ACCOUNT_FLAGGED: "Your account was flagged for cancellations",
    K.ACCOUNT_DEACTIVATED: "Your account was deactivated",
}
"""The title of each kind; reminders, the meeting link and an admin's deactivation notice say more (`compose`)."""
SUPPORT = "support"
ASK_ANSWER = (K.SESSION_REQUESTED, K.SESSION_PROPOSED, K.NEW_TIME_PROPOSED)
"""Notices that ask for an answer: the one awaited is told when to answer by; the provider, of their conflicts (a
member's request or new time always fits the provider's free time when made, so a provider's notice shows
conflicts when busy time was already there and an admin proposed the time for them)."""


@dataclass(frozen=True)
class Facts:
    """What notices about one session say, read in the transaction that sends them."""

    row: m.Session
    member: m.User
    provider: m.User
    service: str
    member_phone: str | None = None
    """The member's phone when the provider may see it (the same rule as `Session.phoneNumber`)."""
    conflicts: tuple[Interval, ...] = ()
    dropped_starts_at: datetime | None = None
    """The start of a proposal this transition dropped (rejected, withdrawn or lapsed)."""
    streak: int = 0
    """The provider's consecutive cancellations, for the account notices."""


@dataclass(frozen=True)
class Notice:
    title: str
    lead: str
    lines: tuple[tuple[str, str], ...] = ()
    remarks: tuple[str, ...] = ()
    when: str | None = None
    """The session's time as the recipient reads it, without relative words (the email subject's)."""
    plain_body: str | None = field(default=None)
    """A body given as is (a message preview), instead of lead and lines."""

    @property
    def body(self) -> str:
        """The in-app text: the lead, one line per fact, then the remarks."""
        if self.plain_body is not None:
            return self.plain_body
        return "\n".join([self.lead, *(f"{label}: {value}" for label, value in self.lines), *self.remarks])


async def gather(db: AsyncSession, row: m.Session, *, dropped_starts_at: datetime | None = None,
                 with_conflicts: bool = True) -> Facts:
    """The parties, the service, the member's phone for the provider and (`with_conflicts`: only notices that ask
    for an answer show them) the provider's conflicts."""
    member = await db.get(m.Member, row.member_id)
    provider = await db.get(m.Provider, row.provider_id)
    assert member is not None and provider is not None
    member_user, provider_user = await db.get(m.User, member.user_id), await db.get(m.User, provider.user_id)
    service = await db.get(m.Service, row.service_id)
    assert member_user is not None and provider_user is not None

    async def same_session() -> AsyncSession:
        return db

    loaders = Loaders(same_session)
    phone = None
    if row.modality is Modality.PHONE:
        await db.flush()  # the transition's own timeline rows count: a request makes the member's phone visible
        as_provider = Viewer(user_id=provider_user.id, role=Role.PROVIDER, time_zone=provider_user.time_zone,
                             provider_id=provider.id)
        if await visibility.sees_contact_details(as_provider, row.member_id, loaders):
            phone = member_user.phone
    found = await conflicts.of_session(loaders, row) if with_conflicts else []
    return Facts(row=row, member=member_user, provider=provider_user, service=service.name if service else "session",
                 member_phone=phone, conflicts=tuple(found), dropped_starts_at=dropped_starts_at,
                 streak=provider.consecutive_cancellations)


# ------------------------------------------------------------------ times


def span(starts_at: datetime, ends_at: datetime, time_zone: str) -> str:
    """E.g. "Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"."""
    zone = ZoneInfo(time_zone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}-{end:%H:%M} ({time_zone})"


def instant(at: datetime, time_zone: str) -> str:
    """E.g. "Tuesday 24 November 2026, 11:00 (Europe/Berlin)"."""
    local = at.astimezone(ZoneInfo(time_zone))
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} ({time_zone})"


def duration(minutes: int) -> str:
    """'45 minutes', '1 hour', '2 hours 30 minutes'."""
    if minutes < 1:
        return "under a minute"
    hours, rest = divmod(minutes, 60)
    words = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest:
        words.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(words)


def relative(starts_at: datetime, ends_at: datetime, time_zone: str, now: datetime) -> str | None:
    """Relative words for a session's start, in the recipient's zone at `now`: "today, in 2 hours 30 minutes",
    "tomorrow", "in 3 days", "now" (under way); None once it is over or a week or more away."""
    if now >= ends_at:
        return None
    if now >= starts_at:
        return "now"
    zone = ZoneInfo(time_zone)
    days = (starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    words = []
    if days == 0:
        words.append("today")
    elif days == 1:
        words.append("tomorrow")
    elif days < 7:
        words.append(f"in {days} days")
    minutes = int((starts_at - now).total_seconds() // 60)
    if minutes < 12 * 60:
        words.append(f"in {duration(minutes)}")
    return ", ".join(words) or None


def timed(starts_at: datetime, ends_at: datetime, time_zone: str, now: datetime) -> str:
    """The relative words, then the span: "tomorrow, Tuesday 24 November 2026, 11:00-12:00 (Europe/Berlin)"."""
    words = relative(starts_at, ends_at, time_zone, now)
    exact = span(starts_at, ends_at, time_zone)
    return f"{words}, {exact}" if words else exact


def chat_time(at: datetime | None, zones: tuple[str, ...]) -> str:
    """A time in a system chat message: 'Tue 24 Nov 11:00 (Europe/Berlin)', followed by the same instant in each
    other zone given ('/ Tue 24 Nov 10:00 (Europe/London)'): the member's first, then the provider's."""
    if at is None:
        return "an unknown time"
    shown = []
    for time_zone in dict.fromkeys(zones):
        local = at.astimezone(ZoneInfo(time_zone))
        shown.append(f"{local:%a} {local.day} {local:%b %H:%M} ({time_zone})")
    return " / ".join(shown)


# ------------------------------------------------------------------ notices


def compose(kind: NotificationKind, *, recipient: m.User, facts: Facts | None, now: datetime,
            note: str | None = None, session: m.Session | None = None) -> Notice:
    """The notice of `kind` written for `recipient` at `now`.

    A message (MESSAGE_RECEIVED) is its preview `note` ("Sam Member: hello"), with the time of the `session` it is
    about, if any, in the email's subject; it needs no `facts`.
    """
    if kind is K.MESSAGE_RECEIVED:
        when = span(session.starts_at, session.ends_at, recipient.time_zone) if session is not None else None
        return Notice(title=TITLES[kind], lead="You have a new message.", lines=(("Message", note or ""),),
                      when=when, plain_body=note or "")
    if facts is None:
        return Notice(title=TITLES[kind], lead=TITLES[kind] + ".")
    return _Writer(kind, recipient, facts, now).notice()


class _Writer:
    """One notice about a session for one recipient."""

    def __init__(self, kind: NotificationKind, recipient: m.User, facts: Facts, now: datetime) -> None:
        self.kind, self.recipient, self.facts, self.now = kind, recipient, facts, now
        self.row = facts.row
        self.zone = recipient.time_zone
        if recipient.id == facts.member.id:
            self.party: Party | None = Party.MEMBER
        elif recipient.id == facts.provider.id:
            self.party = Party.PROVIDER
        else:
            self.party = None
        member, provider = facts.member.display_name, facts.provider.display_name
        self.other = provider if self.party is Party.MEMBER else member
        self.service = facts.service

    def notice(self) -> Notice:
        row, kind = self.row, self.kind
        lines: list[tuple[str, str]] = [("When", timed(row.starts_at, row.ends_at, self.zone, self.now))]
        remarks: list[str] = []
        title = TITLES[kind]
        if kind in (K.ACCOUNT_FLAGGED, K.ACCOUNT_DEACTIVATED):
            return self._account()
        if kind is K.NEW_TIME_PROPOSED and row.status is S.RESCHEDULING and row.proposal_starts_at is not None \
                and row.proposal_ends_at is not None:
            lines.append(("Proposed time", timed(row.proposal_starts_at, row.proposal_ends_at, self.zone,
                                                 self.now)))
        if kind in (K.NEW_TIME_REJECTED, K.NEW_TIME_WITHDRAWN, K.NEW_TIME_EXPIRED) and self.facts.dropped_starts_at:
            lines.append(("Dropped time", instant(self.facts.dropped_starts_at, self.zone)))
        if row.status not in (S.CANCELLED, S.DECLINED, S.EXPIRED, S.COMPLETED, S.NO_SHOW):
            lines.append(("How", self._how()))
            if row.video_room_url and self.party is not None:
                lines.append(("Join", row.video_room_url))
        if kind in ASK_ANSWER and row.status is S.AWAITING_APPROVAL and row.respond_by is not None \
                and self._awaited():
            lines.append(("Answer by", instant(row.respond_by, self.zone)))
        if kind is K.SESSION_DECLINED:
            lines += self._reason(row.decline_reason.value if row.decline_reason else None, row.decline_note)
        if kind is K.SESSION_CANCELLED:
            lines += self._reason(row.cancellation_reason.value if row.cancellation_reason else None,
                                  row.cancellation_note)
        if kind in ASK_ANSWER and self.party is Party.PROVIDER and self.facts.conflicts:
            busy = "; ".join(span(c.starts_at, c.ends_at, self.zone) for c in self.facts.conflicts)
            remarks.append(f"You already have something at {busy}.")
        words = relative(row.starts_at, row.ends_at, self.zone, self.now)
        if kind is K.MEETING_REMINDER and words:
            title = f"Your session is {words}"
        if kind is K.MEETING_LINK:
            title = f"Your session starts {self._starts_in()}"
        return Notice(title=title, lead=self._lead(), lines=tuple(lines), remarks=tuple(remarks),
                      when=span(row.starts_at, row.ends_at, self.zone))

    def _awaited(self) -> bool:
        row = self.row
        awaited = Party.PROVIDER if not row.approved_by_provider else Party.MEMBER
        return self.party is awaited

    def _starts_in(self) -> str:
        minutes = int((self.row.starts_at - self.now).total_seconds() // 60)
        return "now" if minutes <= 0 else f"in {duration(minutes)}"

    def _how(self) -> str:
        row, facts = self.row, self.facts
        if row.modality is Modality.PHONE:
            if self.party is Party.PROVIDER:
                if facts.member_phone is None:  # none on file, or not theirs to see yet (an unanswered proposal)
                    return f"Phone call: you call {facts.member.display_name} (no number available to you)"
                return f"Phone call: you call {facts.member.display_name} on {facts.member_phone}"
            if self.party is Party.MEMBER and facts.member.phone:
                return f"Phone call: {facts.provider.display_name} calls you on {facts.member.phone}"
            return f"Phone call: {facts.provider.display_name} calls {facts.member.display_name}"
        if row.modality is Modality.IN_PERSON:
            return f"In person at {row.location}" if row.location else "In person"
        return "Video call"

    @staticmethod
    def _reason(reason: str | None, note: str | None) -> list[tuple[str, str]]:
        lines = [("Reason", reason.replace("_", " ").lower().capitalize())] if reason else []
        return lines + ([("Note", note)] if note else [])

    def _by(self, role: Role | None) -> str | None:
        """Who did it, as the recipient reads it."""
        if role is Role.ADMIN:
            return SUPPORT
        person = {Role.MEMBER: self.facts.member, Role.PROVIDER: self.facts.provider}.get(role) if role else None
        if person is None:
            return None
        return "you" if person.id == self.recipient.id else person.display_name

    def _lead(self) -> str:
        row, other, service, kind = self.row, self.other, self.service, self.kind
        member, provider = self.facts.member.display_name, self.facts.provider.display_name
        session = f"your {service} session with {other}"
        if kind is K.SESSION_REQUESTED:
            if self.party is Party.PROVIDER:
                if row.created_by is Role.ADMIN:
                    return f"Support requested a {service} session with you for {member}. Please confirm or decline it."
                return f"{member} requested a {service} session with you. Please confirm or decline it."
            return f"A {service} session with {provider} was requested for you; {provider} will confirm or decline it."
        if kind is K.SESSION_PROPOSED:
            if self.party is Party.MEMBER:
                return f"{provider} proposed a {service} session to you. Please confirm or decline it."
            return f"A {service} session with {member} was proposed for you; {member} will confirm or decline it."
        if kind is K.SESSION_CONFIRMED:
            return f"{session[0].upper()}{session[1:]} is confirmed."
        if kind is K.SESSION_DECLINED:
            return f"{session[0].upper()}{session[1:]} was declined."
        if kind is K.SESSION_CANCELLED:
            by = self._by(row.cancelled_by)
            return f"{session[0].upper()}{session[1:]} was cancelled{f' by {by}' if by else ''}."
        if kind is K.SESSION_EXPIRED:
            return f"{session[0].upper()}{session[1:]} expired without an answer; it is not booked."
        if kind is K.NEW_TIME_PROPOSED:
            if row.status is S.RESCHEDULING:
                return f"A new time was proposed for {session}. Please accept or reject it."
            return f"A different time was proposed for {session}. Please confirm or decline it."
        if kind is K.NEW_TIME_ACCEPTED:
            return f"The new time for {session} was accepted; the session has moved."
        if kind is K.NEW_TIME_REJECTED:
            return f"The new time proposed for {session} was rejected; it stays at its original time."
        if kind is K.NEW_TIME_WITHDRAWN:
            return f"The new time proposed for {session} was withdrawn; it stays at its original time."
        if kind is K.NEW_TIME_EXPIRED:
            return (f"The new time proposed for {session} was not answered before the session's start, so it "
                    "lapsed; the session stays at its original time.")
        if kind is K.MEETING_REMINDER:
            words = relative(row.starts_at, row.ends_at, self.zone, self.now)
            return f"A reminder: {session} is {words}." if words else f"A reminder about {session}."
        if kind is K.MEETING_LINK:
            return f"{session[0].upper()}{session[1:]} starts {self._starts_in()}."
        if kind is K.MEMBER_WAITING:
            return f"{member} is in the waiting room for your {service} session."
        if kind is K.NO_SHOW_MARKED:
            if row.no_show_party is Party.PROVIDER:
                who = "you" if self.party is Party.PROVIDER else provider
                return f"{session[0].upper()}{session[1:]} was not started: a no-show by {who}."
            who = "you were" if self.party is Party.MEMBER else f"{member} was"
            return f"{session[0].upper()}{session[1:]}: {who} marked as a no-show."
        if kind is K.SESSION_REFUNDED:
            return f"{session[0].upper()}{session[1:]} was refunded: {row.refunded_credits} credits in all so far."
        return f"{TITLES[kind]}."

    def _account(self) -> Notice:
        """The provider's own account, or (for admins) the named provider's, and the session that tipped it."""
        row, facts, kind = self.row, self.facts, self.kind
        provider, streak = facts.provider.display_name, facts.streak
        mine = self.party is Party.PROVIDER
        if row.status is S.NO_SHOW:
            what = "not started by you (a no-show)" if mine else "not started by the provider (a no-show)"
        else:
            by = self._by(row.cancelled_by)
            what = f"cancelled by {by if mine or by != provider else 'the provider'}" if by else "cancelled"
        last = (f"the {facts.service} session with {facts.member.display_name} on "
                f"{span(row.starts_at, row.ends_at, self.zone)}, {what}")
        lines = (("Last", last),)
        if kind is K.ACCOUNT_FLAGGED:
            return Notice(title=TITLES[kind], lead=(
                f"Your account was flagged after {streak} cancellations in a row; it ranks lower in search until "
                "you complete a session."), lines=lines)
        if mine:
            return Notice(title=TITLES[kind], lead=(
                f"Your account was deactivated automatically after {streak} cancellations in a row. Members "
                "cannot book you and pending requests cannot be confirmed until an admin reactivates it."),
                lines=lines)
        return Notice(title=f"Provider account deactivated: {provider}", lead=(
            f"{provider}'s provider account was deactivated automatically after {streak} cancellations in a row. "
            "Only an admin can reactivate it."), lines=lines)
