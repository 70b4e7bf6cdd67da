"""W1, bookings: concurrent clients run request -> confirm -> cancel cycles over HTTP, against one API process
and then two. Prints transitions per second and per-mutation p50/p99, then checks the ledger and holds. pgbench's
TPC-B (8 clients, as long) runs on the same PostgreSQL before W1 and after it, and W1 over pgbench's mean
transactions per second is printed as `w1_to_pgbench` (one process; `w1_to_pgbench_2_process` for two), a figure
that holds from one machine to the next.

    .venv/bin/python -m bench.w1_bookings [--clients 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.common import (
    PIDS,
    Latencies,
    Pair,
    api_processes,
    future_slot,
    pgbench_tps,
    rss_and_cpu,
    seed_pairs,
    stack,
    tree_cpu,
)
from bench.http1 import Http1
from sessions_gql.app import build_deps
from sessions_gql.config import Settings
from sessions_gql.db.invariants import violations

REQUEST = """mutation($i: RequestSessionInput!) { requestSession(input: $i) { __typename
  ... on SessionSuccess { session { id version } } ... on UserError { code message } } }"""
CONFIRM = """mutation($i: SessionActionInput!) { confirmSession(input: $i) { __typename } }"""
CANCEL = """mutation($i: CancelSessionInput!) { cancelSession(input: $i) { __typename } }"""


async def call(client: Http1, token: str, doc: str, variables: dict[str, Any], name: str,
               stats: Latencies) -> dict[str, Any]:
    started = time.perf_counter()
    body = await client.post_json("/graphql", {"query": doc, "variables": variables},
                                  {"Authorization": f"Bearer {token}"})
    stats.add(name, time.perf_counter() - started)
    if "errors" in body:
        raise RuntimeError(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


async def client_loop(base: str, pair: Pair, deadline: float, stats: Latencies, offset: int) -> int:
    done, cycle = 0, offset
    async with Http1(base) as client:
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


async def measure(bases: list[str], pairs: list[Pair], seconds: float, offset: int, postmaster: int) -> dict[str, Any]:
    """Transitions per second, their latencies, and the CPU the API processes, PostgreSQL and this load generator
    spent on each (from /proc: what one process can serve is about 1,000 ms over its figure)."""
    stats = Latencies()
    deadline = time.perf_counter() + seconds
    pg_cpu = tree_cpu(postmaster)
    api_cpu = sum(rss_and_cpu(PIDS[base])[1] for base in bases)
    started, load_cpu = time.perf_counter(), time.process_time()
    counts = await asyncio.gather(*(client_loop(bases[i % len(bases)], pair, deadline, stats, offset)
                                    for i, pair in enumerate(pairs)))
    elapsed, load_cpu = time.perf_counter() - started, time.process_time() - load_cpu
    api_cpu = sum(rss_and_cpu(PIDS[base])[1] for base in bases) - api_cpu
    pg_cpu = tree_cpu(postmaster) - pg_cpu
    done = max(sum(counts), 1)
    return {"transitions": sum(counts), "seconds": round(elapsed, 2),
            "transitions_per_second": round(sum(counts) / elapsed, 1), "latency": stats.summary(),
            "api_cpu_ms_per_transition": round(api_cpu / done * 1000, 2),
            "api_cpu_share_of_a_core": round(api_cpu / elapsed / len(bases), 2),
            "postgresql_cpu_ms_per_transition": round(pg_cpu / done * 1000, 2),
            "load_generator_cpu_ms_per_transition": round(load_cpu / done * 1000, 2)}


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
        assert s.pg.proc is not None, "the stack started it"
        postmaster = s.pg.proc.pid
        before = pgbench_tps(s, clients=8, seconds=args.seconds)
        for processes, offset in ((1, 0), (2, 1000)):
            with api_processes(s, processes, log=args.api_log) as bases:
                report[f"{processes}_process"] = asyncio.run(measure(bases, pairs, args.seconds, offset, postmaster))
        report["invariant_violations"] = asyncio.run(invariants(s.settings()))
        after = pgbench_tps(s, clients=8, seconds=args.seconds)
        # the machine's speed drifts within minutes: pgbench runs before and after W1, and the ratio is to the mean
        report["pgbench"] = {**after, "tps_before": before["tps"], "tps_after": after["tps"],
                             "tps": round((before["tps"] + after["tps"]) / 2, 1)}
        for processes in (1, 2):
            report[f"w1_to_pgbench_{processes}_process"] = round(
                report[f"{processes}_process"]["transitions_per_second"] / report["pgbench"]["tps"], 4)
        report["w1_to_pgbench"] = report["w1_to_pgbench_1_process"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
