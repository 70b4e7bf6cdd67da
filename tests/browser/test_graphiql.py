"""GraphiQL in headless Chromium against the real server: it renders, sends the Authorization header it was
given and then the one typed into its Headers editor, follows a subscription over a websocket, and loads
nothing from anywhere but the service (every request the page made is recorded and checked)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.browser.cdp import Chromium, ChromiumMissing, Page, chromium, find_chromium
from tests.harness.app import START
from tests.harness.live import LiveServer

VIEWER = "{ viewer { user { displayName } } }"
TIMELINE = "query($id: ID!) { session(id: $id) { timeline { edges { node { type cursor } } } } }"
QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
# the Variables and Headers editors share the tools section; the Headers one is the second
HEADERS_EDITOR = "document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')[1]"
RESULT = "document.querySelector('.graphiql-response .CodeMirror')"
RUN = "document.querySelector('.graphiql-execute-button')"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Chromium]:
    try:
        async with chromium() as started:
            yield started
    except ChromiumMissing as missing:  # CI installs it (make system-deps): a missing browser is a failure
        pytest.fail(str(missing), pytrace=False)


async def requested_session(live: LiveServer) -> tuple[World, str, str]:
    """A requested session and the cursor of its last timeline event."""
    w = await world(live.api)
    created = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                    "startsAt": (START + timedelta(days=1, hours=2)).isoformat(),
                                    "modality": "VIDEO"}, w.member)
    assert created["__typename"] == "SessionSuccess", created
    session_id = created["session"]["id"]
    timeline = await live.api.gql(TIMELINE, {"id": session_id}, as_=w.member)
    nodes = [edge["node"] for edge in timeline["session"]["timeline"]["edges"]]
    assert [node["type"] for node in nodes] == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"]
    return w, session_id, nodes[-1]["cursor"]


async def set_editor(page: Page, editor: str, text: str) -> None:
    await page.evaluate(f"{editor}.CodeMirror.setValue({json.dumps(text)})")


async def run_and_wait_for(page: Page, text: str) -> Any:
    """Presses the run button and returns the result pane's JSON once it contains `text`."""
    await page.evaluate(f"{RUN}.click()")
    shown = await page.wait_for(f"(v => v.includes({json.dumps(text)}) && v)({RESULT}.CodeMirror.getValue())",
                                what=f"the result pane to show {text}")
    return json.loads(shown)


async def until(condition: Any, what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_graphiql_queries_with_headers_and_follows_a_subscription_using_only_the_service(
    live: LiveServer, browser: Chromium
) -> None:
    w, session_id, cursor = await requested_session(live)
    origin = live.http_url.removesuffix("/graphql")
    preset = json.dumps({"Authorization": f"Bearer {w.provider.token}"})
    async with browser.page() as page:
        await page.navigate(f"{live.http_url}#query={quote(VIEWER)}&headers={quote(preset)}")
        await page.wait_for(f"{QUERY_EDITOR} !== null && {RUN} !== null && {RESULT} !== null",
                            what="GraphiQL's editors", within=60)  # 4 MB of script to parse on a busy machine
        assert await page.evaluate(f"{QUERY_EDITOR}.CodeMirror.getValue()") == VIEWER
        assert await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.getValue()") == preset

        # the header from the link, then one typed into the Headers editor
        assert await run_and_wait_for(page, "Dr Lane") == {"data": {"viewer": {"user": {"displayName": "Dr Lane"}}}}
        await set_editor(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {w.member.token}"}))
        assert await run_and_wait_for(page, "Sam Member") == {
            "data": {"viewer": {"user": {"displayName": "Sam Member"}}}}

        # a subscription over the websocket, authenticated by the same header; the provider confirms over HTTP
        await set_editor(page, QUERY_EDITOR, f"""subscription {{
  sessionEvents(sessionId: "{session_id}", after: "{cursor}") {{ type toStatus session {{ id status }} }}
}}""")
        await page.evaluate(f"{RUN}.click()")
        await until(lambda: live.deps.hub.subscriber_count == 1, "the page's subscription to reach the server")
        confirmed = await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
        assert confirmed["__typename"] == "SessionSuccess"
        shown = await page.wait_for(f"(v => v.includes('VIDEO_ROOM_CREATED') && v)({RESULT}.CodeMirror.getValue())",
                                    what="the live events in the result pane")
        assert json.loads(shown) == {"data": {"sessionEvents": {
            "type": "VIDEO_ROOM_CREATED", "toStatus": None, "session": {"id": session_id, "status": "CONFIRMED"}}}}
        await page.evaluate(f"{RUN}.click()")  # the run button stops a running subscription
        await until(lambda: live.deps.hub.subscriber_count == 0, "the subscription to end")

        assert page.errors == []
        assert page.websockets == [live.ws_url]
        outside = [url for url in page.requests if not (url.startswith(f"{origin}/") or url.startswith("data:"))]
        assert outside == []
        loaded = {url.split("?")[0].removeprefix(origin) for url in page.requests if url.startswith(origin)}
        assert loaded == {"/graphql", "/graphiql/vendor/graphiql-3.8.3/graphiql.min.css", "/graphiql/page.css",
                          "/graphiql/vendor/react-18.3.1/react.production.min.js",
                          "/graphiql/vendor/react-dom-18.3.1/react-dom.production.min.js",
                          "/graphiql/vendor/graphiql-3.8.3/graphiql.min.js", "/graphiql/start.js"}


def test_a_missing_chromium_is_reported_not_skipped(tmp_path: Path) -> None:
    with pytest.raises(ChromiumMissing, match=r"Chromium is not installed: .*make system-deps"):
        find_chromium({}, candidates=[str(tmp_path / "no-chromium-here")])
    with pytest.raises(ChromiumMissing, match=r"CHROMIUM=/nowhere/chromium is not an executable file"):
        find_chromium({"CHROMIUM": "/nowhere/chromium"})
    assert find_chromium({}, candidates=["sh"]) == shutil.which("sh")
