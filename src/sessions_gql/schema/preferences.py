"""Email preferences: per notification kind, whether it is also sent by email (in-app is always on)."""

from __future__ import annotations

import strawberry

from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind as Kind
from sessions_gql.schema.enums import NotificationKind
from sessions_gql.services import preferences


@strawberry.type(description="Whether notifications of one kind are also emailed; in-app ones are always on.")
class EmailPreference:
    kind: NotificationKind
    email: bool


@strawberry.input
class EmailPreferenceInput:
    kind: NotificationKind
    email: bool


def listed(pairs: list[tuple[Kind, bool]]) -> list[EmailPreference]:
    return [EmailPreference(kind=kind, email=on) for kind, on in pairs]


def email_preferences_of(user: m.User) -> list[EmailPreference]:
    return listed(preferences.email_preferences(user))
