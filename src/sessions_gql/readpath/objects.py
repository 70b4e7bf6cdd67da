"""The read types' fields as SQL: each handler writes one field exactly as its resolver in api/ answers it.

Every field of Session, Member, Provider, Service, User, Conversation, Message, TimelineEvent, Notification,
Note and Package has a handler here but these, so an operation selecting one takes the resolvers:
- what needs Python: Session.waitingRoom (presence in Redis), allowedActions (the domain's rules) and conflicts;
  Package.sessionsRemaining (places counted by domain/packages.py); ProviderReliability.averageResponseMinutes
  (Python's `round` of a float quotient, whose ties are the binary double's);
- what the resolver decides with the clock at its own instant: Session.videoRoom, Member.sponsorships and
  sponsoredHoursRemaining;
- Provider.availability, not written yet;
- the connections, which readpath/roots.py writes: Member, Provider and Package.sessions, Conversation.messages,
  Wallet.ledger.
The rules on who sees what are the resolvers' (services/visibility.py), written here once each as a predicate
on the symbolic viewer (`sees_member_profile`, `sees_contact_details`, `sees_provider`, `_sees_wallet`, ...)
or taken from the query builders (`session_queries.viewer_scope`, `people_queries.earned_in`). The
differential test runs every document both ways and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import Integer, Numeric, Text, and_, case, cast, extract, false, func, literal, null, or_, select, true
from sqlalchemy import column as column_clause
from sqlalchemy import table as table_clause
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableClause

from sessions_gql.db import models as m
from sessions_gql.db.loaders import NOTES_ORDER, PACKAGES_ORDER, SERVICES_ORDER, read_mark, unread_conditions
from sessions_gql.domain.enums import Funding, Modality, Party, ProviderVisibility, SessionStatus, TimelineEventType
from sessions_gql.readpath.compiler import Compiler, Details, NotCompilable, handles
from sessions_gql.readpath.sql import (
    EMPTY_LIST,
    amount,
    const,
    cursor,
    gid,
    half_even,
    in_context,
    instant,
    json_list,
    number,
    quotient,
    text_of,
)
from sessions_gql.services.people.people_queries import earned_in
from sessions_gql.services.sessions.session_queries import viewer_scope

S, MEMBERS, USERS, PROVIDERS, SERVICES = (m.Session.__table__, m.Member.__table__, m.User.__table__,
                                          m.Provider.__table__, m.Service.__table__)
CONVERSATIONS, MESSAGES = m.Conversation.__table__, m.Message.__table__
PACKAGES, EVENTS, NOTIFICATIONS = m.Package.__table__, m.TimelineEvent.__table__, m.Notification.__table__
NOTES = m.Note.__table__


def _light(table: Any) -> TableClause:
    return table_clause(table.name, *(column_clause(column.name, column.type) for column in table.columns))


_LIGHT = {light.name: light for light in map(_light, (S, MEMBERS, USERS, PROVIDERS, SERVICES, CONVERSATIONS,
                                                       MESSAGES, PACKAGES, EVENTS, NOTES, NOTIFICATIONS))}


def alias(table: Any) -> Any:
    """An alias of one of the tables above, made of a lightweight clause with the same name, columns and types:
    aliasing a Table builds a whole Column per column, which took most of a large plan's compile time."""
    return _LIGHT[table.name].alias()


ENGAGED = (TimelineEventType.REQUESTED, TimelineEventType.APPROVED_BY_MEMBER)
"""The events by which a member asked for or agreed to a session (`Loaders.member_engaged`)."""


def _plain(type_name: str, columns: dict[str, str], *, instants: tuple[str, ...] = ()) -> None:
    """Fields that are a column as stored (text, numbers, booleans, enums by name, JSON lists)."""
    for field, column in columns.items():
        def handler(_c: Compiler, row: Any, _details: Details, column: str = column) -> ColumnElement[Any]:
            return column_of(row.c, column)

        handles(type_name, field)(handler)
    for field in instants:
        column = _snake(field)

        def timed(_c: Compiler, row: Any, _details: Details, column: str = column) -> ColumnElement[Any]:
            return instant(getattr(row.c, column))

        handles(type_name, field)(timed)


