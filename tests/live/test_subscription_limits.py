"""The document limits hold on websockets too: a subscription over the cost or depth limit is refused up front."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.typing import Subprotocol

from tests.harness.live import LiveServer

WIDE = ("subscription($n: Int) { sessionEvents { "
        + " ".join(f"{alias}: session {{ member {{ sessions(first: $n) {{ edges {{ node {{ timeline(first: $n) "
                   "{ edges { node { id } } } } } } } }" for alias in ("a", "b"))
        + " } }")
DEEP = ("subscription { sessionEvents { session { member { user { member { user { member { user { member { user { "
        "member { user { member { id } } } } } } } } } } } } } }")


async def subscribe(live: LiveServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    member = await live.api.member("Mia")
    async with websockets.connect(live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {member.token}"}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": query, "variables": variables}}))
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        return answer


async def test_a_subscription_over_the_cost_limit_is_refused(live: LiveServer) -> None:
    answer = await subscribe(live, WIDE, {"n": 100})
    assert (answer["id"], answer["type"]) == ("1", "error")
    assert answer["payload"] == [{
        "message": "query cost 60605 is over the limit of 50000 (the nodes it could return: ask for smaller pages, "
                   "fewer nested lists or shorter slot windows)",
        "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 60605, "maxCost": 50000}}]


async def test_a_subscription_over_the_depth_limit_is_refused(live: LiveServer) -> None:
    answer = await subscribe(live, DEEP, {})
    assert (answer["id"], answer["type"]) == ("1", "error")
    assert answer["payload"] == [{"message": "'anonymous' exceeds maximum operation depth of 12",
                                  "extensions": {"code": "GRAPHQL_VALIDATION"}}]
