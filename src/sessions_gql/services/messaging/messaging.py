"""Messaging use cases: one conversation per member and provider, idempotent sends, read marks, typing,
and the system messages booking events post into the pair's conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import NotificationKind, Party
from sessions_gql.domain.errors import Forbidden, NotFound, RateLimited, ValidationError
from sessions_gql.services import outbox
from sessions_gql.services.deps import Deps
from sessions_gql.services.loaders_sql import shares_session
from sessions_gql.services.messaging import conversation_queries as q
from sessions_gql.services.messaging import notify

MAX_BODY = 4000
MAX_CLIENT_MESSAGE_ID = 100
RATE_LIMIT = 30
RATE_WINDOW = timedelta(minutes=1)
PREVIEW = 140


@dataclass(frozen=True)
class SendMessage:
    """`conversation_id`, or `recipient` (the side and id of a Member or Provider) to open the pair's."""

    body: str
    client_message_id: str
    conversation_id: uuid.UUID | None = None
    recipient: tuple[Party, uuid.UUID] | None = None
    session_id: uuid.UUID | None = None


@dataclass
class Pair:
    member: m.Member
    provider: m.Provider
    conversation: m.Conversation | None
    shared: bool
    field: str


async def send_message(deps: Deps, *, viewer: Viewer, command: SendMessage) -> int:
    """Post a message; a retry with the same clientMessageId returns the first one and writes nothing."""
    if viewer.is_admin:
        raise Forbidden("admins cannot send messages")
    body = v.text(command.body, field="body", max_length=MAX_BODY) or ""
    if not 1 <= len(command.client_message_id) <= MAX_CLIENT_MESSAGE_ID:
        raise ValidationError(f"clientMessageId must be 1 to {MAX_CLIENT_MESSAGE_ID} characters",
                              field="clientMessageId")
    if (command.conversation_id is None) == (command.recipient is None):
        raise ValidationError("name exactly one of conversationId and recipientId", field="conversationId")
    try:
        return await _send(deps, viewer, command, body)
    except IntegrityError:
        # A concurrent twin with the same clientMessageId committed first: the second pass returns its message.
        return await _send(deps, viewer, command, body)


async def _send(deps: Deps, viewer: Viewer, command: SendMessage, body: str) -> int:
    now = deps.clock.now()
    async with deps.uow() as uow:
        session = await _lock_session(uow, command.session_id)
        pair = await _pair(uow, viewer, command)
        _check_may_write(viewer, pair)
        _check_session(pair, session, command.session_id)
        conversation = pair.conversation or await open_conversation(
            uow, member_id=pair.member.id, provider_id=pair.provider.id, now=now)
        earlier = await uow.session.scalar(select(m.Message.id).where(
            m.Message.conversation_id == conversation.id, m.Message.sender_user_id == viewer.user_id,
            m.Message.client_message_id == command.client_message_id))
        if earlier is not None:
            return earlier
        await _check_rate(uow, viewer.user_id, now, deps.settings.messages_per_minute)
        message = m.Message(conversation_id=conversation.id, sender_user_id=viewer.user_id, body=body,
                            session_id=session.id if session else None,
                            client_message_id=command.client_message_id, sent_at=now)
        uow.session.add(message)
        recipient = pair.provider.user_id if viewer.member_id is not None else pair.member.user_id
        notification = await notify.notify(uow, user_id=recipient, kind=NotificationKind.MESSAGE_RECEIVED,
                                           session=session, now=now, body=await _preview(uow, viewer, body))
        _touch(conversation, now)
        await uow.session.flush()
        outbox.emit(uow, now=now, messages=[message.id], notifications=[notification.id],
                    channels=[outbox.conversation_channel(conversation.id), outbox.user_channel(recipient),
                              outbox.user_channel(viewer.user_id)])
        await uow.commit()
        return message.id