def column_of(columns: Any, name: str) -> ColumnElement[Any]:
    found: ColumnElement[Any] = getattr(columns, name)
    return found


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def _id(type_name: str, key: str = "id") -> None:
    def handler(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
        return gid(type_name, getattr(row.c, key))

    handles(type_name, "id")(handler)


@dataclass(frozen=True)
class Values:
    """A composite's fields already written as SQL (Money, Approvals, ...), keyed by GraphQL field name."""

    c: Any

    @classmethod
    def of(cls, **values: ColumnElement[Any]) -> Values:
        return cls(c=type("Columns", (), values))


def _composite(type_name: str, *fields: str) -> None:
    for field in fields:
        def handler(_c: Compiler, row: Values, _details: Details, field: str = field) -> ColumnElement[Any]:
            return column_of(row.c, field)

        handles(type_name, field)(handler)


_composite("Money", "amount", "currency")
_composite("Approvals", "member", "provider")
_composite("TimeProposal", "startsAt", "endsAt", "proposedBy", "proposedAt")
_composite("Cancellation", "by", "reason", "note", "at", "late")
_composite("ProviderReliability", "consecutiveCancellations", "flagged", "lateCancellations", "lateResponses")


def money(c: Compiler, parent: str, details: Details, value: ColumnElement[Any], currency: ColumnElement[Any]
          ) -> ColumnElement[Any]:
    return c.child(parent, details, Values.of(amount=amount(value), currency=currency))


def viewer_is_provider_or_admin(c: Compiler, provider_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """`visibility.is_provider_or_admin`."""
    if c.viewer.is_admin:
        return true()
    if c.viewer.provider_id is None:
        return false()
    return provider_id == c.viewer.provider_id


# ------------------------------------------------------------------ Session

_id("Session")
_plain("Session", {name: _snake(name) for name in (
    "status", "skill", "modality", "location", "priceCredits", "funding", "paymentStatus", "refundedCredits",
    "declineReason", "declineNote", "noShowParty", "memberNote", "memberLateMinutes", "createdBy", "version")},
    instants=("startsAt", "endsAt", "memberJoinedAt", "startedAt", "endedAt", "createdAt", "respondBy"))


@handles("Session", "durationMinutes")
def _duration(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    return cast(func.floor(extract("epoch", row.c.ends_at - row.c.starts_at) / 60), Integer)


@handles("Session", "fee")
def _fee(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return money(c, "Session", details, row.c.fee, row.c.currency)


@handles("Session", "providerEarnings")
def _earnings(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return case((viewer_is_provider_or_admin(c, row.c.provider_id),
                 money(c, "Session", details, row.c.provider_earnings, row.c.currency)), else_=None)


@handles("Session", "expectedEarnings")
def _expected_earnings(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    earned = expected_earnings(funding=row.c.funding, fee=row.c.fee, commission_rate=row.c.commission_rate,
                               price_credits=row.c.price_credits, refunded=row.c.refunded_credits)
    shown = and_(viewer_is_provider_or_admin(c, row.c.provider_id), row.c.funding.is_not(None))
    return case((shown, money(c, "Session", details, earned, row.c.currency)), else_=None)


def expected_earnings(*, funding: ColumnElement[Any], fee: ColumnElement[Any], commission_rate: ColumnElement[Any],
                      price_credits: ColumnElement[Any], refunded: ColumnElement[Any]) -> ColumnElement[Any]:
    """`credits.expected_earnings` with Python's decimal arithmetic: the fee minus commission (exact), times the
    share not refunded (a quotient of the context), rounded to the context, quantized to cents half up."""
    kept = price_credits - func.least(refunded, price_credits)
    earned = func.round(in_context(fee * (number(1) - commission_rate) * quotient(kept, price_credits)),
                        number(2))
    nothing = cast(number(0), Numeric)
    return case((funding.is_(None), None), (funding == Funding.FREE_CONSULTATION.name, nothing),
                (price_credits == number(0), nothing), else_=earned)


@handles("Session", "phoneNumber")
def _phone_number(c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    """PHONE sessions, for the provider and admins, once the member asked for or agreed to a session with them."""
    member, user = alias(MEMBERS), alias(USERS)
    phone = (select(user.c.phone).select_from(member.join(user, user.c.id == member.c.user_id))
             .where(member.c.id == row.c.member_id).correlate_except(member, user).scalar_subquery())
    shown = and_(row.c.modality == Modality.PHONE.name, viewer_is_provider_or_admin(c, row.c.provider_id),
                 sees_contact_details(c, row.c.member_id))
    return case((shown, phone), else_=None)


@handles("Session", "approvals")
def _approvals(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return c.child("Session", details, Values.of(member=row.c.approved_by_member,
                                                 provider=row.c.approved_by_provider))


@handles("Session", "awaitingResponseFrom")
def _awaiting(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    member, provider = const(Party.MEMBER.name), const(Party.PROVIDER.name)
    return case(
        (row.c.status == SessionStatus.AWAITING_APPROVAL.name,
         case((row.c.approved_by_provider.is_(False), provider), else_=member)),
        (and_(row.c.status == SessionStatus.RESCHEDULING.name, row.c.proposal_by.is_not(None)),
         case((row.c.proposal_by == Party.MEMBER.name, provider), else_=member)),
        else_=None)


@handles("Session", "proposal")
def _proposal(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    missing = or_(row.c.proposal_starts_at.is_(None), row.c.proposal_ends_at.is_(None), row.c.proposal_by.is_(None))
    values = Values.of(startsAt=instant(row.c.proposal_starts_at), endsAt=instant(row.c.proposal_ends_at),
                       proposedBy=row.c.proposal_by, proposedAt=instant(row.c.proposal_at))
    return case((missing, None), else_=c.child("Session", details, values))


@handles("Session", "cancellation")
def _cancellation(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    missing = or_(row.c.cancelled_by.is_(None), row.c.cancelled_at.is_(None))
    values = Values.of(by=row.c.cancelled_by, reason=row.c.cancellation_reason, note=row.c.cancellation_note,
                       at=instant(row.c.cancelled_at), late=func.coalesce(row.c.cancellation_late, false()))
    return case((missing, None), else_=c.child("Session", details, values))


@dataclass(frozen=True)
class Person:
    """A member or provider row with its user row joined."""

    c: Any
    user: Any


def _self_admin_or_pair(c: Compiler, member_id: ColumnElement[Any], pair: Callable[[Any], ColumnElement[bool]]
                        ) -> ColumnElement[bool]:
    """`visibility._self_admin_or_pair`: admins, the member themself, a provider for whom `pair` holds."""
    viewer = c.viewer
    if viewer.is_admin:
        return true()
    rules = [member_id == viewer.member_id] if viewer.member_id is not None else []
    if viewer.provider_id is not None:
        rules.append(pair(viewer.provider_id))
    return or_(*rules) if rules else false()


def sees_member_profile(c: Compiler, member_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """`visibility.can_see_member`: also a provider who shares a session with the member or sold them a
    package."""
    def pair(provider_id: Any) -> ColumnElement[bool]:
        session, package = alias(S), alias(PACKAGES)
        return or_(select(session.c.id).where(session.c.provider_id == provider_id,
                                              session.c.member_id == member_id).correlate_except(session).exists(),
                   select(package.c.id).where(package.c.provider_id == provider_id,
                                              package.c.member_id == member_id).correlate_except(package).exists())

    return _self_admin_or_pair(c, member_id, pair)


def sees_contact_details(c: Compiler, member_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """`visibility.sees_contact_details`: a provider the member asked for or agreed to a session with."""
    def pair(provider_id: Any) -> ColumnElement[bool]:
        session, event = alias(S), alias(EVENTS)
        return (select(session.c.id).join(event, event.c.session_id == session.c.id)
                .where(session.c.provider_id == provider_id, session.c.member_id == member_id,
                       event.c.type.in_([kind.name for kind in ENGAGED])).correlate_except(session, event).exists())

    return _self_admin_or_pair(c, member_id, pair)


def person_json(c: Compiler, type_: GraphQLObjectType, details: Details, people: Any, person_id: ColumnElement[Any],
                *, visible: Callable[[Person], ColumnElement[bool]] | None = None) -> ColumnElement[Any]:
    """A member or provider (`people` is their table, `type_` theirs) with its user row joined, as one scalar
    subquery; null unless `visible` holds for it, when given."""
    return person_where(c, type_, details, people, lambda row: and_(
        row.c.id == person_id, *([visible(row)] if visible is not None else [])))


def person_where(c: Compiler, type_: GraphQLObjectType, details: Details, people: Any,
                 where: Callable[[Person], ColumnElement[bool]]) -> ColumnElement[Any]:
    """The member or provider for whose row `where` holds, its user joined; else null."""
    person, user = alias(people), alias(USERS)
    row = Person(c=person.c, user=user)
    return (select(c.object(type_, details, row)).select_from(person.join(user, user.c.id == person.c.user_id))
            .where(where(row)).correlate_except(person, user).scalar_subquery())


def _person(parent: str, field: str, people: Any, key: str) -> None:
    """`parent.field` is the member or provider whose id is the parent row's `key`."""
    def handler(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
        return person_json(c, c.field_type(parent, details), details, people, column_of(row.c, key))

    handles(parent, field)(handler)


for _parent in ("Session", "Conversation", "Package"):
    _person(_parent, "member", MEMBERS, "member_id")
for _parent in ("Session", "Conversation", "Service", "Package"):
    _person(_parent, "provider", PROVIDERS, "provider_id")


def sees_provider(c: Compiler, provider: Any) -> ColumnElement[bool]:
    """`visibility.can_see_provider`: a profile its state shows to everyone, else the provider and admins."""
    shown = [state.name for state in ProviderVisibility if state.profile_visible]
    return or_(provider.c.visibility.in_(shown), viewer_is_provider_or_admin(c, provider.c.id))


@handles("User", "member")
def _user_member(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`User.member`: the user's member profile if the viewer may see it (`visibility.can_see_member`)."""
    return person_where(c, c.field_type("User", details), details, MEMBERS,
                        lambda member: and_(member.c.user_id == row.c.id, sees_member_profile(c, member.c.id)))


@handles("User", "provider")
def _user_provider(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`User.provider`: the user's provider profile if the viewer may see it."""
    return person_where(c, c.field_type("User", details), details, PROVIDERS,
                        lambda provider: and_(provider.c.user_id == row.c.id, sees_provider(c, provider)))


def referenced(c: Compiler, parent: str, details: Details, table: Any, row_id: ColumnElement[Any],
               visible: Callable[[Any], ColumnElement[bool]] | None = None) -> ColumnElement[Any]:
    """The row of `table` (an alias of it) whose id is `row_id`, as the object of `parent`'s field, one scalar
    subquery; null when there is none, or when `visible` does not hold for it."""
    found = alias(table)
    return (select(c.child(parent, details, found))
            .where(found.c.id == row_id, *([visible(found)] if visible is not None else []))
            .correlate_except(found).scalar_subquery())


def _reference(parent: str, field: str, table: Any, key: str) -> None:
    """`parent.field` is the row of `table` whose id is the parent row's `key`."""
    def handler(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
        return referenced(c, parent, details, table, column_of(row.c, key))

    handles(parent, field)(handler)


for _parent in ("Session", "Package"):
    _reference(_parent, "service", SERVICES, "service_id")


@handles("Session", "conversation")
def _session_conversation(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    conversation = alias(CONVERSATIONS)
    return (select(c.child("Session", details, conversation))
            .where(conversation.c.member_id == row.c.member_id, conversation.c.provider_id == row.c.provider_id)
            .correlate_except(conversation).scalar_subquery())


# ------------------------------------------------------------------ people and services

_id("User")
_plain("User", {"role": "role", "displayName": "display_name", "timeZone": "time_zone"})


@handles("Member", "id")
def _member_id(_c: Compiler, row: Person, _details: Details) -> ColumnElement[Any]:
    return gid("Member", row.c.id)


@handles("Member", "displayName", "timeZone")
def _member_user_field(_c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    return column_of(row.user.c, _snake(details[0].node.name.value))


@handles("Member", "user")
def _member_user(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    return c.child("Member", details, row.user)


@handles("Member", "country")
def _member_country(c: Compiler, row: Person, _details: Details) -> ColumnElement[Any]:
    return case((sees_member_profile(c, row.c.id), row.c.country), else_=None)


@handles("Member", "email", "phone")
def _member_contact(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    column = column_of(row.user.c, details[0].node.name.value)
    return case((sees_contact_details(c, row.c.id), column), else_=None)


def _sees_wallet(c: Compiler, member_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """`visibility.sees_wallet`: the member themself and admins."""
    if c.viewer.is_admin:
        return true()
    return member_id == c.viewer.member_id if c.viewer.member_id is not None else false()


@handles("Member", "wallet")
def _wallet(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    return case((_sees_wallet(c, row.c.id), c.child("Member", details, row)), else_=None)


_plain("Wallet", {"availableCredits": "available_credits", "heldCredits": "held_credits"})
"""A wallet's row is its member's."""


@handles("User", "email", "phone")
def _user_contact(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`User._contact_visible`: the user themself, admins, and a provider who sees the member's details."""
    column = column_of(row.c, details[0].node.name.value)
    if c.viewer.is_admin:
        return column
    visible: ColumnElement[bool] = row.c.id == c.viewer.user_id
    if c.viewer.is_provider:
        member = alias(MEMBERS)
        visible = or_(visible, select(member.c.id).where(member.c.user_id == row.c.id,
                                                         sees_contact_details(c, member.c.id))
                            .correlate_except(member).exists())
    return case((visible, column), else_=None)


@handles("Provider", "id")
def _provider_id(_c: Compiler, row: Person, _details: Details) -> ColumnElement[Any]:
    return gid("Provider", row.c.id)


_plain("Provider", {"displayName": "display_name", "bio": "bio", "timeZone": "time_zone",
                    "visibility": "visibility", "commissionRate": "commission_rate"})
"""`commissionRate` is a float the resolver makes of a numeric(5, 4): PostgreSQL writes it with its four
decimals ("0.1500"), which JSON reads as the same float (never as an int), so orjson writes both alike."""


@handles("Provider", "services")
def _services(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    """`services_by_provider_id`'s order; archived ones only for the provider themself and admins."""
    service = alias(SERVICES)
    shown = or_(viewer_is_provider_or_admin(c, row.c.id), service.c.archived_at.is_(None))
    order = [column_of(service.c, column.key) for column in SERVICES_ORDER]
    return (select(json_list(c.child("Provider", details, service), *order))
            .where(service.c.provider_id == row.c.id, shown).correlate_except(service).scalar_subquery())


@handles("Provider", "user")
def _provider_user(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    return c.child("Provider", details, row.user)


@handles("Provider", "reliability")
def _reliability(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    values = Values.of(consecutiveCancellations=row.c.consecutive_cancellations, flagged=row.c.flagged,
                       lateCancellations=row.c.late_cancellations, lateResponses=row.c.late_responses)
    return c.child("Provider", details, values)


@handles("Provider", "calendarFeedUrl")
def _calendar_feed_url(c: Compiler, row: Person, _details: Details) -> ColumnElement[Any]:
    """The provider themself (not admins): the secret feed's URL, once there is a token."""
    if c.viewer.provider_id is None:
        return null()
    base = literal(c.executor.context_value.deps.settings.public_base_url + "/calendar/", Text)
    url = base.op("||")(row.c.calendar_token).op("||")(const(".ics"))
    return case((and_(row.c.id == c.viewer.provider_id, row.c.calendar_token != const("")), url), else_=None)


@handles("Provider", "earnings")
def _provider_earnings(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    """`people.types.earnings`, for the provider themself and admins: the sessions `people_queries.earned_in`
    counts, their gross (`gross_of`) and their earnings; in the currency of the provider's first service, else
    USD."""
    args = c.arguments("Provider", details)
    start, end = args["from_"], args["to"]
    if end <= start:
        raise NotCompilable("the resolver refuses the arguments: `to` must be after `from`")
    gross = gross_of(S.c.fee, captured=S.c.captured_credits, refunded=S.c.refunded_credits)
    totals = (select(func.count().label("sessions"), func.coalesce(func.sum(gross), number(0)).label("gross"),
                     func.coalesce(func.sum(S.c.provider_earnings), number(0)).label("net"))
              .where(*earned_in(row.c.id, start=start, end=end)).correlate_except(S).subquery())
    service = alias(SERVICES)
    currency = (select(service.c.currency).where(service.c.provider_id == row.c.id)
                .order_by(*[column_of(service.c, column.key) for column in SERVICES_ORDER]).limit(1)
                .correlate_except(service).scalar_subquery())
    serialize = c.schema.get_type("DateTime").serialize  # type: ignore[union-attr]
    earned = Values.of(**{"from": literal(serialize(start), Text), "to": literal(serialize(end), Text),
                          "sessions": totals.c.sessions, "gross": totals.c.gross, "net": totals.c.net,
                          "commission": totals.c.gross - totals.c.net,
                          "currency": func.coalesce(currency, const("USD"))})
    found = select(c.child("Provider", details, earned)).select_from(totals).correlate_except(totals).scalar_subquery()
    return case((viewer_is_provider_or_admin(c, row.c.id), found), else_=None)


def gross_of(fee: ColumnElement[Any], *, captured: ColumnElement[Any], refunded: ColumnElement[Any]
             ) -> ColumnElement[Any]:
    """`people_queries.gross_of` with Python's decimal arithmetic: the fee times the share not refunded (a
    quotient of the context), rounded to the context, quantized to the cent with ties to even."""
    share = case((captured == number(0), cast(number(1), Numeric)), else_=quotient(captured - refunded, captured))
    return half_even(in_context(fee * share), number(2))


_composite("Earnings", "from", "to", "sessions")


@handles("Earnings", "gross", "commission", "net")
def _earnings_money(c: Compiler, row: Values, details: Details) -> ColumnElement[Any]:
    return money(c, "Earnings", details, column_of(row.c, details[0].node.name.value), row.c.currency)


_id("Service")
_plain("Service", {"name": "name", "skills": "skills", "durationMinutes": "duration_minutes",
                   "priceCredits": "price_credits", "modalities": "modalities",
                   "freeInitialConsultation": "free_initial_consultation"}, instants=("archivedAt",))


@handles("Service", "archived")
def _archived(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    return column_of(row.c, "archived_at").is_not(None)


@handles("Service", "fee")
def _service_fee(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return money(c, "Service", details, row.c.fee, row.c.currency)


@handles("Service", "packages")
def _package_offers(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """The offers of the JSON column in their order, each number made an int (`int()` truncates a float)."""
    offers = func.json_array_elements(func.coalesce(row.c.packages, EMPTY_LIST)).table_valued(
        "value", with_ordinality="n").render_derived()

    def whole(key: str) -> ColumnElement[Any]:
        return cast(func.trunc(cast(offers.c.value.op("->>")(const(key)), Numeric)), Integer)

    offer = c.child("Service", details, Values.of(sessions=whole("sessions"), priceCredits=whole("priceCredits")))
    return select(json_list(offer, offers.c.n)).select_from(offers).correlate_except(offers).scalar_subquery()


_composite("PackageOffer", "sessions", "priceCredits")


# ------------------------------------------------------------------ notes and packages

def _reads_note(c: Compiler, note: Any) -> ColumnElement[bool]:
    """`notes_queries.readable_notes` and `notes_for`: admins every provider's notes, a provider its own, a member
    none."""
    if c.viewer.is_admin:
        return true()
    return note.c.provider_id == c.viewer.provider_id if c.viewer.provider_id is not None else false()


def _notes(parent: str, key: str) -> None:
    """`parent.privateNotes`: the notes whose `key` is the parent row's id, those the viewer reads, in order."""
    def handler(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
        note = alias(NOTES)
        order = [column_of(note.c, column.key) for column in NOTES_ORDER]
        return (select(json_list(c.child(parent, details, note), *order))
                .where(column_of(note.c, key) == row.c.id, _reads_note(c, note)).correlate_except(note)
                .scalar_subquery())

    handles(parent, "privateNotes")(handler)


_notes("Session", "session_id")
_notes("Member", "member_id")
_id("Note")
_plain("Note", {"body": "body"}, instants=("at",))


_reference("Note", "author", USERS, "author_user_id")


def _sees_package(c: Compiler, package: Any) -> ColumnElement[bool]:
    """`visibility.sees_package`: the member who bought it, the provider it was bought from, admins."""
    viewer = c.viewer
    if viewer.is_admin:
        return true()
    rules = [*([package.c.member_id == viewer.member_id] if viewer.member_id is not None else []),
             *([package.c.provider_id == viewer.provider_id] if viewer.provider_id is not None else [])]
    return or_(*rules) if rules else false()


@handles("Session", "package")
def _session_package(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`packages.types.package_for`: the package it was booked from, if the viewer sees it."""
    return referenced(c, "Session", details, PACKAGES, row.c.package_id, lambda package: _sees_package(c, package))


@handles("Member", "packages")
def _member_packages(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    """`packages.types.member_packages`: those the viewer sees, oldest first."""
    package = alias(PACKAGES)
    order = [column_of(package.c, column.key) for column in PACKAGES_ORDER]
    return (select(json_list(c.child("Member", details, package), *order))
            .where(package.c.member_id == row.c.id, _sees_package(c, package)).correlate_except(package)
            .scalar_subquery())


_id("Package")
_plain("Package", {"sessionsTotal": "sessions_total", "priceCredits": "price_credits",
                   "refundedCredits": "refunded_credits"}, instants=("purchasedAt", "validUntil"))


@handles("Package", "sessionsRefunded")
def _sessions_refunded(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    return func.json_array_length(row.c.refunded_places)


# ------------------------------------------------------------------ messaging

_id("Conversation")


def newest_of(c: Compiler, parent: str, details: Details, table: Any, key: str, parent_id: ColumnElement[Any]
              ) -> ColumnElement[Any]:
    """The row of `table` with the highest id whose `key` is `parent_id` (a conversation's last message, a
    session's last event), as the parent's field `details` selects it."""
    row, earlier = alias(table), alias(table)
    newest = (select(func.max(earlier.c.id)).where(column_of(earlier.c, key) == parent_id)
              .correlate_except(earlier).scalar_subquery())
    return (select(c.child(parent, details, row)).where(row.c.id == newest).correlate_except(row).scalar_subquery())


@handles("Conversation", "lastMessage")
def _last_message(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return newest_of(c, "Conversation", details, MESSAGES, "conversation_id", row.c.id)


_id("Message")
_plain("Message", {"body": "body", "clientMessageId": "client_message_id"},
       instants=("sentAt", "readByRecipientAt"))


@handles("Message", "cursor")
@handles("TimelineEvent", "cursor")
@handles("Notification", "cursor")
def _stream_cursor(_c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    """`messaging.stream_cursor`: the relay's position once sequenced, else `i<id>`."""
    return cursor(func.coalesce(text_of(row.c.position), const("i").op("||")(text_of(row.c.id))))


_reference("Message", "conversation", CONVERSATIONS, "conversation_id")


@handles("Conversation", "unreadCount")
def _unread_count(c: Compiler, row: Any, _details: Details) -> ColumnElement[Any]:
    """`messaging.unread_count`: on the viewer's side (`conversation_queries.side_of`: the member's first), the
    messages `loaders.unread_conditions` counts; 0 for admins and anyone else."""
    sides = [(Party.MEMBER, row.c.member_id, c.viewer.member_id), (Party.PROVIDER, row.c.provider_id,
                                                                     c.viewer.provider_id)]
    counts = []
    for side, party_id, viewer_id in sides:
        if viewer_id is None:
            continue
        message = alias(MESSAGES)
        unread = (select(func.count()).select_from(message)
                  .where(message.c.conversation_id == row.c.id,
                         *unread_conditions(message.c, read_mark(row.c, side), c.viewer.user_id))
                  .correlate_except(message).scalar_subquery())
        counts.append((party_id == viewer_id, unread))
    return case(*counts, else_=number(0)) if counts else number(0)


_reference("Message", "sender", USERS, "sender_user_id")


def visible_session(c: Compiler, parent: str, details: Details, session_id: ColumnElement[Any]
                    ) -> ColumnElement[Any]:
    """`sessions.types.load_session`: the session if the viewer sees it (`visibility.can_see_session`, written
    for the symbolic viewer by `session_queries.viewer_scope`), else null; null for no id. (A timeline event's
    session, never null in the contract, is always one its reader sees: events are read through it.)"""
    if c.shape.member and c.shape.provider:
        raise NotCompilable("viewer_scope and can_see_session differ for a viewer who is member and provider")
    return (select(c.child(parent, details, S)).where(S.c.id == session_id, viewer_scope(c.scope_viewer))
            .correlate_except(S).scalar_subquery())


def _session_of(parent: str) -> None:
    def handler(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
        return visible_session(c, parent, details, row.c.session_id)

    handles(parent, "session")(handler)


for _parent in ("Message", "TimelineEvent", "Notification", "Note"):
    _session_of(_parent)


# ------------------------------------------------------------------ timeline and notifications

_id("TimelineEvent")
_plain("TimelineEvent", {"type": "type", "actorRole": "actor_role", "fromStatus": "from_status",
                         "toStatus": "to_status", "reason": "reason", "note": "note", "credits": "credits"},
       instants=("at", "previousStartsAt", "newStartsAt"))


_reference("TimelineEvent", "actor", USERS, "actor_user_id")


@handles("Session", "lastEvent")
def _last_event(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    return newest_of(c, "Session", details, EVENTS, "session_id", row.c.id)


_id("Notification")
_plain("Notification", {"kind": "kind", "title": "title", "body": "body"}, instants=("createdAt", "readAt"))
