"""Session mutations: decode the input, run the transition, map the result."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.errors import result_or_error
from sessions_gql.api.sessions.inputs import (
    AddNoteInput,
    CancelSessionInput,
    DeclineSessionInput,
    ProposeNewTimeInput,
    ProposeSessionInput,
    RefundSessionInput,
    RejectNewTimeInput,
    RequestSessionInput,
    SessionActionInput,
)
from sessions_gql.api.sessions.types import (
    Note,
    NoteResult,
    NoteSuccess,
    SessionResult,
    SessionSuccess,
)
from sessions_gql.db import models as m
from sessions_gql.domain.session_values import RefundChoice as DomainRefund
from sessions_gql.services import booking, lifecycle, notes, session_actions, test_clock
from sessions_gql.services import presence as presence_service
from sessions_gql.services.lifecycle import Transition


async def _success(info: Info, session_id: uuid.UUID) -> SessionSuccess:
    info.context.reset_loaders()  # rows cached before the mutation are stale
    return SessionSuccess(session_id=session_id)


async def _run(info: Info, work: Callable[[], Awaitable[uuid.UUID]]) -> SessionResult:
    async def run() -> SessionSuccess:
        return await _success(info, await work())

    return await result_or_error(run)  # type: ignore[return-value]


async def _act(info: Info, input: Any, operation: str, payload: dict[str, Any], apply: Transition
               ) -> SessionResult:
    async def work() -> uuid.UUID:
        return await lifecycle.act(
            info.context.deps, viewer=info.context.viewer,
            session_id=ids.decode_uuid(input.session_id, "Session", field="sessionId"),
            expected_version=getattr(input, "expected_version", None), idempotency_key=input.idempotency_key,
            operation=operation, payload=payload, apply=apply,
        )

    return await _run(info, work)


async def request_session(info: Info, input: RequestSessionInput) -> SessionResult:
    async def work() -> uuid.UUID:
        command = booking.RequestSession(
            provider_id=ids.decode_uuid(input.provider_id, "Provider", field="providerId"),
            service_id=ids.decode_uuid(input.service_id, "Service", field="serviceId"),
            starts_at=input.starts_at, modality=input.modality, skill=input.skill,
            duration_minutes=input.duration_minutes, member_note=input.member_note,
            member_id=ids.maybe_uuid(input.member_id, "Member", field="memberId"), location=input.location,
            idempotency_key=input.idempotency_key,
            package_id=ids.maybe_uuid(input.package_id, "Package", field="packageId"),
        )
        return await booking.request_session(info.context.deps, viewer=info.context.viewer, command=command)

    return await _run(info, work)


async def propose_session(info: Info, input: ProposeSessionInput) -> SessionResult:
    async def work() -> uuid.UUID:
        command = booking.ProposeSession(
            member_id=ids.decode_uuid(input.member_id, "Member", field="memberId"),
            service_id=ids.decode_uuid(input.service_id, "Service", field="serviceId"),
            starts_at=input.starts_at, duration_minutes=input.duration_minutes, price_credits=input.price_credits,
            modality=input.modality, skill=input.skill, location=input.location,
            provider_id=ids.maybe_uuid(input.provider_id, "Provider", field="providerId"),
            idempotency_key=input.idempotency_key,
        )
        return await booking.propose_session(info.context.deps, viewer=info.context.viewer, command=command)

    return await _run(info, work)


async def confirm_session(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, input, "confirmSession", {}, session_actions.confirm())


async def decline_session(info: Info, input: DeclineSessionInput) -> SessionResult:
    payload = {"reason": input.reason.value, "note": input.note}
    return await _act(info, input, "declineSession", payload, session_actions.decline(input.reason, input.note))


async def withdraw_session(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, input, "withdrawSession", {}, session_actions.withdraw())


async def cancel_session(info: Info, input: CancelSessionInput) -> SessionResult:
    refund = DomainRefund(kind=input.refund.kind, credits=input.refund.credits) if input.refund else None
    apply = session_actions.cancel(reason=input.reason, note=input.note,
                                   acknowledge_late=bool(input.acknowledge_late_cancellation), refund=refund)
    payload = {"reason": input.reason.value if input.reason else None, "note": input.note,
               "ack": bool(input.acknowledge_late_cancellation),
               "refund": [refund.kind.value, refund.credits] if refund else None}
    return await _act(info, input, "cancelSession", payload, apply)


async def propose_new_time(info: Info, input: ProposeNewTimeInput) -> SessionResult:
    apply = session_actions.propose_new_time(starts_at=input.starts_at, duration_minutes=input.duration_minutes)
    payload = {"starts": input.starts_at.isoformat(), "duration": input.duration_minutes}
    return await _act(info, input, "proposeNewTime", payload, apply)


async def reject_new_time(info: Info, input: RejectNewTimeInput) -> SessionResult:
    payload = {"reason": input.reason.value, "note": input.note}
    return await _act(info, input, "rejectNewTime", payload, session_actions.reject_new_time(input.reason, input.note))


async def refund_session(info: Info, input: RefundSessionInput) -> SessionResult:
    payload = {"credits": input.credits, "note": input.note}
    return await _act(info, input, "refundSession", payload, session_actions.refund(input.credits, input.note))


def _simple(name: str, operation: str) -> Callable[[Info, SessionActionInput], Awaitable[SessionResult]]:
    async def resolve(info: Info, input: SessionActionInput) -> SessionResult:
        return await _act(info, input, operation, {}, session_actions.simple(name))

    resolve.__name__ = operation
    return resolve


accept_new_time = _simple("accept_new_time", "acceptNewTime")
withdraw_new_time = _simple("withdraw_new_time", "withdrawNewTime")
start_session = _simple("start", "startSession")
mark_no_show = _simple("mark_no_show", "markNoShow")
undo_no_show = _simple("undo_no_show", "undoNoShow")
end_session = _simple("end", "endSession")


async def join_session(info: Info, input: SessionActionInput) -> SessionResult:
    """Joining puts the viewer in the waiting room at once, before any `waitingRoom` subscription heartbeats."""
    async def work() -> uuid.UUID:
        return await presence_service.join(
            info.context.deps, viewer=info.context.viewer,
            session_id=ids.decode_uuid(input.session_id, "Session", field="sessionId"),
            expected_version=input.expected_version, idempotency_key=input.idempotency_key)

    result = await _run(info, work)
    if isinstance(result, SessionSuccess):
        await presence_service.entered(info.context.deps, viewer=info.context.viewer, row=await _row(info, result))
    return result


async def leave_session(info: Info, input: SessionActionInput) -> SessionResult:
    result = await _act(info, input, "leaveSession", {}, session_actions.simple("leave"))
    if isinstance(result, SessionSuccess):
        await presence_service.departed(info.context.deps, viewer=info.context.viewer, row=await _row(info, result))
    return result


async def _row(info: Info, result: SessionSuccess) -> m.Session:
    """The session's row after the mutation (the loader's: the response's `session` reuses it)."""
    row = await info.context.loaders.session_by_id.load(result.session_id)
    assert row is not None
    return row


async def add_note(info: Info, input: AddNoteInput) -> NoteResult:
    async def run() -> NoteSuccess:
        note_id = await notes.add_note(
            info.context.deps, viewer=info.context.viewer, body=input.body,
            session_id=ids.maybe_uuid(input.session_id, "Session", field="sessionId"),
            member_id=ids.maybe_uuid(input.member_id, "Member", field="memberId"),
        )
        found = await notes.load_note(await info.context.db(), note_id)
        return NoteSuccess(note=Note.of(found))

    return await result_or_error(run)  # type: ignore[return-value]


async def advance_test_clock(info: Info, minutes: int) -> datetime:
    return await test_clock.advance(info.context.deps, viewer=info.context.viewer, minutes=minutes)
