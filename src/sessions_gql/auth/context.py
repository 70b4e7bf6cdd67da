"""Turns a request's bearer token into a Viewer (one query), or records why it could not."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select

from sessions_gql.auth.tokens import InvalidToken, bearer_token, decode_token
from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.services.deps import Deps

VIEWER_TTL_SECONDS = 30.0
VIEWER_CACHE_SIZE = 10_000


async def cached_viewer(deps: Deps, user_id: uuid.UUID) -> Viewer | None:
    """The viewer for a token's user, remembered for a few seconds: one query per user, not per request."""
    now = time.monotonic()
    hit = deps.viewers.get(user_id)
    if hit is not None and now - hit[1] < VIEWER_TTL_SECONDS:
        return hit[0]  # type: ignore[no-any-return]
    viewer = await load_viewer(deps, user_id)
    if viewer is not None:
        if len(deps.viewers) >= VIEWER_CACHE_SIZE:
            deps.viewers.clear()
        deps.viewers[user_id] = (viewer, now)
    return viewer


async def load_viewer(deps: Deps, user_id: uuid.UUID) -> Viewer | None:
    query = (
        select(m.User, m.Member.id, m.Provider.id)
        .outerjoin(m.Member, m.Member.user_id == m.User.id)
        .outerjoin(m.Provider, m.Provider.user_id == m.User.id)
        .where(m.User.id == user_id)
    )
    async with deps.sessions() as db:
        row = (await db.execute(query)).first()
    if row is None:
        return None
    user, member_id, provider_id = row
    return Viewer(user_id=user.id, role=user.role, time_zone=user.time_zone, member_id=member_id,
                  provider_id=provider_id)


async def authenticate(deps: Deps, authorization: str | None) -> tuple[Viewer | None, str | None]:
    """(viewer, None) for a valid token, (None, reason) otherwise; no header at all is (None, None)."""
    try:
        token = bearer_token(authorization)
        if token is None:
            return None, None
        user_id = decode_token(deps.settings, token, now=deps.clock.wall())
    except InvalidToken as exc:
        return None, f"invalid token: {exc}"
    viewer = await cached_viewer(deps, user_id)
    if viewer is None:
        return None, "invalid token: the user no longer exists"
    return viewer, None
