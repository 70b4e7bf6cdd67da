"""Who acts on a session: a member, a provider or an admin. The scheduler is `actor=None`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from sessions_gql.domain.enums import Party, Role


class HasParties(Protocol):
    """Anything that names one member and one provider, such as a session."""

    @property
    def member_id(self) -> UUID: ...

    @property
    def provider_id(self) -> UUID: ...


@dataclass(frozen=True)
class Actor:
    role: Role
    user_id: UUID
    member_id: UUID | None = None
    provider_id: UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def party_of(self, subject: HasParties) -> Party | None:
        """The side this actor takes in `subject`; None for admins and strangers."""
        if self.role is Role.MEMBER and self.member_id == subject.member_id:
            return Party.MEMBER
        if self.role is Role.PROVIDER and self.provider_id == subject.provider_id:
            return Party.PROVIDER
        return None


def other_party(party: Party) -> Party:
    return Party.PROVIDER if party is Party.MEMBER else Party.MEMBER
