"""Hostile documents: each is answered within a bound with its exact outcome, and a `{ serverTime }` sent at the
same time is answered promptly, which shows the event loop was not blocked meanwhile.

Before schema/limits.py the first case took 256 s, with the loop blocked all along (strawberry's depth and alias
limiters expanded every fragment spread).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import DocumentNode, get_introspection_query, parse
from graphql.execution.executor import Executor

from sessions_gql.api.limits import CostCache, introspection_size
from sessions_gql.api.schema import build_schema
from sessions_gql.config import Settings
from tests.harness.app import START, Api
from tests.harness.bounds import PROMPT_SECONDS

BOUND = 2 * PROMPT_SECONDS
"""Seconds any of these may take, generous for a busy two-core machine (each takes well under 0.5 s alone; the
fragment bomb took minutes before the fix)."""
PROMPT = PROMPT_SECONDS
NOW = START.isoformat()
SOME_ID = "UHJvdmlkZXI6MDE5MGI2ZjQtNmQxYi03YzNjLTljOGUtM2MxZjBlMGIxYTJi"  # Provider:<a uuid>, never used


def fragment_bomb(levels: int, body: str) -> str:
    """F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^levels expansions of `body`."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query Bomb {{ ...F0 }} {chain} fragment F{levels} on Query {{ {body} }}"


def alias_tree(levels: int) -> str:
    """viewer { user { a: member { a: user {...} b: user {...} } b: member {...} } }: 2 + 4 + ... aliases."""
    fragments = []
    for level in range(levels):
        on, inner = ("User", "member") if level % 2 == 0 else ("Member", "user")
        fragments.append(f"fragment L{level} on {on} {{ a: {inner} {{ ...L{level + 1} }} "
                         f"b: {inner} {{ ...L{level + 1} }} }}")
    fragments.append(f"fragment L{levels} on {'Member' if levels % 2 else 'User'} {{ id }}")
    return "{ viewer { user { ...L0 } } } " + " ".join(fragments)


def nested(levels: int) -> str:
    inner = "id"
    for level in range(levels):
        inner = f"{('user', 'member')[level % 2]} {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


CONNECTIONS = ("query($n: Int) { providers(first: $n) { edges { node { sessions(first: $n) { edges { node { "
               "timeline(first: $n) { edges { node { id } } } } } } } } } }")
SLOTS = ("query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) { "
         + " ".join(f"s{i}: availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to) {{ startsAt }}"
                    for i in range(30)) + " }")
SEARCH = "query($s: String) { providers(filter: {search: $s}) { edges { node { id } } } }"
CHAIN = ("{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(440))
         + " fragment F440 on Query { serverTime }")
TOO_COMPLEX = "(the nodes it could return: ask for smaller pages, fewer nested lists or shorter slot windows)"


def refused(message: str, code: str = "GRAPHQL_VALIDATION", **extensions: Any) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code, **extensions}}]


def capped(message: str) -> list[dict[str, Any]]:
    """graphql-core's first 100 validation errors, then its own stop."""
    return [*refused(message) * 100, *refused("Too many validation errors, error limit reached. Validation aborted.")]


@dataclass(frozen=True)
class Case:
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


