"""The session use cases against a fake unit of work and a fake repository (no database): they load, call the
domain, save what it returned and commit, in that order; a refusal saves and commits nothing; the command
itself is the idempotency payload."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from sessions_gql.auth.viewer import Viewer
from sessions_gql.domain.enums import Funding, ProviderVisibility, Role, SessionStatus, TimelineEventType
from sessions_gql.domain.errors import Forbidden, InvalidTransition, ProviderUnavailable
from sessions_gql.domain.events import DomainEvent, TimelineRecorded
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.services.sessions import commands as c
from sessions_gql.services.sessions import transitions as t
from sessions_gql.services.sessions.unit import SessionWork
from tests.unit.test_session_transitions import MEMBER, MEMBER_ID, NOW, PROVIDER, PROVIDER_ID, requested

SESSION_ID = UUID(int=100)  # what `requested` makes
MEMBER_VIEWER = Viewer(user_id=MEMBER.user_id, role=Role.MEMBER, time_zone="UTC", member_id=MEMBER_ID)
PROVIDER_VIEWER = Viewer(user_id=PROVIDER.user_id, role=Role.PROVIDER, time_zone="UTC", provider_id=PROVIDER_ID)


@dataclass
class FakeUnitOfWork:
    log: list[str]

    async def __aenter__(self) -> FakeUnitOfWork:
        self.log.append("begin")
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self.log[-1] != "close":
            self.log.append("close")

    async def commit(self) -> None:
        self.log.append("commit")


@dataclass
class FakeRepository:
    """Holds one session in memory; `saved` is what each save was given."""

    uow: FakeUnitOfWork
    world: World

    async def lock(self, session_id: UUID, *, viewer: Viewer | None, expected_version: int | None) -> Any:
        self.uow.log.append("lock")
        session = self.world.sessions[session_id]
        provider = SimpleNamespace(visibility=self.world.visibility)
        return SimpleNamespace(before=copy.copy(session), session=session, row=SimpleNamespace(sponsorship_id=None),
                               parties=SimpleNamespace(provider=provider, member=None), service=None)

    async def funding_to_confirm(self, loaded: Any, *, now: datetime) -> tuple[Funding | None, UUID | None]:
        return (Funding.CREDITS, None) if loaded.session.needs_funding else (None, None)

    async def save(self, loaded: Any, events: list[DomainEvent], **written: Any) -> None:
        self.uow.log.append("save")
        self.world.saved.append((loaded.session.status, events, written))


@dataclass
class World:
    sessions: dict[UUID, Any]
    visibility: ProviderVisibility = ProviderVisibility.ACTIVE
    log: list[str] = field(default_factory=list)
    saved: list[Any] = field(default_factory=list)

    def deps(self) -> Any:
        return SimpleNamespace(clock=SimpleNamespace(now=lambda: NOW + timedelta(minutes=5)), policy=BookingPolicy(),
                               uow=lambda: FakeUnitOfWork(self.log))


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    made = World(sessions={SESSION_ID: requested(Funding.CREDITS)})
    monkeypatch.setattr(SessionWork, "repository", lambda uow, _deps: FakeRepository(uow, made))
    return made


async def test_confirm_loads_calls_the_domain_saves_what_it_returned_and_commits_in_that_order(world: World
                                                                                              ) -> None:
    answered = await t.confirm_session(world.deps(), viewer=PROVIDER_VIEWER,
                                       command=c.ConfirmSession(session_id=SESSION_ID))
    assert answered == SESSION_ID
    assert world.log == ["begin", "lock", "save", "commit", "close"]
    status, events, written = world.saved[0]
    assert status is SessionStatus.CONFIRMED
    assert [e.type for e in events if isinstance(e, TimelineRecorded)] == [TimelineEventType.APPROVED_BY_PROVIDER]
    assert written == {"actor": PROVIDER, "now": NOW + timedelta(minutes=5),
                       "sponsorship_id": None}


@pytest.mark.parametrize(("viewer", "visibility", "refusal"), [
    (MEMBER_VIEWER, ProviderVisibility.ACTIVE, Forbidden),  # the member asked; the provider answers
    (PROVIDER_VIEWER, ProviderVisibility.PAUSED, ProviderUnavailable),
])
async def test_a_refused_confirmation_saves_and_commits_nothing(world: World, viewer: Viewer,
                                                                visibility: ProviderVisibility,
                                                                refusal: type[Exception]) -> None:
    world.visibility = visibility
    with pytest.raises(refusal):
        await t.confirm_session(world.deps(), viewer=viewer, command=c.ConfirmSession(session_id=SESSION_ID))
    assert (world.log, world.saved) == (["begin", "lock", "close"], [])
    assert world.sessions[SESSION_ID].status is SessionStatus.AWAITING_APPROVAL


async def test_each_use_case_is_its_own_transition(world: World) -> None:
    deps = world.deps()
    await t.withdraw_session(deps, viewer=MEMBER_VIEWER, command=c.WithdrawSession(session_id=SESSION_ID))
    with pytest.raises(InvalidTransition):  # withdrawn already: nothing left to cancel
        await t.cancel_session(deps, viewer=MEMBER_VIEWER, command=c.CancelSession(session_id=SESSION_ID))
    assert [status for status, _events, _written in world.saved] == [SessionStatus.CANCELLED]
    assert world.log == ["begin", "lock", "save", "commit", "close", "begin", "lock", "close"]


def test_the_command_is_the_idempotency_payload_so_other_input_under_one_key_is_refused(world: World) -> None:
    def digest(command: Any) -> str:
        return SessionWork(world.deps(), viewer=MEMBER_VIEWER, command=command)._digest

    key = {"session_id": SESSION_ID, "idempotency_key": "k-1"}
    assert digest(c.CancelSession(**key, note="  sick  ")) == digest(c.CancelSession(**key, note="sick"))
    assert digest(c.CancelSession(**key, note="sick")) != digest(c.CancelSession(**key, note="ill"))
    assert digest(c.CancelSession(**key)) != digest(c.WithdrawSession(**key))  # the operation is part of it
    assert digest(c.CancelSession(**key)) == digest(c.CancelSession(session_id=SESSION_ID, idempotency_key="k-2"))
    assert SessionWork(world.deps(), viewer=MEMBER_VIEWER, command=c.MarkNoShow(**key)).operation == "markNoShow"


def test_a_note_over_the_limit_is_refused_when_the_command_is_made() -> None:
    with pytest.raises(Exception, match="at most 2000 characters"):
        c.DeclineSession(session_id=SESSION_ID, reason=c.DeclineReason.OTHER, note="x" * 2001)

