"""The transitions of an existing session, as `lifecycle.Transition`s built from each mutation's input."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.domain import session_rules
from sessions_gql.domain.enums import CancellationReason, DeclineReason, Party, TimelineEventType
from sessions_gql.domain.errors import Interval, MarkedNoShow, ProviderUnavailable, ValidationError
from sessions_gql.domain.events import DomainEvent
from sessions_gql.domain.session_values import RefundChoice
from sessions_gql.services import booking, funding
from sessions_gql.services.lifecycle import Step, Transition

NOTE_LIMIT = 2000


def _note(note: str | None) -> str | None:
    if note is not None and len(note) > NOTE_LIMIT:
        raise ValidationError(f"a note is at most {NOTE_LIMIT} characters", field="note")
    if note is None:
        return None
    return note.strip() or None


def confirm() -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        session_rules.check(session_rules.Step.CONFIRM, step.session, step.actor, step.now, step.deps.policy)
        provider = await step.uow.session.get(m.Provider, step.row.provider_id)  # locked by transition_in
        assert provider is not None
        if not provider.visibility.takes_new_sessions:  # paused or deactivated: a pending one expires or is withdrawn
            raise ProviderUnavailable(f"{provider.visibility.unavailable_reason}, so a pending session cannot be "
                                      "confirmed: it expires at its respond-by time unless withdrawn first",
                                      field=None)
        chosen = None
        if step.session.needs_funding:  # a proposal, or the provider accepting a member's counter-offer to one
            member = await step.uow.session.get(m.Member, step.row.member_id, with_for_update=True)
            service = await step.uow.session.get(m.Service, step.row.service_id)
            assert member is not None and service is not None
            chosen, sponsorship_id = await funding.fund(
                step.uow, member=member, provider_id=step.row.provider_id, service=service,
                duration_minutes=step.session.duration_minutes, price_credits=step.session.price_credits,
                now=step.now, session_id=step.row.id)
            step.row.sponsorship_id = sponsorship_id
        return step.session.confirm(actor=step.actor, now=step.now, policy=step.deps.policy, funding=chosen)

    return apply


def decline(reason: DeclineReason, note: str | None) -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        return step.session.decline(actor=step.actor, now=step.now, policy=step.deps.policy, reason=reason,
                                    note=_note(note))

    return apply


def withdraw() -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        return step.session.withdraw(actor=step.actor, now=step.now, policy=step.deps.policy)

    return apply


def cancel(*, reason: CancellationReason | None, note: str | None, acknowledge_late: bool,
           refund: RefundChoice | None) -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        return step.session.cancel(actor=step.actor, now=step.now, policy=step.deps.policy, reason=reason,
                                   note=_note(note), acknowledge_late=acknowledge_late, refund=refund)

    return apply


def propose_new_time(*, starts_at: datetime, duration_minutes: int | None) -> Transition:
    """A member's new time must fit the provider's availability; a provider may offer any free time."""

    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        if step.actor.party_of(step.session) is Party.MEMBER:
            provider = await step.uow.session.get(m.Provider, step.row.provider_id)
            assert provider is not None
            length = timedelta(minutes=duration_minutes or step.session.duration_minutes)
            await booking.check_bookable(step.uow, provider, Interval(starts_at, starts_at + length), step.now,
                                         except_session=step.row.id)
        return step.session.propose_new_time(actor=step.actor, now=step.now, policy=step.deps.policy,
                                             starts_at=starts_at, duration_minutes=duration_minutes)

    return apply


def reject_new_time(reason: DeclineReason, note: str | None) -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        return step.session.reject_new_time(actor=step.actor, now=step.now, policy=step.deps.policy,
                                            reason=reason, note=_note(note))

    return apply


def refund(credits: int | None, note: str | None) -> Transition:
    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        return step.session.refund(actor=step.actor, now=step.now, policy=step.deps.policy, credits=credits,
                                   note=_note(note))

    return apply


def join() -> Transition:
    """Join; a member turned away by a no-show mark is told when it was marked and what to do (MarkedNoShow)."""

    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        if step.session.turned_away(actor=step.actor, now=step.now):
            raise await _marked_no_show(step)
        return step.session.join(actor=step.actor, now=step.now, policy=step.deps.policy)

    return apply


async def _marked_no_show(step: Step) -> MarkedNoShow:
    """The refusal, with the time of the (latest) no-show mark in the member's own time zone."""
    E = m.TimelineEvent
    marked_at = await step.uow.session.scalar(
        select(E.at).where(E.session_id == step.row.id, E.type == TimelineEventType.NO_SHOW_MARKED)
        .order_by(E.id.desc()).limit(1))
    assert marked_at is not None
    member = await step.uow.session.get(m.Member, step.row.member_id)
    user = await step.uow.session.get(m.User, member.user_id) if member is not None else None
    zone = user.time_zone if user is not None else "UTC"
    local = marked_at.astimezone(ZoneInfo(zone))
    return MarkedNoShow(f"you were marked as a no-show at {local:%H:%M} on {local:%a} {local.day} {local:%b} "
                        f"({zone}); ask the provider to undo the no-show so you can join: they have been told "
                        "you tried to join", marked_at=marked_at)


def simple(name: str) -> Transition:
    """accept_new_time, withdraw_new_time, leave, start, mark_no_show, undo_no_show, end (and join without the
    turned-away message: use `join`)."""

    async def apply(step: Step) -> list[DomainEvent]:
        assert step.actor is not None
        method = getattr(step.session, name)
        events: list[DomainEvent] = method(actor=step.actor, now=step.now, policy=step.deps.policy)
        return events

    return apply


SIMPLE = ("accept_new_time", "withdraw_new_time", "leave", "start", "mark_no_show", "undo_no_show", "end")
