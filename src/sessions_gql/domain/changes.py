"""What one transition changed, as data: the use case persists it in one place (services/sessions/repository).

`Changes.of(before, after, events)` sorts a transition's domain events into what has to be written, and adds
what follows from the session's state alone: the slot holds it keeps and the time-driven jobs it calls for.
Both are functions of the state, so they are written only when the transition changed them.

Choices where DOMAIN.md is silent:
- A reminder due before the session is agreed goes out at once, unless the session has already started; it
  is keyed by the start it announces, so it is sent once per time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sessions_gql.domain import events as ev
from sessions_gql.domain.enums import NotificationKind, SessionStatus, TimelineEventType
from sessions_gql.domain.errors import Interval
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.reliability import ProviderReliability
from sessions_gql.domain.session import Session

S = SessionStatus
REMINDER_JOBS = {NotificationKind.MEETING_REMINDER: "member_reminder",
                 NotificationKind.MEETING_LINK: "provider_link"}
SESSION_JOB_KINDS = ("expire", "expire_proposal", "provider_no_show", "auto_complete", *REMINDER_JOBS.values())
DROPPING = (TimelineEventType.NEW_TIME_REJECTED, TimelineEventType.NEW_TIME_WITHDRAWN, TimelineEventType.EXPIRED)

Job = tuple[str, str, datetime]
"""(kind, dedupe key, when)."""


def wanted_jobs(session: Session, policy: BookingPolicy, now: datetime) -> list[Job]:
    """Each time-driven step this session's state calls for."""
    jobs: list[tuple[str, datetime]] = []
    if session.status is S.AWAITING_APPROVAL and session.respond_by is not None:
        jobs.append(("expire", session.respond_by))
    if session.status is S.RESCHEDULING:
        jobs.append(("expire_proposal", session.starts_at))
    if session.status in (S.CONFIRMED, S.RESCHEDULING):
        jobs.append(("provider_no_show", session.ends_at + policy.end_grace))
    if session.status is S.IN_PROGRESS:
        jobs.append(("auto_complete", session.ends_at + policy.end_grace))
    keyed = [(kind, at.isoformat(), at) for kind, at in jobs]
    if session.starts_at > now:
        for kind, at in session.reminders_due(policy=policy):
            keyed.append((REMINDER_JOBS[kind], f"start:{session.starts_at.isoformat()}", max(at, now)))
    return keyed


@dataclass
class Changes:
    """A transition's effects, in the order they happened."""

    timeline: list[ev.TimelineRecorded] = field(default_factory=list)
    moves: list[ev.FundsMoved] = field(default_factory=list)
    notices: list[ev.PartyNotified] = field(default_factory=list)
    figures: ProviderReliability | None = None
    """The provider's reliability figures after the transition (None: it did not move them)."""
    deactivate: bool = False
    """The provider is deactivated automatically; the admins are told."""
    holds: list[tuple[str, Interval]] | None = None
    """The slot holds the session keeps now; None when the transition left them as they were."""
    jobs_added: list[Job] = field(default_factory=list)
    """Jobs the session calls for now and did not before."""
    jobs_dropped: list[tuple[str, str]] = field(default_factory=list)
    """(kind, dedupe key) of jobs it called for before and no longer does (dropped unless they ran)."""
    jobs_sweep: bool = False
    """Every pending job is dropped and the ones the session calls for now are made again: once it has started,
    and when it calls for none (one statement instead of one per job)."""
    dropped_starts_at: datetime | None = None
    """The start of a proposal this transition dropped (rejected, withdrawn or lapsed), for the notices."""

    @classmethod
    def of(cls, *, before: Session | None, after: Session, events: list[ev.DomainEvent], policy: BookingPolicy,
           now: datetime, figures: ProviderReliability) -> Changes:
        """`before` None: a new session. `figures`: the provider's reliability before (not changed)."""
        changes = cls()
        queue = list(events)
        while queue:  # a cancellation counted against the provider may flag or deactivate them: more events
            event = queue.pop(0)
            if isinstance(event, ev.TimelineRecorded):
                changes.timeline.append(event)
                if event.type in DROPPING and event.new_starts_at is not None and changes.dropped_starts_at is None:
                    changes.dropped_starts_at = event.new_starts_at
            elif isinstance(event, ev.FundsMoved):
                changes.moves.append(event)
            elif isinstance(event, ev.PartyNotified):
                changes.notices.append(event)
            elif isinstance(event, ev.ProviderCancelled | ev.ProviderResponded | ev.SessionCompleted):
                changes.figures = changes.figures or replace(figures)
                if isinstance(event, ev.ProviderCancelled):
                    queue.extend(changes.figures.record_cancellation(late=event.late, policy=policy))
                elif isinstance(event, ev.ProviderResponded):
                    changes.figures.record_response(minutes=event.minutes, policy=policy, late=event.late)
                else:
                    changes.figures.record_completed()
            elif isinstance(event, ev.ProviderDeactivationRequested):
                changes.deactivate = True
        held = after.held_intervals()
        if before is None or held != before.held_intervals():
            changes.holds = held
        wanted = wanted_jobs(after, policy, now)
        if before is None:
            changes.jobs_added = wanted
        elif after.starts_at <= now or not wanted:  # started (reminders left over go too), or nothing more to run
            changes.jobs_added, changes.jobs_sweep = wanted, True
        else:
            had = _keys(wanted_jobs(before, policy, now))
            changes.jobs_added = [job for job in wanted if (job[0], job[1]) not in had]
            changes.jobs_dropped = sorted(had - _keys(wanted))
        return changes


def _keys(jobs: list[Job]) -> set[tuple[str, str]]:
    return {(kind, key) for kind, key, _at in jobs}
