"""One use case per transition of an existing session, each read top to bottom: open the unit of work (the
idempotency key is checked there), load and lock, call the domain, persist what it returned, commit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party, TimelineEventType
from sessions_gql.domain.errors import Interval, MarkedNoShow
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions import booking
from sessions_gql.services.sessions import commands as c
from sessions_gql.services.sessions.repository import Loaded
from sessions_gql.services.sessions.unit import SessionWork


async def confirm_session(deps: Deps, *, viewer: Viewer, command: c.ConfirmSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        chosen, sponsorship_id = await work.sessions.funding_to_confirm(loaded, now=work.now)
        events = loaded.session.confirm(actor=work.actor, now=work.now, policy=deps.policy, funding=chosen,
                                        provider=loaded.parties.provider.visibility)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now, sponsorship_id=sponsorship_id)
        return await work.commit(loaded.session.id)


async def decline_session(deps: Deps, *, viewer: Viewer, command: c.DeclineSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.decline(actor=work.actor, now=work.now, policy=deps.policy, reason=command.reason,
                                        note=command.note)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def withdraw_session(deps: Deps, *, viewer: Viewer, command: c.WithdrawSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.withdraw(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def cancel_session(deps: Deps, *, viewer: Viewer, command: c.CancelSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.cancel(actor=work.actor, now=work.now, policy=deps.policy, reason=command.reason,
                                       note=command.note, acknowledge_late=command.acknowledge_late,
                                       refund=command.refund)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def propose_new_time(deps: Deps, *, viewer: Viewer, command: c.ProposeNewTime) -> uuid.UUID:
    """A member's new time must fit the provider's availability; a provider may offer any free time."""
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        if work.actor.party_of(loaded.session) is Party.MEMBER:
            length = timedelta(minutes=command.duration_minutes or loaded.session.duration_minutes)
            await booking.check_bookable(work.sessions, loaded.parties.provider, Interval(
                command.starts_at, command.starts_at + length), work.now, except_session=loaded.session.id)
        events = loaded.session.propose_new_time(actor=work.actor, now=work.now, policy=deps.policy,
                                                 starts_at=command.starts_at, duration_minutes=command.duration_minutes)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def accept_new_time(deps: Deps, *, viewer: Viewer, command: c.AcceptNewTime) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.accept_new_time(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def reject_new_time(deps: Deps, *, viewer: Viewer, command: c.RejectNewTime) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.reject_new_time(actor=work.actor, now=work.now, policy=deps.policy,
                                                reason=command.reason, note=command.note)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def withdraw_new_time(deps: Deps, *, viewer: Viewer, command: c.WithdrawNewTime) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.withdraw_new_time(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def refund_session(deps: Deps, *, viewer: Viewer, command: c.RefundSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.refund(actor=work.actor, now=work.now, policy=deps.policy, credits=command.credits,
                                       note=command.note)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def join_session(deps: Deps, *, viewer: Viewer, command: c.JoinSession) -> uuid.UUID:
    """A member turned away by a no-show mark is told when it was marked and what to do (MarkedNoShow)."""
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        if loaded.session.turned_away(actor=work.actor, now=work.now):
            raise await _marked_no_show(work, loaded)
        events = loaded.session.join(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def _marked_no_show(work: SessionWork, loaded: Loaded) -> MarkedNoShow:
    """The refusal, with the time of the (latest) no-show mark in the member's own time zone."""
    E = m.TimelineEvent
    marked_at = await work.uow.session.scalar(
        select(E.at).where(E.session_id == loaded.session.id, E.type == TimelineEventType.NO_SHOW_MARKED)
        .order_by(E.id.desc()).limit(1))
    assert marked_at is not None
    zone = loaded.parties.member_user.time_zone
    local = marked_at.astimezone(ZoneInfo(zone))
    return MarkedNoShow(f"you were marked as a no-show at {local:%H:%M} on {local:%a} {local.day} {local:%b} "
                        f"({zone}); ask the provider to undo the no-show so you can join: they have been told "
                        "you tried to join", marked_at=marked_at)


async def leave_session(deps: Deps, *, viewer: Viewer, command: c.LeaveSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.leave(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def start_session(deps: Deps, *, viewer: Viewer, command: c.StartSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.start(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def mark_no_show(deps: Deps, *, viewer: Viewer, command: c.MarkNoShow) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.mark_no_show(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def undo_no_show(deps: Deps, *, viewer: Viewer, command: c.UndoNoShow) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.undo_no_show(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)


async def end_session(deps: Deps, *, viewer: Viewer, command: c.EndSession) -> uuid.UUID:
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        loaded = await work.sessions.lock(command.session_id, viewer=viewer, expected_version=command.expected_version)
        events = loaded.session.end(actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.save(loaded, events, actor=work.actor, now=work.now)
        return await work.commit(loaded.session.id)