CASES: dict[str, Case] = {
    "fragment bomb": Case(fragment_bomb(25, "serverTime"), data={"serverTime": NOW}),
    "fragment bomb over a connection": Case(fragment_bomb(25, "providers(first: 100) { edges { node { id } } }"),
                                            data={"providers": {"edges": []}}),
    "a fragment cycle": Case("{ ...A } fragment A on Query { serverTime ...B } fragment B on Query { ...A }",
                             errors=refused("Cannot spread fragment 'A' within itself via 'B'.")),
    "a long fragment chain": Case(CHAIN, errors=refused("Validation aborted.")),  # graphql-core stops at 200

    "alias tree through fragments": Case(alias_tree(10), errors=refused("2046 aliases found. Allowed: 30")),
    "nesting past the depth limit": Case(nested(150),
                                         errors=refused("'anonymous' exceeds maximum operation depth of 12")),
    "nesting past the parser's limit": Case(nested(300), errors=refused(
        "Syntax Error: Document is nested too deeply. Parsing aborted.")),
    "one field a thousand times": Case("{" + " viewer { unreadMessages }" * 990 + "}", errors=refused(
        "the document has too many fields of the same name to check; send fewer or use fragments less",
        "QUERY_TOO_COMPLEX")),
    "nested connections": Case(CONNECTIONS, {"n": 100}, errors=refused(
        f"query cost 3030300 is over the limit of 50000 {TOO_COMPLEX}", "QUERY_TOO_COMPLEX",
        cost=3030300, maxCost=50000)),
    "nested connections at their default size": Case(CONNECTIONS, errors=refused(
        f"query cost 61260 is over the limit of 50000 {TOO_COMPLEX}", "QUERY_TOO_COMPLEX",
        cost=61260, maxCost=50000)),
    "30 aliases of 62 days of slots": Case(SLOTS, {"p": SOME_ID, "s": SOME_ID, "from": "2026-11-23T08:00:00Z",
                                                   "to": "2027-01-24T08:00:00Z"}, errors=refused(
        f"query cost 535710 is over the limit of 50000 {TOO_COMPLEX}", "QUERY_TOO_COMPLEX",
        cost=535710, maxCost=50000)),
    "many operations": Case(" ".join(f"query Q{i} {{ serverTime }}" for i in range(790)), operation="Q789",
                            data={"serverTime": NOW}),
    "directive storm": Case("{ serverTime" + " @include(if: true)" * 500 + " }",
                            errors=capped("The directive '@include' can only be used once at this location.")),
    "a long variable list": Case("query(" + " ".join(f"$v{i}: Int" for i in range(900)) + ") { serverTime }",
                                 errors=[{"message": f"Variable '$v{i}' is never used.",
                                          "extensions": {"code": "GRAPHQL_VALIDATION"}} for i in range(100)]
                                 + refused("Too many validation errors, error limit reached. Validation aborted.")),
    "an introspection cycle": Case("{ __schema { types { fields { type { fields { type { fields { type { name } } }"
                                   " } } } } } }", errors=refused("Maximum introspection depth exceeded")),
    "over the token limit": Case("{ " + "serverTime " * 4000 + "}", errors=refused(
        "Syntax Error: Document contains more than 4000 tokens. Parsing aborted.")),
    "a 200,000-character search variable": Case(SEARCH, {"s": "x" * 200_000}, errors=refused(
        "filter.search must be at most 200 characters", "VALIDATION", field="filter.search")),
    "a 200,000-character string in the document": Case(
        '{ providers(filter: {search: "' + "x" * 200_000 + '"}) { edges { node { id } } } }', errors=refused(
            "filter.search must be at most 200 characters", "VALIDATION", field="filter.search")),
    "a long list variable": Case("query($s: [SessionStatus!]) { sessions(filter: {statuses: $s}) { totalCount } }",
                                 {"s": ["CONFIRMED"] * 20_000}, data={"sessions": {"totalCount": 0}}),
}


def shown(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"message": error["message"], "extensions": error["extensions"]} for error in errors]


