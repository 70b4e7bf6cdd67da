"""Automatic persisted queries (Apollo's persistedQuery extension) and the allow-list of trusted documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sessions_gql.clock import FrozenClock
from sessions_gql.persisted import PersistedQueries, load_manifest, sha256
from tests.harness.app import Api, running_api, settings_for
from tests.harness.servers import RedisServer, free_port

SERVER_TIME = "query ServerTime { serverTime }"
NOW = {"serverTime": "2026-11-23T08:00:00+00:00"}
VIEWER = "query Me { viewer { user { displayName } } }"


def hashed(document_hash: str, **extra: Any) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}, **extra}


async def post(api: Api, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def persisted(api: Api) -> PersistedQueries:
    """The app's persisted-query store (its counters are the server's view of what the client sent)."""
    store: PersistedQueries = api.client._transport.app.state.persisted  # type: ignore[attr-defined]
    return store


def refusal(code: str, message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


NOT_FOUND = refusal("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
NOT_ALLOWED = refusal("PERSISTED_QUERY_NOT_ALLOWED", "only trusted documents may run on this server")


async def test_a_hash_alone_misses_then_the_document_registers_it_and_the_hash_alone_runs_it(api: Api) -> None:
    digest = sha256(SERVER_TIME)
    assert await post(api, hashed(digest)) == NOT_FOUND
    assert await post(api, hashed(digest, query=SERVER_TIME)) == {"data": NOW}
    assert await post(api, hashed(digest)) == {"data": NOW}
    assert await post(api, hashed(digest.upper())) == {"data": NOW}
    assert dict(persisted(api).counts) == {"miss": 1, "registered": 1, "hit": 2}


async def test_a_hashed_query_runs_with_variables_and_the_callers_token(api: Api) -> None:
    mia = await api.member("Mia Hashed")
    digest = sha256(VIEWER)
    assert await post(api, hashed(digest, query=VIEWER), mia.token) == {
        "data": {"viewer": {"user": {"displayName": "Mia Hashed"}}}}
    answer = await post(api, hashed(digest, operationName="Me"), mia.token)
    assert answer == {"data": {"viewer": {"user": {"displayName": "Mia Hashed"}}}}
    anonymous = await post(api, hashed(digest))
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_hash_that_is_not_the_documents_is_refused_and_stores_nothing(api: Api) -> None:
    wrong = sha256(SERVER_TIME + " ")
    assert await post(api, hashed(wrong, query=SERVER_TIME)) == refusal(
        "PERSISTED_QUERY_HASH_MISMATCH", "persistedQuery.sha256Hash is not the SHA-256 of the document")
    assert await post(api, hashed(wrong)) == NOT_FOUND
    assert await post(api, hashed(sha256(SERVER_TIME))) == NOT_FOUND
    assert dict(persisted(api).counts) == {"mismatch": 1, "miss": 2}


@pytest.mark.parametrize(("extension", "message"), [
    ({"version": 2, "sha256Hash": "a" * 64}, "persistedQuery needs version 1 and a sha256Hash"),
    ("v1", "persistedQuery needs version 1 and a sha256Hash"),
    ({"version": 1, "sha256Hash": "abc"}, "persistedQuery.sha256Hash must be 64 hexadecimal digits"),
    ({"version": 1, "sha256Hash": 7}, "persistedQuery.sha256Hash must be 64 hexadecimal digits"),
])
async def test_a_malformed_persisted_query_extension_is_a_validation_error(api: Api, extension: object,
                                                                           message: str) -> None:
    body = {"query": SERVER_TIME, "extensions": {"persistedQuery": extension}}
    assert await post(api, body) == refusal("VALIDATION", message)
    assert dict(persisted(api).counts) == {"invalid": 1}


async def test_apollos_get_for_hashed_queries(api: Api) -> None:
    digest = sha256(SERVER_TIME)
    params = {"operationName": "ServerTime", "variables": "{}",
              "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})}
    miss = await api.client.get("/graphql", params=params, headers={"accept": "*/*"})
    assert (miss.status_code, miss.json()) == (200, NOT_FOUND)
    assert await post(api, hashed(digest, query=SERVER_TIME)) == {"data": NOW}
    hit = await api.client.get("/graphql", params=params, headers={"accept": "*/*"})
    assert (hit.status_code, hit.json()) == (200, {"data": NOW})
    ide = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert ide.status_code == 200
    assert "text/html" in ide.headers["content-type"]


async def test_a_stored_mutation_may_not_run_over_get(api: Api) -> None:
    mutation = "mutation { markNotificationsRead { __typename } }"
    digest = sha256(mutation)
    mia = await api.member("Mia Get")
    await post(api, hashed(digest, query=mutation), mia.token)
    params = {"extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})}
    refused = await api.client.get("/graphql", params=params, headers={"Authorization": f"Bearer {mia.token}"})
    assert (refused.status_code, refused.json()) == (400, {"errors": [{
        "message": "mutations are not allowed when using GET", "extensions": {"code": "BAD_REQUEST"}}]})
    assert persisted(api).counts["hit"] == 1


async def test_the_lookups_are_counted_in_metrics(api: Api) -> None:
    await post(api, hashed(sha256(SERVER_TIME)))
    await post(api, hashed(sha256(SERVER_TIME), query=SERVER_TIME))
    text = (await api.client.get("/metrics")).text
    assert 'persisted_queries_total{outcome="miss"} 1.0' in text
    assert 'persisted_queries_total{outcome="registered"} 1.0' in text


async def test_with_persisted_queries_off_apollo_is_told_they_are_not_supported(tmp_path: Path,
                                                                                clock: FrozenClock) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", persisted_queries=False)
    async with running_api(settings, clock) as api:
        assert await post(api, hashed(sha256(SERVER_TIME), query=SERVER_TIME)) == refusal(
            "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        assert await post(api, {"query": SERVER_TIME}) == {"data": NOW}


# ---------------------------------------------------------------- trusted documents (the allow-list)

@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({sha256(SERVER_TIME): SERVER_TIME}))
    return path


@pytest.fixture
async def trusted_api(database_url: str, clock: FrozenClock, manifest: Path) -> AsyncIterator[Api]:
    async with running_api(settings_for(database_url, trusted_documents=str(manifest)), clock) as api:
        yield api


async def test_trusted_documents_run_by_hash_or_by_document(trusted_api: Api) -> None:
    digest = sha256(SERVER_TIME)
    assert await post(trusted_api, hashed(digest)) == {"data": NOW}
    assert await post(trusted_api, hashed(digest, query=SERVER_TIME)) == {"data": NOW}
    assert await post(trusted_api, {"query": SERVER_TIME}) == {"data": NOW}


async def test_anything_else_is_refused_with_the_allow_list(trusted_api: Api) -> None:
    other = "{ serverTime }"
    assert await post(trusted_api, {"query": other}) == NOT_ALLOWED
    assert await post(trusted_api, hashed(sha256(other), query=other)) == NOT_ALLOWED
    assert await post(trusted_api, hashed(sha256(other))) == NOT_ALLOWED  # registering would not help
    assert await post(trusted_api, hashed(sha256(other))) == NOT_ALLOWED  # and nothing was learnt
    assert dict(persisted(trusted_api).counts) == {"refused": 4}


def test_a_manifest_whose_hash_is_not_its_document_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({sha256("{ a }"): "{ b }"}))
    with pytest.raises(ValueError, match="is not the SHA-256 of its document"):
        load_manifest(path)
    path.write_text(json.dumps(["{ a }"]))
    with pytest.raises(ValueError, match="expected a JSON object"):
        load_manifest(path)


def test_apollos_manifest_format_is_read(tmp_path: Path) -> None:
    path = tmp_path / "apollo.json"
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha256(SERVER_TIME), "body": SERVER_TIME, "name": "ServerTime", "type": "query"}]}))
    assert load_manifest(path) == {sha256(SERVER_TIME): SERVER_TIME}


# ---------------------------------------------------------------- shared through Redis

async def test_a_document_registered_on_one_instance_runs_by_hash_on_another(redis_server: RedisServer) -> None:
    one, two = (PersistedQueries(redis_url=redis_server.url) for _ in range(2))
    digest = sha256(SERVER_TIME)
    try:
        assert await one.document(SERVER_TIME, hashed(digest)["extensions"]) == SERVER_TIME
        assert await two.document(None, hashed(digest)["extensions"]) == SERVER_TIME
        assert (dict(one.counts), dict(two.counts)) == ({"registered": 1}, {"hit": 1})
    finally:
        await one.close()
        await two.close()


async def test_without_redis_a_document_is_only_known_where_it_was_registered() -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    one, two = PersistedQueries(redis_url=down), PersistedQueries(redis_url=down)
    digest = sha256(SERVER_TIME)
    try:
        assert await one.document(SERVER_TIME, hashed(digest)["extensions"]) == SERVER_TIME
        assert await one.document(None, hashed(digest)["extensions"]) == SERVER_TIME
        with pytest.raises(Exception, match="PersistedQueryNotFound"):
            await two.document(None, hashed(digest)["extensions"])
    finally:
        await one.close()
        await two.close()


async def test_the_process_cache_is_bounded() -> None:
    store = PersistedQueries(cache_size=2)
    documents = [f"query Q{i} {{ serverTime }}" for i in range(3)]
    for document in documents:
        await store.document(document, hashed(sha256(document))["extensions"])
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        await store.document(None, hashed(sha256(documents[0]))["extensions"])
    assert await store.document(None, hashed(sha256(documents[2]))["extensions"]) == documents[2]
