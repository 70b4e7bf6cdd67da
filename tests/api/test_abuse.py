"""Abuse: another user's ids on every mutation, oversized pages, bad tokens, deleted and deactivated accounts.

Every refusal is asserted exactly (result type or top-level error, code and field), and the whole database
(every row of every table) is compared before and after: a refused call changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from graphql import build_schema as parse_sdl
from sqlalchemy import delete, select

from sessions_gql.api import ids
from sessions_gql.api.schema import build_schema
from sessions_gql.auth.context import VIEWER_TTL_SECONDS
from sessions_gql.auth.tokens import issue_token
from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.db.base import Base
from sessions_gql.domain.enums import Funding, Party, PaymentStatus, SessionStatus
from sessions_gql.domain.session_rules import Step, permits
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions.session_store import actor_of, to_domain
from tests.api.factories import gid, insert_package, insert_service, insert_session
from tests.api.lifecycle_helpers import SET_AVAILABILITY
from tests.harness.app import START, TEST_SECRET, Api, Person

Outcome = tuple[str, str | None, str | None]
"""(result __typename, or "ERROR" for a top-level error, or "VALUE"; code; field)."""


@cache
def schema() -> GraphQLSchema:
    """The exported schema, as graphql-core types (what clients see)."""
    return parse_sdl(build_schema(Settings(jwt_secret=TEST_SECRET)).as_str())


def mutation_field(name: str) -> GraphQLField:
    mutation_type = schema().mutation_type
    assert mutation_type is not None
    found: GraphQLField = mutation_type.fields[name]
    return found


def document(name: str) -> str:
    """`mutation(<every argument>) { name(...) { <enough to see success or the error> } }`, from the schema."""
    found = mutation_field(name)
    params = ", ".join(f"${arg}: {spec.type}" for arg, spec in found.args.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in found.args)
    returned = get_named_type(found.type)
    selection = ""
    if isinstance(returned, GraphQLUnionType):
        selection = "{ __typename ... on UserError { code field } }"
    elif isinstance(returned, GraphQLObjectType):
        selection = "{ __typename }"
    return (f"mutation{f'({params})' if params else ''} {{ {name}{f'({passed})' if passed else ''} "
            f"{selection} }}")


def id_paths(input_type: GraphQLInputType, prefix: str) -> set[str]:
    named = get_named_type(input_type)
    if isinstance(named, GraphQLInputObjectType):
        return {path for key, spec in named.fields.items() for path in id_paths(spec.type, f"{prefix}.{key}")}
    return {prefix} if named.name == "ID" else set()


def mutation_id_paths(name: str) -> set[str]:
    """Every ID-typed argument of a mutation, e.g. {"input.sessionId"} or {"conversationId", "upTo"}."""
    return {path for arg, spec in mutation_field(name).args.items() for path in id_paths(spec.type, arg)}


def given_paths(args: Mapping[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in args.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found |= given_paths(value, f"{path}.")
        elif value is not None:
            found.add(path)
    return found


def outcome(body: dict[str, Any], name: str) -> Outcome:
    if "errors" in body:
        assert body["data"] is None, body
        (error,) = body["errors"]
        return "ERROR", error["extensions"]["code"], error["extensions"].get("field")
    result = body["data"][name]
    if isinstance(result, dict) and "__typename" in result:
        return result["__typename"], result.get("code"), result.get("field")
    assert result not in (None, False), body
    return "VALUE", None, None


async def db_state(deps: Deps) -> dict[str, tuple[int, str]]:
    """Per table: the row count and a digest of every row (in primary-key order)."""
    state: dict[str, tuple[int, str]] = {}
    async with deps.sessions() as db:
        for table in Base.metadata.sorted_tables:
            rows = (await db.execute(select(table).order_by(*table.primary_key.columns))).all()
            state[table.name] = (len(rows), hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest())
    return state


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


# ---------------------------------------------------------------- the arena: two victims, two attackers


@dataclass(frozen=True)
class Ids:
    """Global ids of the victims' things (Mia the member, Pat the provider) and the attackers' own."""

    mia: str
    max: str
    pat: str
    quinn: str
    pat_service: str
    quinn_service: str
    pat_override: str
    mia_pat_conversation: str
    max_pat_conversation: str
    pat_message_to_mia: str
    pat_message_to_max: str
    mia_notification: str
    mia_package: str
    mia_user: str
    sessions: Mapping[str, str] = field(default_factory=dict)


def dummy_ids() -> Ids:
    """Placeholders, enough to list the cases without a database."""
    placeholders = {spec.name: "-" for spec in fields(Ids) if spec.name != "sessions"}
    return Ids(**placeholders, sessions=defaultdict(lambda: "-"))


SESSION_STATES: dict[str, dict[str, Any]] = {
    # key: the columns of one Mia-Pat session in the state one action needs (START is Monday 08:00 UTC)
    "awaiting": {"starts": START + timedelta(days=3), "status": SessionStatus.AWAITING_APPROVAL,
                 "approved_by_provider": False},
    "confirmed": {"starts": START + timedelta(days=4), "status": SessionStatus.CONFIRMED},
    "rescheduling": {"starts": START + timedelta(days=2), "status": SessionStatus.RESCHEDULING,
                     "approved_by_member": False, "proposal_by": Party.PROVIDER},
    "joinable": {"starts": START + timedelta(minutes=10), "status": SessionStatus.CONFIRMED,
                 "columns": {"member_present": True, "member_joined_at": START}},
    "member_absent": {"starts": START - timedelta(minutes=15), "status": SessionStatus.CONFIRMED},
    "member_no_show": {"starts": START - timedelta(minutes=20), "status": SessionStatus.NO_SHOW,
                       "columns": {"no_show_party": Party.MEMBER}},
    "ongoing": {"starts": START - timedelta(minutes=30), "status": SessionStatus.IN_PROGRESS,
                "columns": {"started_at": START - timedelta(minutes=30), "provider_present": True}},
    "completed": {"starts": START - timedelta(days=2), "status": SessionStatus.COMPLETED,
                  "columns": {"funding": Funding.CREDITS, "payment_status": PaymentStatus.CAPTURED,
                              "captured_credits": 10}},
}

SESSION_ACTIONS: dict[str, tuple[str, Step, str, dict[str, Any]]] = {
    # mutation: (session state, the domain step, who may do it, the other arguments)
    "confirmSession": ("awaiting", Step.CONFIRM, "pat", {}),
    "declineSession": ("awaiting", Step.DECLINE, "pat", {"reason": "NOT_AVAILABLE", "note": "no"}),
    "withdrawSession": ("awaiting", Step.WITHDRAW, "mia", {}),
    "cancelSession": ("confirmed", Step.CANCEL, "mia", {"reason": "SCHEDULE_CONFLICT",
                                                        "acknowledgeLateCancellation": True}),
    "proposeNewTime": ("confirmed", Step.PROPOSE_NEW_TIME, "pat",
                       {"startsAt": (START + timedelta(days=4, hours=2)).isoformat()}),
    "acceptNewTime": ("rescheduling", Step.ACCEPT_NEW_TIME, "mia", {}),
    "rejectNewTime": ("rescheduling", Step.REJECT_NEW_TIME, "mia", {"reason": "PERSONAL"}),
    "withdrawNewTime": ("rescheduling", Step.WITHDRAW_NEW_TIME, "pat", {}),
    "joinSession": ("joinable", Step.JOIN, "pat", {}),
    "leaveSession": ("joinable", Step.LEAVE, "mia", {}),
    "startSession": ("joinable", Step.START, "pat", {}),
    "markNoShow": ("member_absent", Step.MARK_NO_SHOW, "pat", {}),
    "undoNoShow": ("member_no_show", Step.UNDO_NO_SHOW, "pat", {}),
    "endSession": ("ongoing", Step.END, "pat", {}),
    "refundSession": ("completed", Step.REFUND, "pat", {"credits": 5, "note": "sorry"}),
}

NO_FOREIGN_ID: dict[str, dict[str, Any]] = {
    # Mutations with no id argument and no role restriction: they change only the viewer's own row, so there
    # is nobody else's id to try. Each maps to the arguments used to check that an anonymous call is refused.
    "setEmailPreferences": {"preferences": [{"kind": "MESSAGE_RECEIVED", "email": False}]},
}

FORBIDDEN: Outcome = ("BasicError", "FORBIDDEN", None)
ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//abuse//EN\r\nBEGIN:VEVENT\r\nUID:busy@abuse\r\n"
       "DTSTART:20261125T120000Z\r\nDTEND:20261125T130000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@dataclass(frozen=True)
class Case:
    mutation: str
    args: dict[str, Any]
    by: str
    refusal: Outcome
    owner: str | None = None
    """Who may make the very same call: after every refusal, the owners' calls must go through."""