async def _pair(uow: UnitOfWork, viewer: Viewer, command: SendMessage) -> Pair:
    """The member and provider the message is between, and their conversation when it is named."""
    conversation: m.Conversation | None = None
    if command.conversation_id is not None:
        conversation = await uow.session.get(m.Conversation, command.conversation_id, with_for_update=True)
        if conversation is None or q.side_of(viewer, conversation) is None:
            raise NotFound("no such conversation", field="conversationId")
        member = await uow.session.get(m.Member, conversation.member_id)
        provider = await uow.session.get(m.Provider, conversation.provider_id)
        field = "conversationId"
    else:
        assert command.recipient is not None
        member, provider = await _addressed(uow, viewer, *command.recipient)
        field = "recipientId"
        if member is not None and provider is not None:  # writing to the pair's conversation, if it exists
            conversation = await _pair_conversation(uow, member.id, provider.id)
    if member is None or provider is None:
        raise NotFound("no such member or provider", field=field)
    shared = await shares_session(uow.session, provider_id=provider.id, member_id=member.id)
    return Pair(member=member, provider=provider, conversation=conversation, shared=shared, field=field)


async def _addressed(uow: UnitOfWork, viewer: Viewer, side: Party, recipient_id: uuid.UUID
                     ) -> tuple[m.Member | None, m.Provider | None]:
    """Members write to a provider, providers to a member; any other recipient does not exist for them."""
    db = uow.session
    if viewer.member_id is not None:
        provider = await db.get(m.Provider, recipient_id) if side is Party.PROVIDER else None
        if provider is None:
            raise NotFound("members write to a provider; no such provider", field="recipientId")
        return await db.get(m.Member, viewer.member_id), provider
    member = await db.get(m.Member, recipient_id) if side is Party.MEMBER else None
    return member, await db.get(m.Provider, viewer.provider_id) if viewer.provider_id else None


def _check_may_write(viewer: Viewer, pair: Pair) -> None:
    """DOMAIN "Messaging": members write to active providers (an enquiry before booking; also to their own
    provider on a break); a provider answers in any conversation that exists, and opens one only with a member
    they share a session with (anyone else does not exist for them: NOT_FOUND, as for an unknown id)."""
    if viewer.member_id is not None:
        visibility = pair.provider.visibility
        if visibility.listed or (visibility.profile_visible and pair.shared):
            return
        raise Forbidden("this provider is not taking messages", field=pair.field)
    if pair.conversation is None and not pair.shared:
        raise NotFound("providers open a conversation only with members they share a session with",
                       field=pair.field)


async def _lock_session(uow: UnitOfWork, session_id: uuid.UUID | None) -> m.Session | None:
    """Share-lock the session first, as a booking locks it first: the message's reference never deadlocks."""
    if session_id is None:
        return None
    return await uow.session.get(m.Session, session_id, with_for_update={"read": True, "key_share": True})


def _check_session(pair: Pair, session: m.Session | None, session_id: uuid.UUID | None) -> None:
    if session_id is None:
        return
    if session is None or (session.member_id, session.provider_id) != (pair.member.id, pair.provider.id):
        raise NotFound("no such session between these two", field="sessionId")


async def _check_rate(uow: UnitOfWork, user_id: uuid.UUID, now: datetime, limit: int = RATE_LIMIT) -> None:
    sent = await uow.session.scalar(select(func.count()).select_from(m.Message).where(
        m.Message.sender_user_id == user_id, m.Message.sent_at > now - RATE_WINDOW))
    if (sent or 0) >= limit:
        raise RateLimited(f"at most {limit} messages a minute; wait a moment and send again")


async def _preview(uow: UnitOfWork, viewer: Viewer, body: str) -> str:
    sender = await uow.session.get(m.User, viewer.user_id)
    name = sender.display_name if sender is not None else "New message"
    text = body if len(body) <= PREVIEW else body[: PREVIEW - 1] + "…"
    return f"{name}: {text}"


def _touch(conversation: m.Conversation, now: datetime) -> None:
    if conversation.last_message_at is None or conversation.last_message_at < now:
        conversation.last_message_at = now


async def open_conversation(uow: UnitOfWork, *, member_id: uuid.UUID, provider_id: uuid.UUID,
                            now: datetime) -> m.Conversation:
    """The pair's conversation, created on first use. Creating it locks the provider, then the member (the
    booking order), so a booking and a first message never race to create it twice."""
    found = await _pair_conversation(uow, member_id, provider_id)
    if found is not None:
        return found
    await uow.session.get(m.Provider, provider_id, with_for_update=True)
    await uow.session.get(m.Member, member_id, with_for_update=True)
    found = await _pair_conversation(uow, member_id, provider_id)
    if found is None:
        found = m.Conversation(id=uuid7(), member_id=member_id, provider_id=provider_id, last_message_at=now,
                               created_at=now)
        uow.session.add(found)
        await uow.session.flush()
    return found


