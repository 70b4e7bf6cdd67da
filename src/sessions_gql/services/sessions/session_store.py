"""Moves a session between its row and the domain entity; loads it locked for a transition."""

from __future__ import annotations

from typing import Any

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.actors import Actor
from sessions_gql.domain.session import Session
from sessions_gql.domain.session_values import Approvals, Cancellation, Proposal

COPIED = (
    "member_id", "provider_id", "service_id", "skill", "modality", "location", "starts_at", "ends_at",
    "price_credits", "fee", "currency", "commission_rate", "status", "created_by", "created_at", "member_note",
    "respond_by", "awaiting_since", "funding", "payment_status", "held_credits", "held_sponsored_minutes",
    "captured_credits", "captured_sponsored_minutes", "refunded_credits", "refunded_sponsored_minutes",
    "decline_reason", "decline_note", "no_show_party", "member_joined_at", "member_late_minutes",
    "provider_joined_at", "member_present", "provider_present", "started_at", "ended_at", "version",
    "package_id", "package_place",
)


def actor_of(viewer: Viewer) -> Actor:
    return Actor(role=viewer.role, user_id=viewer.user_id, member_id=viewer.member_id,
                 provider_id=viewer.provider_id)


def to_domain(row: m.Session) -> Session:
    values = {name: getattr(row, name) for name in COPIED}
    proposal = None
    if row.proposal_starts_at and row.proposal_ends_at and row.proposal_by and row.proposal_at:
        proposal = Proposal(row.proposal_starts_at, row.proposal_ends_at, row.proposal_by, row.proposal_at)
    cancellation = None
    if row.cancelled_by is not None and row.cancelled_at is not None:
        cancellation = Cancellation(by=row.cancelled_by, reason=row.cancellation_reason,
                                    note=row.cancellation_note, at=row.cancelled_at,
                                    late=bool(row.cancellation_late))
    return Session(id=row.id, approvals=Approvals(member=row.approved_by_member, provider=row.approved_by_provider),
                   proposal=proposal, cancellation=cancellation, **values)


def columns(session: Session) -> dict[str, Any]:
    """The entity's state as its row's columns."""
    values = {name: getattr(session, name) for name in COPIED}
    proposal, cancellation = session.proposal, session.cancellation
    values.update(
        approved_by_member=session.approvals.member, approved_by_provider=session.approvals.provider,
        proposal_starts_at=proposal.starts_at if proposal else None,
        proposal_ends_at=proposal.ends_at if proposal else None,
        proposal_by=proposal.proposed_by if proposal else None,
        proposal_at=proposal.proposed_at if proposal else None,
        cancelled_by=cancellation.by if cancellation else None,
        cancellation_reason=cancellation.reason if cancellation else None,
        cancellation_note=cancellation.note if cancellation else None,
        cancelled_at=cancellation.at if cancellation else None,
        cancellation_late=cancellation.late if cancellation else None,
        provider_earnings=session.provider_earnings,
    )
    return values


def write_back(session: Session, row: m.Session) -> None:
    """Copy the entity's state onto its row (new or loaded)."""
    for name, value in columns(session).items():
        setattr(row, name, value)