def not_found(id_field: str) -> Outcome:
    return "BasicError", "NOT_FOUND", id_field


def service_input(**ids_: str) -> dict[str, Any]:
    return {"name": "Hijacked", "skills": ["career"], "durationMinutes": 60, "priceCredits": 1, "fee": "1.00",
            "currency": "EUR", "modalities": ["VIDEO"], "freeInitialConsultation": False, **ids_}


def session_cases(i: Ids) -> list[Case]:
    cases = []
    for name, (state, _step, _owner, extra) in SESSION_ACTIONS.items():
        input_type = get_named_type(mutation_field(name).args["input"].type)
        assert isinstance(input_type, GraphQLInputObjectType)
        version = {"expectedVersion": 1} if "expectedVersion" in input_type.fields else {}  # the current one
        args = {"input": {"sessionId": i.sessions[state], **version, **extra}}
        cases += [Case(name, args, attacker, not_found("sessionId")) for attacker in ("max", "quinn")]
    # a wrong version must not tell a stranger the session exists (NOT_FOUND, not STALE_VERSION)
    cases.append(Case("cancelSession", {"input": {"sessionId": i.sessions["confirmed"], "expectedVersion": 99,
                                                  "reason": "OTHER"}}, "quinn", not_found("sessionId")))
    return cases


