"""The in-process app on an event loop of its own thread, so that synchronous Hypothesis tests can drive it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from tests.harness.app import Api, running_api, settings_for

T = TypeVar("T")


class ThreadedApi:
    def __init__(self, api: Api, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


@pytest.fixture
def threaded_api(database_url: str, clock: Any) -> Iterator[ThreadedApi]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="threaded-api", daemon=True)
    thread.start()
    stack = contextlib.AsyncExitStack()

    async def enter() -> Api:
        return await stack.enter_async_context(running_api(settings_for(database_url), clock))

    try:
        yield ThreadedApi(asyncio.run_coroutine_threadsafe(enter(), loop).result(timeout=60), loop)
    finally:
        asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
