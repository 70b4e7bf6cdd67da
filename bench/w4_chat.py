"""W4, chat: a message sent over HTTP until the other party's conversationEvents subscription receives it.

    .venv/bin/python -m bench.w4_chat [--messages 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from bench.common import api_processes, percentiles, seed_pairs, stack

SEND = """mutation($i: SendMessageInput!) { sendMessage(input: $i) { __typename } }"""
CHAT = "subscription { conversationEvents { __typename ... on MessageAdded { message { body } } } }"


async def measure(base: str, listener_token: str, sender_token: str, recipient_id: str, count: int
                  ) -> dict[str, Any]:
    """The member writes to the provider (any member may write to an active provider); the provider listens."""
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    ws_url = base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {listener_token}"}}
        await socket.send(json.dumps(init))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHAT}}))
        await asyncio.sleep(0.5)

        async def receive() -> None:
            while len(latencies) < count:
                message = json.loads(await socket.recv())
                if message.get("type") != "next":
                    continue
                body = message["payload"]["data"]["conversationEvents"]["message"]["body"]
                if body in sent_at:
                    latencies.append(time.perf_counter() - sent_at.pop(body))

        receiver = asyncio.create_task(receive())
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for number in range(count):
                body = f"bench message {number}"
                sent_at[body] = time.perf_counter()
                response = await client.post("/graphql", headers={"Authorization": f"Bearer {sender_token}"},
                                             json={"query": SEND, "variables": {"i": {
                                                 "recipientId": recipient_id, "body": body,
                                                 "clientMessageId": f"bench-{number}"}}})
                assert response.json()["data"]["sendMessage"]["__typename"] == "MessageSuccess", response.text
        await asyncio.wait_for(receiver, timeout=60)
    return {"messages": count, "send_to_receive": percentiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    with stack() as s:
        pairs = asyncio.run(seed_pairs(s.settings(), 1))
        pair = pairs[0]
        with api_processes(s, 1) as bases:
            report = asyncio.run(measure(bases[0], pair.provider_token, pair.member_token, pair.provider_id,
                                         args.messages))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