def attack_cases(i: Ids) -> list[Case]:
    """One or more calls per mutation by someone who does not own the ids in it. Owners' calls (controls)
    run in this order after all refusals, so state-changing controls that others depend on come last."""
    tuesday = (START + timedelta(days=1, hours=2)).isoformat()  # 10:00 London, inside Pat's availability
    request = {"providerId": i.pat, "serviceId": i.pat_service, "startsAt": tuesday, "modality": "VIDEO",
               "memberId": i.mia}
    propose = {"memberId": i.mia, "serviceId": i.pat_service, "startsAt": (START + timedelta(days=1, hours=6))
               .isoformat(), "durationMinutes": 60, "priceCredits": 10, "modality": "VIDEO"}
    rules = [{"weekday": day, "start": "08:00", "end": "18:00"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]
    availability = {"timeZone": "Europe/London", "weeklyRules": rules, "providerId": i.pat}
    override = {"kind": "BLOCKED", "startsAt": (START + timedelta(days=8)).isoformat(),
                "endsAt": (START + timedelta(days=8, hours=2)).isoformat(), "providerId": i.pat}
    message = {"body": "hello from a stranger", "clientMessageId": "abuse-1"}
    return [
        # admin-only, with and without someone's id
        Case("createMember", {"input": {"email": "new.member@abuse.test", "displayName": "New",
                                        "timeZone": "UTC"}}, "max", FORBIDDEN, "admin"),
        Case("createProvider", {"input": {"email": "new.provider@abuse.test", "displayName": "New",
                                          "timeZone": "UTC"}}, "quinn", FORBIDDEN, "admin"),
        Case("grantCredits", {"input": {"memberId": i.mia, "credits": 5}}, "max", FORBIDDEN, "admin"),
        Case("grantCredits", {"input": {"memberId": i.max, "credits": 5}}, "max", FORBIDDEN),
        Case("grantCredits", {"input": {"memberId": i.mia, "credits": 5}}, "quinn", FORBIDDEN),
        Case("grantSponsorship", {"input": {"memberId": i.mia, "sponsor": "Acme", "hours": 2.0}}, "max",
             FORBIDDEN, "admin"),
        Case("grantSponsorship", {"input": {"memberId": i.max, "sponsor": "Acme", "hours": 2.0}}, "quinn",
             FORBIDDEN),
        # a provider's catalogue, availability and calendar
        Case("saveService", {"input": service_input(serviceId=i.pat_service)}, "quinn", not_found("serviceId"),
             "pat"),
        Case("saveService", {"input": service_input(providerId=i.pat)}, "quinn",
             ("BasicError", "FORBIDDEN", "providerId"), "pat"),
        Case("saveService", {"input": service_input(serviceId=i.quinn_service, providerId=i.pat)}, "quinn",
             ("BasicError", "FORBIDDEN", "providerId")),
        Case("saveService", {"input": service_input(serviceId=i.pat_service)}, "max", not_found("serviceId")),
        Case("saveService", {"input": service_input(providerId=i.pat)}, "max", FORBIDDEN),
        Case("setAvailability", {"input": availability}, "quinn", ("BasicError", "FORBIDDEN", "providerId"),
             "pat"),
        Case("setAvailability", {"input": availability}, "max", FORBIDDEN),
        Case("addAvailabilityOverride", {"input": override}, "quinn", ("BasicError", "FORBIDDEN", "providerId"),
             "pat"),
        Case("addAvailabilityOverride", {"input": override}, "max", FORBIDDEN),
        Case("removeAvailabilityOverride", {"id": i.pat_override}, "quinn", not_found("id")),
        Case("removeAvailabilityOverride", {"id": i.pat_override}, "max", not_found("id"), "pat"),
        Case("importBusyTimes", {"ics": ICS}, "max", FORBIDDEN, "pat"),  # acts on the viewer: providers only
        Case("rotateCalendarFeed", {}, "max", FORBIDDEN, "pat"),  # acts on the viewer: providers only
        # new sessions for someone else
        Case("requestSession", {"input": request}, "max", ("BasicError", "FORBIDDEN", "memberId"), "mia"),
        Case("requestSession", {"input": request}, "quinn", FORBIDDEN),
        Case("requestSession", {"input": {**request, "memberId": None, "packageId": i.mia_package}}, "max",
             not_found("packageId")),
        # packages: buying for someone else, refunding someone else's
        Case("purchasePackage", {"input": {"serviceId": i.pat_service, "sessions": 2, "memberId": i.mia}}, "max",
             ("BasicError", "FORBIDDEN", "memberId"), "mia"),
        Case("purchasePackage", {"input": {"serviceId": i.pat_service, "sessions": 2, "memberId": i.mia}}, "quinn",
             FORBIDDEN),
        Case("refundPackage", {"input": {"packageId": i.mia_package, "sessions": 1}}, "quinn",
             not_found("packageId"), "pat"),
        Case("refundPackage", {"input": {"packageId": i.mia_package, "sessions": 1}}, "max",
             not_found("packageId")),
        Case("proposeSession", {"input": {**propose, "providerId": i.pat}}, "quinn",
             ("BasicError", "FORBIDDEN", "providerId"), "pat"),
        Case("proposeSession", {"input": propose}, "quinn", not_found("serviceId")),
        Case("proposeSession", {"input": {**propose, "providerId": i.pat}}, "max", FORBIDDEN),
        # every transition of someone else's session
        *session_cases(i),
        # private notes
        Case("addNote", {"input": {"body": "snooping", "sessionId": i.sessions["confirmed"]}}, "quinn",
             not_found("sessionId"), "pat"),
        Case("addNote", {"input": {"body": "snooping", "memberId": i.mia}}, "quinn", not_found("memberId"),
             "pat"),
        Case("addNote", {"input": {"body": "snooping", "sessionId": i.sessions["confirmed"]}}, "max", FORBIDDEN),
        # messaging
        Case("sendMessage", {"input": {**message, "conversationId": i.mia_pat_conversation}}, "max",
             not_found("conversationId"), "mia"),
        Case("sendMessage", {"input": {**message, "conversationId": i.mia_pat_conversation}}, "quinn",
             not_found("conversationId")),
        Case("sendMessage", {"input": {**message, "recipientId": i.mia}}, "quinn", not_found("recipientId"),
             "pat"),
        Case("sendMessage", {"input": {**message, "recipientId": i.mia}}, "max", not_found("recipientId")),
        Case("sendMessage", {"input": {**message, "recipientId": i.pat, "sessionId": i.sessions["confirmed"]}},
             "max", not_found("sessionId"), "mia"),
        Case("markConversationRead", {"conversationId": i.mia_pat_conversation}, "max",
             not_found("conversationId"), "mia"),
        Case("markConversationRead", {"conversationId": i.mia_pat_conversation}, "quinn",
             not_found("conversationId")),
        Case("markConversationRead", {"conversationId": i.max_pat_conversation, "upTo": i.pat_message_to_mia},
             "max", not_found("upTo")),
        Case("setTyping", {"conversationId": i.mia_pat_conversation, "typing": True}, "max",
             ("ERROR", "NOT_FOUND", "conversationId"), "mia"),
        Case("setTyping", {"conversationId": i.mia_pat_conversation, "typing": True}, "quinn",
             ("ERROR", "NOT_FOUND", "conversationId")),
        Case("markNotificationsRead", {"upTo": i.mia_notification}, "max", not_found("upTo"), "mia"),
        Case("markNotificationsRead", {"upTo": i.mia_notification}, "quinn", not_found("upTo")),
        # profiles: one's own, or anyone's for an admin
        Case("updateProfile", {"input": {"userId": i.mia_user, "displayName": "Hijacked"}}, "max",
             ("BasicError", "FORBIDDEN", "userId"), "admin"),
        Case("updateProfile", {"input": {"userId": i.mia_user, "displayName": "Hijacked"}}, "quinn",
             ("BasicError", "FORBIDDEN", "userId")),
        # last: the owners' calls of these change what the calls above rely on
        Case("archiveService", {"id": i.pat_service}, "quinn", ("BasicError", "FORBIDDEN", "id"), "pat"),
        Case("archiveService", {"id": i.pat_service}, "max", FORBIDDEN),
        Case("setProviderVisibility", {"visibility": "INVISIBLE", "providerId": i.pat}, "quinn",
             ("BasicError", "FORBIDDEN", "providerId"), "pat"),
        Case("setProviderVisibility", {"visibility": "DEACTIVATED", "providerId": i.pat}, "quinn",
             ("BasicError", "FORBIDDEN", "providerId")),
        Case("setProviderVisibility", {"visibility": "INVISIBLE", "providerId": i.pat}, "max", FORBIDDEN),
        Case("advanceTestClock", {"minutes": 60}, "max", ("ERROR", "FORBIDDEN", None), "admin"),
    ]


SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename
  ... on MessageSuccess { chatMessage { id conversation { id } } } ... on UserError { code field } } }"""
ADD_OVERRIDE = """mutation($input: AddAvailabilityOverrideInput!) { addAvailabilityOverride(input: $input) {
  ... on AvailabilitySuccess { availability { overrides { id } } } } }"""
NOTIFICATIONS = "{ notifications(first: 5) { edges { node { id } } } }"


async def mia_pat_session(deps: Deps, person: dict[str, Person], service_id: uuid.UUID, state: dict[str, Any]
                          ) -> uuid.UUID:
    mia, pat = person["mia"], person["pat"]
    assert mia.member_id and pat.provider_id
    session_id = await insert_session(
        deps, mia.member_id, pat.provider_id, service_id, state["starts"], state["status"],
        approved_by_member=state.get("approved_by_member", True),
        approved_by_provider=state.get("approved_by_provider", True), proposal_by=state.get("proposal_by"))
    if state.get("columns"):
        async with deps.sessions() as db, db.begin():
            row = await db.get(m.Session, session_id)
            assert row is not None
            for column, value in state["columns"].items():
                setattr(row, column, value)
    return session_id


async def send(api: Api, by: Person, **input_: str) -> tuple[str, str]:
    """(message id, conversation id) of a message that must go through."""
    data = await api.gql(SEND, {"input": {"body": "hi", "clientMessageId": uuid.uuid4().hex, **input_}}, as_=by)
    result = data["sendMessage"]
    assert result["__typename"] == "MessageSuccess", result
    return result["chatMessage"]["id"], result["chatMessage"]["conversation"]["id"]


async def build_arena(api: Api) -> tuple[dict[str, Person], Ids]:
    deps = api.deps
    person = {"admin": await api.admin(), "mia": await api.member("Mia", credits=50),
              "max": await api.member("Max", credits=50), "pat": await api.provider("Pat"),
              "quinn": await api.provider("Quinn")}
    pat, mia, max_ = person["pat"], person["mia"], person["max"]
    assert pat.provider_id and person["quinn"].provider_id and max_.member_id
    pat_service = await insert_service(deps, pat.provider_id, packages=[{"sessions": 2, "priceCredits": 20}])
    quinn_service = await insert_service(deps, person["quinn"].provider_id)
    rules = [{"weekday": day, "start": "08:00", "end": "18:00"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]
    await api.gql(SET_AVAILABILITY, {"input": {"timeZone": "Europe/London", "weeklyRules": rules}}, as_=pat)
    added = await api.gql(ADD_OVERRIDE, {"input": {"kind": "BLOCKED", "startsAt": (START + timedelta(days=7))
                                                   .isoformat(), "endsAt": (START + timedelta(days=7, hours=1))
                                                   .isoformat()}}, as_=pat)
    (override,) = added["addAvailabilityOverride"]["availability"]["overrides"]
    sessions = {key: gid("Session", await mia_pat_session(deps, person, pat_service, state))
                for key, state in SESSION_STATES.items()}
    await insert_session(deps, max_.member_id, pat.provider_id, pat_service, START - timedelta(days=3),
                         SessionStatus.COMPLETED)  # so Pat may write to Max
    # Max's unread message and notification come first: an `upTo` of Mia's (a higher id) would cover them
    _, max_pat = await send(api, max_, recipientId=pat.gid)
    to_max, _ = await send(api, pat, conversationId=max_pat)
    _, mia_pat = await send(api, mia, recipientId=pat.gid)
    to_mia, _ = await send(api, pat, conversationId=mia_pat)
    (notification,) = (await api.gql(NOTIFICATIONS, as_=mia))["notifications"]["edges"]
    assert mia.member_id
    package = gid("Package", await insert_package(deps, mia.member_id, pat.provider_id, pat_service))
    return person, Ids(mia=mia.gid, max=max_.gid, pat=pat.gid, quinn=person["quinn"].gid,
                       pat_service=gid("Service", pat_service), quinn_service=gid("Service", quinn_service),
                       pat_override=override["id"], mia_pat_conversation=mia_pat, max_pat_conversation=max_pat,
                       pat_message_to_mia=to_mia, pat_message_to_max=to_max,
                       mia_notification=notification["node"]["id"], mia_package=package,
                       mia_user=gid("User", mia.viewer.user_id), sessions=sessions)


# ---------------------------------------------------------------- 1. someone else's ids, on every mutation


def test_every_mutation_and_every_id_argument_has_an_abuse_case() -> None:
    """A new mutation, or a new id argument of one, fails here until it gets a case above."""
    mutation_type = schema().mutation_type
    assert mutation_type is not None
    cases = attack_cases(dummy_ids())
    assert {case.mutation for case in cases} == set(mutation_type.fields) - NO_FOREIGN_ID.keys()
    assert all(not mutation_id_paths(name) for name in NO_FOREIGN_ID), "takes an id: give it cases"
    given: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        given[case.mutation] |= given_paths(case.args)
    untried = {name: sorted(mutation_id_paths(name) - paths) for name, paths in given.items()}
    assert {name: paths for name, paths in untried.items() if paths} == {}


async def test_no_one_but_the_owner_may_use_an_id_in_any_mutation(api: Api) -> None:
    """Each case refused exactly and changing no row; every mutation refused without a token; then the same
    calls by the owners succeed, and the owners could take each session step: the ids were the only fault."""
    person, arena = await build_arena(api)
    deps, now = api.deps, api.deps.clock.now()
    async with deps.sessions() as db:  # each victim session is in a state where its owner may take the step
        for name, (key, step, owner, _) in SESSION_ACTIONS.items():
            row = await db.get(m.Session, ids.decode_uuid(arena.sessions[key], "Session"))
            assert row is not None and row.version == 1
            assert permits(step, to_domain(row), actor_of(person[owner].viewer), now, deps.policy), name
    cases = attack_cases(arena)
    start = state = await db_state(deps)
    problems = []
    for case in cases:
        body = await api.post(document(case.mutation), case.args, token=person[case.by].token)
        got = outcome(body, case.mutation)
        previous, state = state, await db_state(deps)
        if got != case.refusal or changed_tables(previous, state):
            problems.append(f"{case.mutation} by {case.by} {case.args}: {got}, expected {case.refusal}; "
                            f"changed {changed_tables(previous, state)}")
    assert problems == []

    for name in sorted({case.mutation for case in cases} | NO_FOREIGN_ID.keys()):
        args = NO_FOREIGN_ID.get(name) or next(case.args for case in cases if case.mutation == name)
        body = await api.post(document(name), args)
        assert outcome(body, name) == ("ERROR", "UNAUTHENTICATED", None), name
    assert changed_tables(start, await db_state(deps)) == []

    for case in cases:  # the same calls by their owners go through: the refusals were about whose ids they are
        if case.owner is not None:
            got = outcome(await api.post(document(case.mutation), case.args, token=person[case.owner].token),
                          case.mutation)
            assert got[0] == "VALUE" or got[0].endswith("Success"), (case, got)


# ---------------------------------------------------------------- 2. oversized pages


PAGES: dict[str, tuple[str, str, Any]] = {
    # "Type.field": (a document paging it by $size, the size argument's name, the data when it is refused)
    "Query.sessions": ("query($size: Int) { sessions(first: $size) { totalCount edges { node { id } } } }",
                       "first", None),
    "Query.providers": ("query($size: Int) { providers(first: $size) { edges { node { id } } } }", "first", None),
    "Query.users": ("query($size: Int) { users(first: $size) { edges { node { id } } } }", "first", None),
    "Query.conversations": ("query($size: Int) { conversations(first: $size) { edges { node { id } } } }",
                            "first", None),
    "Query.notifications": ("query($size: Int) { notifications(first: $size) { edges { node { id } } } }",
                            "first", None),
    "Member.sessions": ("query($id: ID!, $size: Int) { member(id: $id) { sessions(first: $size) { totalCount } } }",
                        "first", {"member": None}),
    "Provider.sessions": ("""query($pat: ID!, $size: Int) { provider(id: $pat) { sessions(first: $size) {
                          totalCount } } }""", "first", {"provider": None}),
    "Wallet.ledger": ("""query($id: ID!, $size: Int) { member(id: $id) { wallet { ledger(first: $size) {
                      edges { node { id } } } } } }""", "first", {"member": {"wallet": None}}),
    "Session.timeline": ("""query($session: ID!, $size: Int) { session(id: $session) { timeline(first: $size) {
                         edges { node { id } } } } }""", "first", {"session": None}),
    "Conversation.messages": ("""query($conversation: ID!, $size: Int) { conversation(id: $conversation) {
                              messages(last: $size) { edges { node { id } } } } }""", "last",
                              {"conversation": None}),
    "Package.sessions": ("""query($package: ID!, $size: Int) { node(id: $package) { ... on Package {
                         sessions(first: $size) { totalCount } } } }""", "first", {"node": None}),
}


def paged_fields() -> set[str]:
    """Every field of the schema that returns a connection, with a page-size argument."""
    return {f"{name}.{key}" for name, named in schema().type_map.items() if isinstance(named, GraphQLObjectType)
            for key, spec in named.fields.items()
            if get_named_type(spec.type).name.endswith("Connection") and {"first", "last"} & spec.args.keys()}


def test_every_connection_field_has_a_page_size_case() -> None:
    assert paged_fields() == PAGES.keys()


async def test_page_sizes_over_the_limit_are_refused_with_no_data(api: Api) -> None:
    limit = api.deps.settings.max_page_size
    mia, pat = await api.member("Mia", credits=5), await api.provider("Pat")
    assert mia.member_id and pat.provider_id
    service = await insert_service(api.deps, pat.provider_id)
    session = gid("Session", await insert_session(api.deps, mia.member_id, pat.provider_id, service,
                                                  START + timedelta(days=1), SessionStatus.CONFIRMED))
    _, conversation = await send(api, mia, recipientId=pat.gid)
    package = gid("Package", await insert_package(api.deps, mia.member_id, pat.provider_id, service))
    variables = {"id": mia.gid, "pat": pat.gid, "session": session, "conversation": conversation,
                 "package": package}
    for name, (query, argument, refused_data) in PAGES.items():
        as_ = {"Provider.sessions": pat, "Query.users": await api.admin()}.get(name, mia)
        declared = {key: value for key, value in variables.items() if f"${key}:" in query}
        at_limit = await api.post(query, {**declared, "size": limit}, token=as_.token)
        assert "errors" not in at_limit and at_limit["data"] != refused_data, (name, at_limit)
        for size in (limit + 1, 10_000):
            body = await api.post(query, {**declared, "size": size}, token=as_.token)
            assert body["data"] == refused_data, (name, size, body)
            assert [(e["extensions"]["code"], e["extensions"]["field"], e["message"]) for e in body["errors"]] == [
                ("VALIDATION", argument, f"{argument} must be between 0 and {limit}")], (name, size)


# ---------------------------------------------------------------- 3. tokens that must not authenticate


VIEWER = "{ viewer { user { id role } } }"
OPT_OUT = """mutation { setEmailPreferences(preferences: [{kind: MESSAGE_RECEIVED, email: false}]) {
  kind email } }"""


def claims(user_id: uuid.UUID | str, now: datetime, **changes: Any) -> dict[str, Any]:
    values = {"sub": str(user_id), "role": "MEMBER", "iss": "sessions-gql", "aud": "sessions-gql",
              "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp()), **changes}
    return {key: value for key, value in values.items() if value is not None}


def unsigned(payload: dict[str, Any]) -> str:
    """An `alg: none` token: header and claims, empty signature."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def mint(kind: str, user_id: uuid.UUID, now: datetime) -> str:
    good = claims(user_id, now)
    tokens = {
        "valid": lambda: jwt.encode(good, TEST_SECRET, algorithm="HS256"),
        "expired": lambda: jwt.encode(claims(user_id, now - timedelta(hours=2), exp=int(now.timestamp()) - 1),
                                      TEST_SECRET, algorithm="HS256"),
        "expiring_this_second": lambda: jwt.encode(claims(user_id, now, exp=int(now.timestamp())), TEST_SECRET,
                                                   algorithm="HS256"),
        "wrong_secret": lambda: jwt.encode(good, "another-secret-of-the-same-length-0000", algorithm="HS256"),
        "hs512_with_the_right_secret": lambda: jwt.encode(good, TEST_SECRET, algorithm="HS512"),
        "rs256_with_any_key": lambda: jwt.encode(good, rsa_pem(), algorithm="RS256"),
        "alg_none": lambda: unsigned(good),
        "alg_none_with_the_real_signature": lambda: unsigned(good)
        + jwt.encode(good, TEST_SECRET, algorithm="HS256").rsplit(".", 1)[1],
        "wrong_issuer": lambda: jwt.encode(claims(user_id, now, iss="someone-else"), TEST_SECRET, algorithm="HS256"),
        "wrong_audience": lambda: jwt.encode(claims(user_id, now, aud="other-api"), TEST_SECRET, algorithm="HS256"),
        "without_expiry": lambda: jwt.encode(claims(user_id, now, exp=None), TEST_SECRET, algorithm="HS256"),
        "subject_not_a_uuid": lambda: jwt.encode(claims("admin", now), TEST_SECRET, algorithm="HS256"),
        "unknown_user": lambda: jwt.encode(claims(uuid.uuid4(), now), TEST_SECRET, algorithm="HS256"),
    }
    return tokens[kind]()


