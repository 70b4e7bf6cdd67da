"""A small Chrome DevTools Protocol client: starts headless Chromium and drives its pages over a websocket.

Chromium listens on a port it picks itself (`--remote-debugging-port=0`) and writes it, with the browser's
websocket path, to DevToolsActivePort in its user-data-dir. One websocket carries every command; pages are
attached in "flatten" mode, so their commands and events travel on it too, tagged with a session id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-port=0"]


class ChromiumMissing(RuntimeError):
    """No Chromium binary was found: the browser tests fail with this message (CI installs it)."""


class CDPError(RuntimeError):
    """A DevTools command answered with an error, or the connection closed before it answered."""


def find_chromium(environ: Mapping[str, str] = os.environ,
                  candidates: Sequence[str] = ("chromium", "/usr/bin/chromium")) -> str:
    """The Chromium binary: $CHROMIUM if set, else the first candidate found; raises ChromiumMissing if none."""
    configured = environ.get("CHROMIUM")
    if configured:
        if shutil.which(configured) is None:
            raise ChromiumMissing(f"CHROMIUM={configured} is not an executable file")
        return configured
    for candidate in candidates:
        found = shutil.which(candidate)
        if found is not None:
            return found
    raise ChromiumMissing("Chromium is not installed: the browser tests need it. Install Debian's `chromium` "
                          "(`make system-deps` does), or point CHROMIUM at a Chromium binary.")


class Connection:
    """Commands with replies matched by id, and events handed to listeners by session id."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str | None, list[Callable[[str, dict[str, Any]], None]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if "id" in message:
                    waiter = self._pending.pop(message["id"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(message)
                    continue
                for listener in self._listeners.get(message.get("sessionId"), []):
                    listener(message["method"], message.get("params", {}))
        finally:
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(CDPError("the DevTools connection closed"))

    def listen(self, session_id: str | None, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self._listeners.setdefault(session_id, []).append(listener)

    async def send(self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None,
                   within: float = 30) -> dict[str, Any]:
        command_id = next(self._ids)
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = waiter
        await self.socket.send(json.dumps(message))
        reply = await asyncio.wait_for(waiter, within)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.socket.close()
        with contextlib.suppress(Exception):
            await self._reader


@dataclass
class Page:
    """One tab in its own browser context (fresh storage), with a record of its network traffic and errors."""

    connection: Connection
    session_id: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    websockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console/log errors

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self.requests.append(url[:60] if url.startswith("data:") else url)
        elif method == "Network.webSocketCreated":
            self.websockets.append(params["url"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry'].get('text', '')}")

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.connection.send(method, params, session_id=self.session_id)

    async def navigate(self, url: str) -> None:
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigating to {url}: {result['errorText']}")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited); raises on an exception."""
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(f"{expression!r}: {details.get('exception', {}).get('description', details)}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, what: str, within: float = 20) -> Any:
        """Polls the expression until it is truthy, and returns its value; fails with `what` after `within`."""
        deadline = time.monotonic() + within
        value: Any = None
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within} s waiting for {what} (last value {value!r}; "
                                     f"page errors {self.errors})")
            await asyncio.sleep(0.05)


class Chromium:
    def __init__(self, process: asyncio.subprocess.Process, profile: Path, connection: Connection) -> None:
        self.process = process
        self.profile = profile
        self.connection = connection

    @contextlib.asynccontextmanager
    async def page(self) -> AsyncIterator[Page]:
        context = (await self.connection.send("Target.createBrowserContext"))["browserContextId"]
        target = (await self.connection.send("Target.createTarget", {"url": "about:blank",
                                                                     "browserContextId": context}))["targetId"]
        session_id = (await self.connection.send("Target.attachToTarget", {"targetId": target,
                                                                           "flatten": True}))["sessionId"]
        page = Page(self.connection, session_id)
        self.connection.listen(session_id, page._on_event)
        for domain in ("Page", "Network", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        try:
            yield page
        finally:
            await self.connection.send("Target.closeTarget", {"targetId": target})
            await self.connection.send("Target.disposeBrowserContext", {"browserContextId": context})


async def _devtools_address(process: asyncio.subprocess.Process, profile: Path, within: float) -> str:
    """Waits for Chromium to write DevToolsActivePort; returns the browser's websocket URL."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + within
    while True:
        if marker.exists():
            lines = marker.read_text().split("\n")
            if len(lines) >= 2 and lines[0].isdigit() and lines[1].startswith("/devtools/browser/"):
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.returncode is not None:
            log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Chromium exited with {process.returncode} before it listened:\n{log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Chromium did not write {marker} within {within} s")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def chromium(*, within: float = 30) -> AsyncIterator[Chromium]:
    """A headless Chromium with a new profile, stopped (with its child processes) and removed afterwards."""
    binary = find_chromium()
    profile = Path(tempfile.mkdtemp(prefix="sessions-gql-chromium-"))
    with (profile / "chromium.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    closing = False
    try:
        address = await _devtools_address(process, profile, within)
        socket = await websockets.connect(address, max_size=None, open_timeout=within)
        connection = Connection(socket)
        try:
            yield Chromium(process, profile, connection)
        finally:
            with contextlib.suppress(Exception):
                await connection.send("Browser.close", within=5)
                closing = True
            await connection.close()
    finally:
        await _stop(process, closing=closing)
        shutil.rmtree(profile, ignore_errors=True)


async def _stop(process: asyncio.subprocess.Process, *, closing: bool) -> None:
    """Waits for Chromium to exit (after Browser.close), else terminates it; kills its process group last."""
    if process.returncode is None and closing:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            # it leads its own process group (start_new_session), alive, so the group is surely ours
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
