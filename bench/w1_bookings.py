"""W1, bookings: concurrent clients run request -> confirm -> cancel cycles over HTTP, against one API process
and then two. Prints transitions per second and per-mutation p50/p99, then checks the ledger and holds; then
runs pgbench's TPC-B (8 clients, as long) on the same PostgreSQL and prints W1 over its transactions per second
as `w1_to_pgbench` (one process; `w1_to_pgbench_2_process` for two), a figure that holds from one machine to
the next.

    .venv/bin/python -m bench.w1_bookings [--clients 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from bench.common import Latencies, Pair, api_processes, future_slot, pgbench_tps, seed_pairs, stack
from sessions_gql.app import build_deps
from sessions_gql.config import Settings
from sessions_gql.db.invariants import violations

REQUEST = """mutation($i: RequestSessionInput!) { requestSession(input: $i) { __typename
  ... on SessionSuccess { session { id version } } ... on UserError { code message } } }"""
CONFIRM = """mutation($i: SessionActionInput!) { confirmSession(input: $i) { __typename } }"""
CANCEL = """mutation($i: CancelSessionInput!) { cancelSession(input: $i) { __typename } }"""


async def call(client: httpx.AsyncClient, token: str, doc: str, variables: dict[str, Any], name: str,
               stats: Latencies) -> dict[str, Any]:
    started = time.perf_counter()
    response = await client.post("/graphql", json={"query": doc, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    stats.add(name, time.perf_counter() - started)
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


async def client_loop(base: str, pair: Pair, deadline: float, stats: Latencies, offset: int) -> int:
    done, cycle = 0, offset
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < deadline:
            cycle += 1
            made = await call(client, pair.member_token, REQUEST, {"i": {
                "providerId": pair.provider_id, "serviceId": pair.service_id, "startsAt": future_slot(0, cycle % 2000),
                "modality": "PHONE"}}, "requestSession", stats)
            result = made["requestSession"]
            if result["__typename"] != "SessionSuccess":
                raise RuntimeError(result)
            session_id = result["session"]["id"]
            await call(client, pair.provider_token, CONFIRM, {"i": {"sessionId": session_id}}, "confirmSession",
                       stats)
            await call(client, pair.member_token, CANCEL, {"i": {"sessionId": session_id}}, "cancelSession", stats)
            done += 3
    return done


async def measure(bases: list[str], pairs: list[Pair], seconds: float, offset: int) -> dict[str, Any]:
    stats = Latencies()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    counts = await asyncio.gather(*(client_loop(bases[i % len(bases)], pair, deadline, stats, offset)
                                    for i, pair in enumerate(pairs)))
    elapsed = time.perf_counter() - started
    return {"transitions": sum(counts), "seconds": round(elapsed, 2),
            "transitions_per_second": round(sum(counts) / elapsed, 1), "latency": stats.summary()}


async def invariants(settings: Settings) -> dict[str, int]:
    """Violations found (`db.invariants`: balances vs ledger, held vs open sessions, holds vs state, overlapping
    holds; all must be 0)."""
    deps = build_deps(settings)
    try:
        return await violations(deps.engine)
    finally:
        await deps.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--api-log", help="append the API processes' output (their logs) to this file")
    args = parser.parse_args()
    with stack() as s:
        pairs = asyncio.run(seed_pairs(s.settings(), args.clients))
        report: dict[str, Any] = {"clients": args.clients}
        for processes, offset in ((1, 0), (2, 1000)):
            with api_processes(s, processes, log=args.api_log) as bases:
                report[f"{processes}_process"] = asyncio.run(measure(bases, pairs, args.seconds, offset))
        report["invariant_violations"] = asyncio.run(invariants(s.settings()))
        report["pgbench"] = pgbench_tps(s, clients=8, seconds=args.seconds)
        for processes in (1, 2):
            report[f"w1_to_pgbench_{processes}_process"] = round(
                report[f"{processes}_process"]["transitions_per_second"] / report["pgbench"]["tps"], 4)
        report["w1_to_pgbench"] = report["w1_to_pgbench_1_process"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