@pytest.mark.parametrize("kind", [
    "valid", "expired", "expiring_this_second", "wrong_secret",
    pytest.param("hs512_with_the_right_secret",
                 marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")),
    "rs256_with_any_key",
    "alg_none", "alg_none_with_the_real_signature", "wrong_issuer", "wrong_audience", "without_expiry",
    "subject_not_a_uuid", "unknown_user",
])
async def test_a_bad_token_is_unauthenticated_and_changes_nothing(api: Api, kind: str) -> None:
    mia = await api.member("Mia")
    token = mint(kind, mia.viewer.user_id, api.deps.clock.wall())
    before = await db_state(api.deps)
    read, write = await api.post(VIEWER, token=token), await api.post(OPT_OUT, token=token)
    if kind == "valid":  # the same request with a good token goes through: the refusals are the token's
        assert read == {"data": {"viewer": {"user": {"id": gid("User", mia.viewer.user_id), "role": "MEMBER"}}}}
        assert "errors" not in write and changed_tables(before, await db_state(api.deps)) == ["users"]
        return
    for body in (read, write):
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}
        assert error["message"].startswith("invalid token: "), error["message"]
    if kind.startswith("expir"):
        assert read["errors"][0]["message"] == "invalid token: token expired"
    if kind == "unknown_user":
        assert read["errors"][0]["message"] == "invalid token: the user no longer exists"
    assert changed_tables(before, await db_state(api.deps)) == []


