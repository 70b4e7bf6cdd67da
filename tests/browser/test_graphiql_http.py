"""The GraphiQL page and its files over HTTP: all from this service, cached, and off in production."""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessions_gql.app import create_app
from sessions_gql.config import Settings
from sessions_gql.graphiql import PAGE_FILES, STATIC, accepts_gzip
from tests.harness.app import TEST_SECRET, settings_for

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ANY_URL = re.compile(r"(?:https?|wss?)://", re.IGNORECASE)


class Links(HTMLParser):
    """The URLs a page makes a browser load: scripts, stylesheets, images, icons, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attribute in ("src", "href"):
            value = values.get(attribute)
            if value is not None:
                self.urls.append((tag, value))


def links(page: str) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(page)
    return parser.urls


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite_template: Path) -> str:
    shutil.copyfile(migrated_sqlite_template, tmp_path / "db.sqlite3")
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"


async def client_for(settings: Settings, *, root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, migrate_on_start=False)
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client
    finally:
        await app.state.deps.dispose()


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(settings_for(sqlite_url)):
        yield client


def production(sqlite_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=sqlite_url, env="production", jwt_secret=TEST_SECRET, **overrides)


async def test_the_page_and_every_file_it_loads_come_from_the_service(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert ANY_URL.findall(page.text) == []
    urls = [url for _tag, url in links(page.text)]
    assert [url for url in urls if url.startswith("data:")] == ["data:,"]  # an empty icon: no /favicon.ico
    urls = [url for url in urls if not url.startswith("data:")]
    expected = {f"/graphiql/{name}" for name in PAGE_FILES.values()}
    assert {url.split("?")[0] for url in urls} == expected
    for url in urls:
        asset = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert asset.status_code == 200, url
        name = url.split("?")[0].removeprefix("/graphiql/")
        assert asset.content == (STATIC / name).read_bytes()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert asset.headers["content-type"] == f"{kind}; charset=utf-8"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in asset.headers
        assert url.endswith(f"?v={asset.headers['etag'].strip(chr(34))}")
        if name.endswith(".css"):
            # stylesheets may load fonts and images: only inline data, no other origin, no @import
            assert re.findall(r"url\(\s*['\"]?(?!data:)", asset.text) == [], name
            assert "@import" not in asset.text
        if not name.startswith("vendor/"):
            assert ANY_URL.findall(asset.text) == [], name


async def test_files_are_gzipped_for_clients_that_accept_it_and_revalidate_with_their_etag(
    client: httpx.AsyncClient
) -> None:
    name = PAGE_FILES["graphiql_js"]
    raw = (STATIC / name).read_bytes()
    # httpx would decode the body; read the bytes as sent
    async with client.stream("GET", f"/graphiql/{name}", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        sent = b"".join([chunk async for chunk in response.aiter_raw()])
    assert len(sent) < len(raw) // 3
    assert gzip.decompress(sent) == raw
    again = await client.get(f"/graphiql/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True), ("identity", False), ("", False),
    ("gzip;q=0", False), ("*", True), ("deflate", False),
])
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize("path", ["/graphiql/page.html", "/graphiql/vendor/react-18.3.1/LICENSE",
                                  "/graphiql/../config.py", "/graphiql/%2e%2e/config.py", "/graphiql/"])
async def test_only_the_pages_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.text in ("not found", "Not Found")


async def test_behind_a_path_prefix_the_page_links_its_files_under_that_prefix(sqlite_url: str) -> None:
    async for client in client_for(settings_for(sqlite_url), root_path="/api"):
        page = await client.get("/api/graphql", headers=HTML)
        assert page.status_code == 200
        urls = [url for _tag, url in links(page.text) if not url.startswith("data:")]
        assert len(urls) == len(PAGE_FILES)
        assert all(url.startswith("/api/graphiql/") for url in urls), urls
        assert (await client.get(urls[0])).status_code == 200


def test_vendored_files_keep_their_licenses() -> None:
    for name in PAGE_FILES.values():
        if name.startswith("vendor/"):
            license_text = (STATIC / name).parent.joinpath("LICENSE").read_text()
            assert license_text.startswith("MIT License"), name


def test_graphiql_is_on_in_development_and_off_in_production_unless_enabled(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(database_url=sqlite_url).graphiql_enabled is True
    assert production(sqlite_url).graphiql_enabled is False
    assert production(sqlite_url, graphiql=True).graphiql_enabled is True
    monkeypatch.setenv("SESSIONS_GQL_GRAPHIQL", "0")
    assert Settings(database_url=sqlite_url).graphiql_enabled is False
    monkeypatch.setenv("SESSIONS_GQL_GRAPHIQL", "1")
    monkeypatch.setenv("SESSIONS_GQL_ENV", "production")
    monkeypatch.setenv("SESSIONS_GQL_JWT_SECRET", TEST_SECRET)
    assert Settings(database_url=sqlite_url).graphiql_enabled is True


@pytest.mark.parametrize("settings", ["production", "turned off"])
async def test_when_off_there_is_no_page_and_no_files_but_graphql_over_get_still_answers(
    sqlite_url: str, settings: str
) -> None:
    chosen = production(sqlite_url) if settings == "production" else settings_for(sqlite_url, graphiql=False)
    async for client in client_for(chosen):
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 404
        assert page.json() == {"errors": [{"message": "Not Found", "extensions": {"code": "NOT_FOUND"}}]}
        assert (await client.get("/graphql", headers={"Accept": "*/*"})).status_code == 404
        for name in PAGE_FILES.values():
            assert (await client.get(f"/graphiql/{name}")).status_code == 404, name
        answered = await client.get("/graphql", params={"query": "{ serverTime }"}, headers=HTML)
        assert answered.status_code == 200
        assert set(answered.json()["data"]) == {"serverTime"}
        posted = await client.post("/graphql", json={"query": "{ serverTime }"})
        assert posted.status_code == 200
        assert set(posted.json()["data"]) == {"serverTime"}
