"""Resolvers for the viewer's email preferences."""

from __future__ import annotations

from sessions_gql.schema import preferences as t
from sessions_gql.schema.context import Info
from sessions_gql.services import preferences as service


async def set_email_preferences(info: Info, preferences: list[t.EmailPreferenceInput]) -> list[t.EmailPreference]:
    """Email on or off per notification kind for the viewer; kinds not named keep theirs. Returns every kind."""
    changes = {item.kind: item.email for item in preferences}
    updated = await service.set_email_preferences(info.context.deps, viewer=info.context.viewer, changes=changes)
    info.context.reset_loaders()
    return t.listed(updated)