ADVANCE = "mutation($minutes: Int!) { advanceTestClock(minutes: $minutes) }"


async def test_tokens_live_in_real_time_while_the_test_clock_moves_the_booking_world(api: Api) -> None:
    """Moving the test clock 30 days ahead ends no one's session: a token minted a second ago still works
    (like one from `sessions-gql token`), and a really expired one is still refused."""
    mia, admin = await api.member("Mia"), await api.admin()
    short = api.deps.settings.model_copy(update={"token_ttl_minutes": 60})
    moved = await api.gql(ADVANCE, {"minutes": 30 * 24 * 60}, as_=admin)
    assert moved == {"advanceTestClock": (START + timedelta(days=30)).isoformat()}
    fresh = issue_token(short, user_id=mia.viewer.user_id, role="MEMBER", now=api.deps.clock.wall())
    for token in (fresh, mia.token):
        assert await api.post(VIEWER, token=token) == {
            "data": {"viewer": {"user": {"id": gid("User", mia.viewer.user_id), "role": "MEMBER"}}}}
    real_now = api.deps.clock.wall()
    expired = jwt.encode(claims(mia.viewer.user_id, real_now - timedelta(hours=2), exp=int(real_now.timestamp()) - 1),
                         TEST_SECRET, algorithm="HS256")
    body = await api.post(VIEWER, token=expired)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("UNAUTHENTICATED", "invalid token: token expired")]


