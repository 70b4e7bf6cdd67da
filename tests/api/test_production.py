"""Production rules: settings that refuse to start, introspection by setting and role, /metrics behind a token."""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sessions_gql.clock import FrozenClock
from sessions_gql.config import DEV_JWT_SECRET, Settings
from tests.harness.app import START, TEST_SECRET, Api, Person, running_api

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Query") { name } }'
IN_FRAGMENT = "query { ...F } fragment F on Query { __schema { queryType { name } } }"
TYPENAME = "{ __typename serverTime }"
METRICS_TOKEN = "m" * 24


@contextlib.asynccontextmanager
async def app_with(tmp_path: Path, template: Path, **overrides: Any) -> AsyncIterator[Api]:
    target = tmp_path / f"db-{uuid.uuid4().hex}.sqlite3"
    shutil.copyfile(template, target)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{target}", jwt_secret=TEST_SECRET, **overrides)
    async with running_api(settings, FrozenClock(START)) as api:
        yield api


def production(**overrides: Any) -> dict[str, Any]:
    return {"env": "production", **overrides}


def test_production_refuses_the_development_secret_and_short_secrets() -> None:
    with pytest.raises(ValueError, match="SESSIONS_GQL_JWT_SECRET is the development secret; production needs"):
        Settings(env="production", jwt_secret=DEV_JWT_SECRET)
    with pytest.raises(ValueError, match=r"at least 32 bytes in production \(this one has 31\)"):
        Settings(env="production", jwt_secret="s" * 31)
    with pytest.raises(ValueError, match=r"this one has 30\)"):
        Settings(env="production", jwt_secret="é" * 15)  # bytes, not characters
    assert Settings(env="production", jwt_secret="s" * 32).jwt_secret == "s" * 32
    assert Settings(env="production", jwt_public_key="-----BEGIN PUBLIC KEY-----").jwt_secret is None
    assert Settings(jwt_secret="short").jwt_secret == "short"  # development keeps its freedom
    with pytest.raises(ValueError, match="SESSIONS_GQL_METRICS_TOKEN must be at least 16 characters"):
        Settings(metrics_token="x" * 15)


def test_introspection_defaults_follow_the_environment() -> None:
    assert Settings().introspection_mode == "on"
    assert Settings(env="production", jwt_secret="s" * 32).introspection_mode == "off"
    assert Settings(env="production", jwt_secret="s" * 32, introspection="admins").introspection_mode == "admins"
    with pytest.raises(ValueError, match="introspection"):
        Settings(introspection="sometimes")


async def as_each(api: Api) -> dict[str, Person | None]:
    return {"anonymous": None, "member": await api.member("Mia"), "admin": await api.admin()}


ALLOWED = {"on": {"anonymous", "member", "admin"}, "admins": {"admin"}, "off": set()}


@pytest.mark.parametrize(("overrides", "mode"), [
    ({}, "on"),  # development default
    ({"introspection": "admins"}, "admins"),
    ({"introspection": "off"}, "off"),
    (production(), "off"),  # production default
    (production(introspection="admins"), "admins"),
    (production(introspection="on"), "on"),
])
async def test_introspection_by_setting_and_role(tmp_path: Path, migrated_sqlite_template: Path,
                                                 overrides: dict[str, Any], mode: str) -> None:
    async with app_with(tmp_path, migrated_sqlite_template, **overrides) as api:
        for role, person in (await as_each(api)).items():
            token = person.token if person else None
            for document in (SCHEMA, TYPE, IN_FRAGMENT):
                body = await api.post(document, token=token)
                if role in ALLOWED[mode]:
                    assert "errors" not in body, (role, document, body)
                    assert body["data"] in ({"__schema": {"queryType": {"name": "Query"}}},
                                            {"__type": {"name": "Query"}})
                else:
                    message = ("introspection is for admins only on this server" if mode == "admins"
                               else "introspection is off on this server")
                    assert body == {"data": None, "errors": [{"message": message,
                                                              "extensions": {"code": "FORBIDDEN"}}]}, (role, body)
            assert (await api.post(TYPENAME, token=token))["data"] == {
                "__typename": "Query", "serverTime": START.isoformat()}


async def test_metrics_with_a_token_need_it(tmp_path: Path, migrated_sqlite_template: Path) -> None:
    async with app_with(tmp_path, migrated_sqlite_template, metrics_token=METRICS_TOKEN) as api:
        for headers in ({}, {"Authorization": "Bearer " + "n" * 24}, {"Authorization": METRICS_TOKEN},
                        {"Authorization": f"Bearer {METRICS_TOKEN}x"}):
            response = await api.client.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
            assert "graphql_requests" not in response.text
        allowed = await api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert allowed.status_code == 200
        assert "# TYPE graphql_requests_total counter" in allowed.text


async def test_production_serves_metrics_only_with_a_token(tmp_path: Path, migrated_sqlite_template: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sessions_gql"):
        async with app_with(tmp_path, migrated_sqlite_template, **production()) as api:
            assert (await api.client.get("/metrics")).status_code == 404
    assert "/metrics is off: production serves metrics only with SESSIONS_GQL_METRICS_TOKEN set" in [
        r.getMessage() for r in caplog.records]
    async with app_with(tmp_path, migrated_sqlite_template, **production(metrics_token=METRICS_TOKEN)) as api:
        assert (await api.client.get("/metrics")).status_code == 401
        assert (await api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
                ).status_code == 200
    async with app_with(tmp_path, migrated_sqlite_template) as api:  # development: open, as before
        assert (await api.client.get("/metrics")).status_code == 200
