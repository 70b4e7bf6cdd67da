"""Idempotency keys: a retry with the same key and input gets the first answer; other input is refused."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from sessions_gql.db.models import IdempotencyKey
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.errors import IdempotencyKeyReused, ValidationError

KEEP_FOR = timedelta(hours=48)


def request_hash(operation: str, payload: Any) -> str:
    body = json.dumps([operation, payload], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def replay(
    uow: UnitOfWork, *, user_id: uuid.UUID, key: str | None, operation: str, digest: str
) -> dict[str, Any] | None:
    """The stored result of an earlier success with this key, or None when the key is new."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200:
        raise ValidationError("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    row = await uow.session.get(IdempotencyKey, (user_id, key))
    if row is None:
        return None
    if row.operation != operation or row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this idempotencyKey was used for a different request", field="idempotencyKey"
        )
    return row.result


def remember(
    uow: UnitOfWork,
    *,
    user_id: uuid.UUID,
    key: str | None,
    operation: str,
    digest: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    """Store the answer in the use case's own transaction, so it commits with the change."""
    if key is None:
        return
    uow.session.add(
        IdempotencyKey(
            user_id=user_id, key=key, operation=operation, request_hash=digest, result=result, created_at=now
        )
    )


async def run_once(
    open_uow: Callable[[], UnitOfWork],
    *,
    user_id: uuid.UUID,
    key: str | None,
    operation: str,
    payload: Any,
    now: datetime,
    work: Callable[[UnitOfWork], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run `work` in one transaction unless this key already succeeded; a concurrent twin gets its answer."""
    digest = request_hash(operation, payload)
    try:
        async with open_uow() as uow:
            earlier = await replay(uow, user_id=user_id, key=key, operation=operation, digest=digest)
            if earlier is not None:
                return earlier
            result = await work(uow)
            remember(uow, user_id=user_id, key=key, operation=operation, digest=digest, result=result, now=now)
            await uow.commit()
            return result
    except IntegrityError:
        if key is None:
            raise
        async with open_uow() as uow:
            earlier = await replay(uow, user_id=user_id, key=key, operation=operation, digest=digest)
        if earlier is None:
            raise
        return earlier


async def purge_expired(uow: UnitOfWork, *, now: datetime) -> int:
    result = await uow.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = ["purge_expired", "replay", "run_once"]