@pytest.mark.parametrize(("claim", "message"), [("iat", "token issued in the future"),
                                                 ("nbf", "token not valid yet")])
async def test_a_token_from_the_future_is_refused_on_real_time(api: Api, claim: str, message: str) -> None:
    """`iat` and `nbf` are checked against real time too (a minute of skew allowed), even with the test clock
    moved past them: a token minted on the shifted clock is not valid yet."""
    mia, admin = await api.member("Mia"), await api.admin()
    await api.gql(ADVANCE, {"minutes": 24 * 60}, as_=admin)
    ahead = api.deps.clock.wall() + timedelta(minutes=5)
    token = jwt.encode(claims(mia.viewer.user_id, api.deps.clock.wall(), **{claim: int(ahead.timestamp())}),
                       TEST_SECRET, algorithm="HS256")
    before = await db_state(api.deps)
    body = await api.post(VIEWER, token=token)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("UNAUTHENTICATED", f"invalid token: {message}")]
    assert changed_tables(before, await db_state(api.deps)) == []


async def test_a_role_claimed_in_a_token_grants_nothing(api: Api) -> None:
    """The role comes from the database; a (validly signed) ADMIN claim on a member's token is ignored."""
    mia = await api.member("Mia")
    token = jwt.encode(claims(mia.viewer.user_id, api.deps.clock.wall(), role="ADMIN"), TEST_SECRET,
                       algorithm="HS256")
    before = await db_state(api.deps)
    body = await api.post(document("createMember"), {"input": {"email": "x@abuse.test", "displayName": "X",
                                                               "timeZone": "UTC"}}, token=token)
    assert outcome(body, "createMember") == FORBIDDEN
    viewer = await api.post(VIEWER, token=token)
    assert viewer["data"]["viewer"]["user"]["role"] == "MEMBER"
    assert changed_tables(before, await db_state(api.deps)) == []


