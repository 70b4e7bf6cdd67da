"""W3, fan-out: N websocket subscribers (graphql-transport-ws) on one session's events, one API process, events
published at a steady rate. Prints delivery latency (mutation sent -> frame received), events lost, the API
process's memory per idle subscription, its CPU time, and how many executions the frames took (shared: once
for every socket of one shape; own: for one socket; reused: frames sent without executing). Settings pass
through the environment, e.g. SESSIONS_GQL_SHARED_FRAMES=0 (every socket executes its own) or
SESSIONS_GQL_GC_THRESHOLDS=[50000,10,10].

    .venv/bin/python -m bench.w3_fanout [--subscribers 1000 5000 10000] [--events 10] [--rate 1]
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

from bench.common import PIDS, api_processes, future_slot, percentiles, raise_fd_limit, rss_and_cpu, seed_pairs, stack

REQUEST = """mutation($i: RequestSessionInput!) {
  requestSession(input: $i) { ... on SessionSuccess { session { id } } } }"""
NOTE = """mutation($i: AddNoteInput!) { addNote(input: $i) { __typename } }"""
ERRORS: list[str] = []
EVENTS = "subscription($id: ID) { sessionEvents(sessionId: $id) { type } }"


def frame_counts(base: str) -> dict[str, float]:
    """The API's subscription executions by mode and the frames it reused, from /metrics."""
    wanted = {'subscription_event_executions_total{mode="shared"}': "executed_shared",
              'subscription_event_executions_total{mode="own"}': "executed_own",
              "subscription_frames_reused_total": "frames_reused"}
    text = httpx.get(f"{base}/metrics", timeout=30).text
    found = {wanted[name]: float(value) for name, value in (line.rsplit(" ", 1) for line in text.splitlines()
                                                           if not line.startswith("#")) if name in wanted}
    return {name: found.get(name, 0.0) for name in wanted.values()}


async def connect(url: str, token: str, session_id: str, gate: asyncio.Semaphore) -> Any:
    """Open and subscribe, at most 100 handshakes at a time (thousands at once overflow the listen backlog);
    a handshake that fails is retried, a connection that fails after subscribing is not."""
    for attempt in range(5):
        try:
            async with gate:
                socket = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                                  open_timeout=120, ping_interval=None, max_queue=64)
                await socket.send(json.dumps({"type": "connection_init",
                                              "payload": {"authorization": f"Bearer {token}"}}))
                await socket.recv()
                await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                              "payload": {"query": EVENTS, "variables": {"id": session_id}}}))
                return socket
        except (OSError, websockets.ConnectionClosedError):
            if attempt == 4:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


async def subscriber(url: str, token: str, session_id: str, ready: asyncio.Event, opened: list[int],
                     target: int, received: list[float], gate: asyncio.Semaphore) -> None:
    """Records when each NOTE_ADDED frame arrives; the n-th one answers the n-th note sent."""
    socket = await connect(url, token, session_id, gate)
    opened.append(1)
    if len(opened) == target:
        ready.set()
    async with socket:
        async for raw in socket:
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            data = message["payload"].get("data")
            if data is None:
                ERRORS.append(str(message["payload"].get("errors"))[:200])
                return
            if data["sessionEvents"]["type"] == "NOTE_ADDED":
                received.append(time.perf_counter())


async def run(base: str, pid: int, admin_token: str, session_id: str, count: int, events: int, rate: float
              ) -> dict[str, Any]:
    url = base.replace("http://", "ws://") + "/graphql"
    idle_rss, _ = rss_and_cpu(pid)
    ready, opened = asyncio.Event(), []
    received: list[list[float]] = [[] for _ in range(count)]
    gate = asyncio.Semaphore(100)
    tasks = [asyncio.create_task(subscriber(url, admin_token, session_id, ready, opened, count, received[i], gate))
             for i in range(count)]
    await asyncio.wait_for(ready.wait(), timeout=600)
    await asyncio.sleep(2)
    subscribed_rss, cpu_before = rss_and_cpu(pid)
    counted_before = frame_counts(base)
    sent: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for number in range(events):
            note = f"event-{number}"
            sent.append(time.perf_counter())
            await client.post("/graphql", headers={"Authorization": f"Bearer {admin_token}"},
                              json={"query": NOTE, "variables": {"i": {"sessionId": session_id, "body": note}}})
            await asyncio.sleep(1 / rate)
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline and sum(len(times) for times in received) < count * events:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    _, cpu_after = rss_and_cpu(pid)
    counted = {name: value - counted_before[name] for name, value in frame_counts(base).items()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [at - sent[index] for times in received for index, at in enumerate(times[:events])]
    return {"subscribers": count, "events": events, "rate_per_s": rate,
            "delivered": len(latencies), "not_received_within_300s": count * events - len(latencies),
            "latency": percentiles(latencies),
            "subscriptions_ended_by_an_error": len(ERRORS), "first_errors": sorted(set(ERRORS))[:3],
            "rss_per_idle_subscription_kb": round((subscribed_rss - idle_rss) / count / 1024, 1),
            "api_cpu_seconds_while_publishing": round(cpu_after - cpu_before, 1), **counted}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1.0)
    args = parser.parse_args()
    raise_fd_limit()
    results = []
    with stack() as s:
        pair = asyncio.run(seed_pairs(s.settings(), 1))[0]
        with api_processes(s, 1) as bases:
            base = bases[0]
            made = httpx.post(f"{base}/graphql", headers={"Authorization": f"Bearer {pair.member_token}"}, json={
                "query": REQUEST, "variables": {"i": {"providerId": pair.provider_id, "serviceId": pair.service_id,
                                                      "startsAt": future_slot(0, 1), "modality": "PHONE"}}}).json()
            session_id = made["data"]["requestSession"]["session"]["id"]
            pid = PIDS[base]
            for count in args.subscribers:
                results.append(asyncio.run(run(base, pid, pair.admin_token, session_id, count, args.events,
                                               args.rate)))
                print(json.dumps(results[-1]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
