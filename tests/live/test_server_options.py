"""The process options `sessions-gql serve` runs with: websocket compression and the cycle collector."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from websockets.typing import Subprotocol

from sessions_gql.cli import tune_gc
from sessions_gql.clock import FrozenClock
from tests.harness.app import settings_for
from tests.harness.live import LiveServer, start_server, stop_server

TRANSPORT_WS = [Subprotocol("graphql-transport-ws")]


async def test_websockets_decline_permessage_deflate_by_default(live: LiveServer) -> None:
    """The client offers compression, as browsers do; the server answers without it."""
    async with websockets.connect(live.ws_url, subprotocols=TRANSPORT_WS, compression="deflate") as socket:
        assert socket.subprotocol == "graphql-transport-ws"
        assert socket.response is not None
        assert socket.response.headers.get("Sec-WebSocket-Extensions") is None


async def test_websocket_compression_is_negotiated_when_turned_on(
    tmp_path: Path, migrated_sqlite_template: Path, clock: FrozenClock
) -> None:
    shutil.copyfile(migrated_sqlite_template, tmp_path / "db.sqlite3")
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", run_scheduler=False,
                            ws_compression=True)
    server, task, _app, port = await start_server(settings, clock)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=TRANSPORT_WS,
                                      compression="deflate") as socket:
            assert socket.response is not None
            extensions = socket.response.headers.get("Sec-WebSocket-Extensions")
            assert extensions is not None
            assert extensions.split(";")[0] == "permessage-deflate"
    finally:
        await stop_server(server, task)


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
@pytest.mark.parametrize(("configured", "expected"), [(None, (700, 10, 10)), ((10_000, 10, 10), (10_000, 10, 10))])
def test_tune_gc_freezes_the_startup_heap_and_applies_configured_thresholds(
    configured: tuple[int, int, int] | None, expected: tuple[int, int, int]
) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    tune_gc(settings_for("sqlite+aiosqlite:///:memory:", gc_thresholds=configured))
    assert gc.get_threshold() == expected
    assert gc.get_freeze_count() > 10_000  # the modules and the schema imported by this test run