# ---------------------------------------------------------------- 4. deleted and deactivated accounts


async def test_a_deleted_users_token_stops_working(api: Api) -> None:
    """Accounts are not deleted through the API; an operator's erasure (rows removed) must end the token.
    The viewer is cached per process for VIEWER_TTL_SECONDS, so it ends when that entry ages out."""
    gone = await api.member("Gone")
    assert gone.member_id
    assert "errors" not in await api.post(VIEWER, token=gone.token)  # signed in: the viewer is now cached
    async with api.deps.sessions() as db, db.begin():
        await db.execute(delete(m.Member).where(m.Member.id == gone.member_id))
        await db.execute(delete(m.User).where(m.User.id == gone.viewer.user_id))
    viewer, cached_at = api.deps.viewers[gone.viewer.user_id]
    api.deps.viewers[gone.viewer.user_id] = (viewer, cached_at - VIEWER_TTL_SECONDS - 1)
    for document_ in (VIEWER, OPT_OUT):
        body = await api.post(document_, token=gone.token)
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
            ("UNAUTHENTICATED", "invalid token: the user no longer exists")]



async def test_a_user_erased_inside_the_cache_window_is_signed_out_by_the_viewer_query(api: Api) -> None:
    """Inside the cache window the token still names a viewer; `viewer` finds no user row, answers
    UNAUTHENTICATED (not an internal error) and drops the cache entry, so the next request is refused too."""
    gone = await api.member("Gone")
    assert gone.member_id
    assert "errors" not in await api.post(VIEWER, token=gone.token)
    async with api.deps.sessions() as db, db.begin():
        await db.execute(delete(m.Member).where(m.Member.id == gone.member_id))
        await db.execute(delete(m.User).where(m.User.id == gone.viewer.user_id))
    assert gone.viewer.user_id in api.deps.viewers
    for document_ in (VIEWER, OPT_OUT):
        body = await api.post(document_, token=gone.token)
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
            ("UNAUTHENTICATED", "invalid token: the user no longer exists")]
    assert gone.viewer.user_id not in api.deps.viewers

