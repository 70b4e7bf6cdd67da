"""The authenticated user behind a request, as the rest of the service sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sessions_gql.domain.enums import Role


class Roles:
    """What a role allows asking, for anything with a `role` (a Viewer, the read path's symbolic viewer)."""

    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_member(self) -> bool:
        return self.role is Role.MEMBER

    @property
    def is_provider(self) -> bool:
        return self.role is Role.PROVIDER


@dataclass(frozen=True)
class Viewer(Roles):
    user_id: uuid.UUID
    role: Role
    time_zone: str
    member_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
