"""Session mutations: decode the input, run the transition, map the result."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from strawberry.types.nodes import SelectedField

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
from sessions_gql.services import test_clock
from sessions_gql.services.people import notes
from sessions_gql.services.sessions import booking, unit
from sessions_gql.services.sessions import commands as c
from sessions_gql.services.sessions import presence as presence_service
from sessions_gql.services.sessions import transitions as t


async def _run(info: Info, work: Callable[[], Awaitable[uuid.UUID]]) -> SessionResult:
    """Run the use case; when the response selects the session, its unit of work hands back the row it committed
    (`unit.read_back`) and the loader starts with it, so the response reads nothing back for it."""
    async def run() -> SessionSuccess:
        rows: dict[uuid.UUID, Any] | None = {} if _selects_session(info) else None
        token = unit.read_back.set(rows)
        try:
            session_id = await work()
        finally:
            unit.read_back.reset(token)
        info.context.reset_loaders()  # rows cached before the mutation are stale
        if rows and session_id in rows:
            info.context.loaders.session_by_id.prime(session_id, rows[session_id])
        return SessionSuccess(session_id=session_id)

    return await result_or_error(run)  # type: ignore[return-value]


def _selects_session(info: Info) -> bool:
    """Whether the result's selection (through its fragments) has `session`."""
    def fields(selections: list[Any]) -> Iterator[SelectedField]:
        for selection in selections:
            if isinstance(selection, SelectedField):
                yield selection
            else:  # an inline fragment or a fragment spread
                yield from fields(selection.selections)

    return any(each.name == "session" for result in info.selected_fields for each in fields(result.selections))


UseCase = Callable[..., Awaitable[uuid.UUID]]


def _target(input: Any) -> dict[str, Any]:
    """The fields every session action's command has."""
    return {"session_id": ids.decode_uuid(input.session_id, "Session", field="sessionId"),
            "expected_version": getattr(input, "expected_version", None), "idempotency_key": input.idempotency_key}


async def _act(info: Info, use_case: UseCase, make: Callable[[], Any]) -> SessionResult:
    """Run a session action's use case with the command `make` builds from the input (decoding errors included)."""
    async def work() -> uuid.UUID:
        return await use_case(info.context.deps, viewer=info.context.viewer, command=make())

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
    return await _act(info, t.confirm_session, lambda: c.ConfirmSession(**_target(input)))


async def decline_session(info: Info, input: DeclineSessionInput) -> SessionResult:
    return await _act(info, t.decline_session,
                      lambda: c.DeclineSession(**_target(input), reason=input.reason, note=input.note))


async def withdraw_session(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.withdraw_session, lambda: c.WithdrawSession(**_target(input)))


async def cancel_session(info: Info, input: CancelSessionInput) -> SessionResult:
    refund = DomainRefund(kind=input.refund.kind, credits=input.refund.credits) if input.refund else None
    return await _act(info, t.cancel_session, lambda: c.CancelSession(
        **_target(input), reason=input.reason, note=input.note,
        acknowledge_late=bool(input.acknowledge_late_cancellation), refund=refund))


async def propose_new_time(info: Info, input: ProposeNewTimeInput) -> SessionResult:
    return await _act(info, t.propose_new_time, lambda: c.ProposeNewTime(
        **_target(input), starts_at=input.starts_at, duration_minutes=input.duration_minutes))


async def reject_new_time(info: Info, input: RejectNewTimeInput) -> SessionResult:
    return await _act(info, t.reject_new_time,
                      lambda: c.RejectNewTime(**_target(input), reason=input.reason, note=input.note))


async def refund_session(info: Info, input: RefundSessionInput) -> SessionResult:
    return await _act(info, t.refund_session,
                      lambda: c.RefundSession(**_target(input), credits=input.credits, note=input.note))


async def accept_new_time(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.accept_new_time, lambda: c.AcceptNewTime(**_target(input)))


async def withdraw_new_time(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.withdraw_new_time, lambda: c.WithdrawNewTime(**_target(input)))


async def start_session(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.start_session, lambda: c.StartSession(**_target(input)))


async def mark_no_show(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.mark_no_show, lambda: c.MarkNoShow(**_target(input)))


async def undo_no_show(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.undo_no_show, lambda: c.UndoNoShow(**_target(input)))


async def end_session(info: Info, input: SessionActionInput) -> SessionResult:
    return await _act(info, t.end_session, lambda: c.EndSession(**_target(input)))


async def join_session(info: Info, input: SessionActionInput) -> SessionResult:
    """Joining puts the viewer in the waiting room at once, before any `waitingRoom` subscription heartbeats."""
    result = await _act(info, presence_service.join, lambda: c.JoinSession(**_target(input)))
    if isinstance(result, SessionSuccess):
        await presence_service.entered(info.context.deps, viewer=info.context.viewer, row=await _row(info, result))
    return result


async def leave_session(info: Info, input: SessionActionInput) -> SessionResult:
    result = await _act(info, t.leave_session, lambda: c.LeaveSession(**_target(input)))
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