DEACTIVATE = """mutation($v: ProviderVisibility!, $id: ID) { setProviderVisibility(visibility: $v, providerId: $id) {
  __typename ... on UserError { code field } } }"""
ME = "{ viewer { provider { id visibility } } }"


async def test_a_deactivated_provider_signs_in_but_takes_no_new_work(api: Api) -> None:
    """Deactivation (by an admin, or the 5th cancellation in a row) is not a ban: the provider still signs in
    to see their account and sessions, but cannot reactivate themself, propose, be requested or messaged."""
    admin, pat, mia = await api.admin(), await api.provider("Pat"), await api.member("Mia", credits=50)
    assert pat.provider_id
    service = gid("Service", await insert_service(api.deps, pat.provider_id))
    await api.gql(DEACTIVATE, {"v": "DEACTIVATED", "id": pat.gid}, as_=admin)
    assert await api.gql(ME, as_=pat) == {"viewer": {"provider": {"id": pat.gid, "visibility": "DEACTIVATED"}}}
    starts = (START + timedelta(days=1, hours=2)).isoformat()
    calls: list[tuple[str, dict[str, Any], Person, Outcome]] = [
        ("setProviderVisibility", {"visibility": "ACTIVE"}, pat, ("BasicError", "FORBIDDEN", "visibility")),
        ("proposeSession", {"input": {"memberId": mia.gid, "serviceId": service, "startsAt": starts,
                                      "durationMinutes": 60, "priceCredits": 10, "modality": "VIDEO"}}, pat,
         ("BasicError", "PROVIDER_UNAVAILABLE", "providerId")),
        ("requestSession", {"input": {"providerId": pat.gid, "serviceId": service, "startsAt": starts,
                                      "modality": "VIDEO"}}, mia, ("BasicError", "PROVIDER_UNAVAILABLE",
                                                                   "providerId")),
        ("sendMessage", {"input": {"recipientId": pat.gid, "body": "hi", "clientMessageId": "m1"}}, mia,
         ("BasicError", "FORBIDDEN", "recipientId")),
    ]
    before = await db_state(api.deps)
    for name, args, by, refusal in calls:
        assert outcome(await api.post(document(name), args, token=by.token), name) == refusal, name
    assert changed_tables(before, await db_state(api.deps)) == []
