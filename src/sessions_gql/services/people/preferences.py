"""Which notification kinds a user also receives by email. In-app notifications are always on."""

from __future__ import annotations

from collections.abc import Mapping

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind
from sessions_gql.domain.errors import NotFound
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging.notify import wants_email


def email_preferences(user: m.User) -> list[tuple[NotificationKind, bool]]:
    """Every kind, in declaration order, with whether it is emailed (on unless turned off)."""
    return [(kind, wants_email(user, kind)) for kind in NotificationKind]


async def set_email_preferences(deps: Deps, *, viewer: Viewer, changes: Mapping[NotificationKind, bool]
                                ) -> list[tuple[NotificationKind, bool]]:
    """Turn email on or off for the kinds named; the others keep their setting."""
    async with deps.uow() as uow:
        user = await uow.session.get(m.User, viewer.user_id, with_for_update={"key_share": True})  # see people.py
        if user is None:
            raise NotFound("no such user")
        user.email_preferences = {**(user.email_preferences or {}),
                                  **{kind.value: bool(on) for kind, on in changes.items()}}
        await uow.commit()
        return email_preferences(user)