async def timed(call: Awaitable[Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call
    return time.perf_counter() - started, result


@pytest.mark.parametrize("name", list(CASES))
async def test_a_hostile_document_is_answered_quickly_without_blocking_others(api: Api, name: str) -> None:
    case = CASES[name]
    mia = await api.member("Mia")
    headers = {"Authorization": f"Bearer {mia.token}"}
    body: dict[str, Any] = {"query": case.document, "variables": case.variables}
    if case.operation:
        body["operationName"] = case.operation
    (took, response), (probe_took, probe) = await asyncio.gather(
        timed(api.client.post("/graphql", json=body, headers=headers)),
        timed(api.client.post("/graphql", json={"query": "{ serverTime }"})))
    assert (probe.status_code, probe.json()) == (200, {"data": {"serverTime": NOW}})
    assert response.status_code == 200
    answer = response.json()
    if case.errors is None:
        assert answer == {"data": case.data}
    else:
        assert answer["data"] is None
        assert shown(answer["errors"]) == case.errors
    assert took < BOUND, f"{name} took {took:.2f} s"
    assert probe_took < PROMPT, f"{{ serverTime }} beside {name} took {probe_took:.2f} s"


async def test_graphiqls_introspection_passes_but_not_thirty_copies_of_it(api: Api) -> None:
    introspection = get_introspection_query(descriptions=True)
    answer = await api.post(introspection)
    assert "errors" not in answer
    assert answer["data"]["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}
    copies = "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(30)) + " }"
    (error,) = (await api.post(copies))["errors"]
    size = introspection_size(build_schema(api.deps.settings)._schema, whole=True)
    assert size < 50_000 < 30 * size
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 30 * size, "maxCost": 50000}


async def test_the_cost_limit_lets_the_same_document_through_at_a_sane_size(api: Api) -> None:
    """The cost is computed with the variables: the nested connections above pass at 10 per page."""
    mia = await api.member("Mia")
    assert await api.gql(CONNECTIONS, {"n": 10}, as_=mia) == {"providers": {"edges": []}}


async def test_the_cost_limit_is_a_setting(api: Api) -> None:
    schema = build_schema(api.deps.settings.model_copy(update={"max_query_cost": 100}))
    result = await schema.execute("{ providers(first: 101) { edges { node { id } } } }")
    assert result.errors is not None
    assert [(e.message, e.extensions) for e in result.errors] == [
        (f"query cost 300 is over the limit of 100 {TOO_COMPLEX}",
         {"code": "QUERY_TOO_COMPLEX", "cost": 300, "maxCost": 100})]


def costed(cache: CostCache, document: DocumentNode) -> Callable[..., int]:
    """The cost `cache` gives `document` with the variables given as keywords (the schema's own rules)."""
    schema = build_schema(Settings(jwt_secret="x" * 32))._schema

    def cost(**variables: Any) -> int:
        built = Executor.build(schema, document, raw_variable_values=variables)
        assert isinstance(built, Executor), built
        return cache.of(built, max_page_size=100)

    return cost


def test_the_cost_is_walked_again_only_when_a_variable_that_sizes_a_field_changes() -> None:
    """CostCache keys an operation's cost by the values of the variables the walk read (`first`, `last`, a slot
    window): another session id reuses the cost, another page size is walked again and costs what it should."""
    document = parse("query($s: ID!, $n: Int, $m: Int) { session(id: $s) { id "
                     "timeline(first: $n) { edges { node { id } } } counted: timeline(first: $m) { totalCount } } }")
    cache = CostCache()
    cost = costed(cache, document)

    costs = [cost(s="a", n=10, m=5), cost(s="b", n=10, m=5), cost(s="c", n=40, m=5), cost(s="d", n=40, m=5),
             cost(s="e", n=40, m=7), cost(s="f", n=500, m=7)]
    # the session, then per page of the first timeline an edge and its node as well, then the second's page
    assert costs == [1 + 10 * 3 + 5, 1 + 10 * 3 + 5, 1 + 40 * 3 + 5, 1 + 40 * 3 + 5, 1 + 40 * 3 + 7,
                     1 + 100 * 3 + 7]  # a page is at most max_page_size
    assert cache.walks == 4


def test_an_explicit_null_page_size_costs_what_the_resolver_returns_and_is_not_a_missing_variable() -> None:
    """`messages(last: null)` returns 50 messages (its default) and `timeline(first: null)` 20: a null is costed as
    the larger of the argument's default and 20, never below what comes back. A variable given as null and one not
    given at all are two keys of the cost cache (a cached cost of one was served for the other)."""
    document = parse("query($l: Int) { conversations(first: 1) { edges { node { "
                     "messages(last: $l) { edges { node { id } } } } } } }")
    cache = CostCache()
    cost = costed(cache, document)

    null, missing, fifty, twenty = cost(l=None), cost(), cost(l=50), cost(l=20)
    assert null == missing == fifty > twenty
    assert cache.walks == 4  # null and missing each walked: neither answered from the other's entry