async def _pair_conversation(uow: UnitOfWork, member_id: uuid.UUID, provider_id: uuid.UUID
                             ) -> m.Conversation | None:
    query = select(m.Conversation).where(m.Conversation.member_id == member_id,
                                         m.Conversation.provider_id == provider_id)
    return await uow.session.scalar(query.with_for_update())


# ------------------------------------------------------------------ read marks and typing


async def mark_conversation_read(deps: Deps, *, viewer: Viewer, conversation_id: uuid.UUID,
                                 up_to: int | None) -> int:
    """Move the viewer's read mark forward (never back) to `up_to` or the newest message; the unread left."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        conversation, side = await _own_conversation(uow, viewer, conversation_id, lock=True)
        target = await _read_target(uow, conversation, up_to)
        current = q.read_mark(conversation, side)
        if target is not None and (current is None or target > current):
            await _mark(uow, conversation, side, viewer.user_id, target, now)
            other = await _other_user(uow, conversation, side)
            ephemeral = {"type": "read", "conversation_id": str(conversation.id), "reader_role": side.value,
                         "reader_user_id": str(viewer.user_id), "up_to": target, "at": now.isoformat()}
            outbox.emit(uow, now=now, ephemeral=ephemeral,
                        channels=[outbox.conversation_channel(conversation.id), outbox.user_channel(other),
                                  outbox.user_channel(viewer.user_id)])
        await uow.session.flush()
        unread = await q.unread_in(uow.session, conversation_id=conversation.id, side=side, user_id=viewer.user_id)
        await uow.commit()
        return unread


async def set_typing(deps: Deps, *, viewer: Viewer, conversation_id: uuid.UUID, typing: bool) -> bool:
    """Live only: nothing is stored but the outbox row that carries it."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        conversation, side = await _own_conversation(uow, viewer, conversation_id, lock=False)
        other = await _other_user(uow, conversation, side)
        ephemeral: dict[str, Any] = {"type": "typing", "conversation_id": str(conversation.id),
                                     "user_id": str(viewer.user_id), "typing": typing, "at": now.isoformat()}
        outbox.emit(uow, now=now, ephemeral=ephemeral,
                    channels=[outbox.conversation_channel(conversation.id), outbox.user_channel(other)])
        await uow.commit()
        return True


async def _own_conversation(uow: UnitOfWork, viewer: Viewer, conversation_id: uuid.UUID, *, lock: bool
                            ) -> tuple[m.Conversation, Party]:
    conversation = await uow.session.get(m.Conversation, conversation_id, with_for_update=lock)
    side = q.side_of(viewer, conversation) if conversation is not None else None
    if conversation is None or (side is None and not viewer.is_admin):
        raise NotFound("no such conversation", field="conversationId")
    if side is None:
        raise Forbidden("only the member and the provider take part in a conversation", field="conversationId")
    return conversation, side


async def _read_target(uow: UnitOfWork, conversation: m.Conversation, up_to: int | None) -> int | None:
    if up_to is None:
        return await q.latest_message_id(uow.session, conversation.id)
    message = await uow.session.get(m.Message, up_to)
    if message is None or message.conversation_id != conversation.id:
        raise NotFound("no such message in this conversation", field="upTo")
    return message.id


async def _mark(uow: UnitOfWork, conversation: m.Conversation, side: Party, reader: uuid.UUID, target: int,
                now: datetime) -> None:
    """Set the side's mark and stamp the other party's messages up to it as read."""
    if side is Party.MEMBER:
        conversation.member_read_up_to = target
    else:
        conversation.provider_read_up_to = target
    Msg = m.Message
    await uow.session.execute(
        update(Msg).where(Msg.conversation_id == conversation.id, Msg.id <= target, Msg.sender_user_id.is_not(None),
                          Msg.sender_user_id != reader, Msg.read_by_recipient_at.is_(None))
        .values(read_by_recipient_at=now).execution_options(synchronize_session=False)
    )


async def _other_user(uow: UnitOfWork, conversation: m.Conversation, side: Party) -> uuid.UUID:
    other: m.Member | m.Provider | None
    if side is Party.MEMBER:
        other = await uow.session.get(m.Provider, conversation.provider_id)
    else:
        other = await uow.session.get(m.Member, conversation.member_id)
    assert other is not None
    return other.user_id
