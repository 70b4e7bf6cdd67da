"""W2, provider dashboard: the query a provider's home page makes, against our API and against PostGraphile 5
serving the same rows from the same PostgreSQL. Prints requests/s and p50/p99 for each, and our throughput as a
ratio to PostGraphile's.

    .venv/bin/python -m bench.w2_dashboard [--sessions 10000] [--seconds 10] [--rounds 3] [--connections 16]

The page: the next 20 upcoming sessions with member, service and the pair's last message, the number of upcoming
sessions, and the number awaiting the provider's answer. Before any load, both servers' answers are compared for
every provider and must be the same rows. The load comes from `wrk` (Debian's package, installed if missing),
one connection pool rotating over all providers' tokens, so neither server is measured on one hot provider.
Each round runs, one after the other: ours (the read path), ours with SESSIONS_GQL_READ_PATH=off (the
resolvers), the framework's floor (`{ serverTime }` through the same server) and the peer; the medians of the
rounds are reported, with `ours_to_postgraphile` and `ours_to_floor`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.harness.servers import free_port

from bench import history, peer
from bench.common import Pair, Stack, api_processes, seed_pairs, stack
from sessions_gql.api import ids

PROVIDERS = 32
OURS = """query Dashboard {
  upcoming: sessions(first: 20, filter: {view: UPCOMING}) {
    totalCount
    edges { node { id status startsAt endsAt modality
      member { id displayName }
      service { id name durationMinutes }
      conversation { lastMessage { body sentAt } } } }
  }
  awaiting: sessions(first: 0, filter: {view: AWAITING_MY_RESPONSE}) { totalCount }
}"""

LUA = """
local requests = { %(requests)s }
local index = 0
local threads = {}
bad = 0

setup = function(thread) table.insert(threads, thread) end

request = function()
  index = index %% #requests + 1
  local r = requests[index]
  return wrk.format("POST", nil, r[1], r[2])
end

response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "seconds": %%.3f, "p50_ms": %%.2f, "p99_ms": %%.2f, ' ..
    '"max_ms": %%.2f, "bad_responses": %%d, "socket_errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, failed,
    e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def wrk_script(requests: list[tuple[dict[str, str], str]]) -> Path:
    """A wrk Lua script that POSTs the given (headers, body) pairs in turn and counts non-200 or error answers."""
    rows = []
    for headers, body in requests:
        header_table = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
        rows.append(f"{{ {{ {header_table} }}, {_lua_string(body)} }}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA % {"requests": ",\n  ".join(rows)})
    return Path(handle.name)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def wrk(url: str, script: Path, *, connections: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run([ensure_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout",
                          "10s", "-s", str(script), url], capture_output=True, text=True, check=True)
    line = next((line for line in out.stdout.splitlines() if line.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(line[4:])
    result["requests_per_second"] = round(result["requests"] / result["seconds"], 1)
    return result


FLOOR = "{ serverTime }"
"""The framework's floor: the smallest authenticated request through the same server and middleware."""


def our_requests(pairs: list[Pair], document: str = OURS) -> list[tuple[dict[str, str], str]]:
    body = json.dumps({"query": document})
    return [({"Content-Type": "application/json", "Authorization": f"Bearer {pair.provider_token}"}, body)
            for pair in pairs]


def peer_requests(pairs: list[Pair]) -> list[tuple[dict[str, str], str]]:
    return [({"Content-Type": "application/json"}, json.dumps({"query": peer.QUERY, "variables": {
        "provider": str(ids.decode_uuid(pair.provider_id, "Provider"))}})) for pair in pairs]


def _ours_as_rows(data: dict[str, Any]) -> dict[str, Any]:
    nodes = [edge["node"] for edge in data["upcoming"]["edges"]]
    return {"upcoming": data["upcoming"]["totalCount"], "awaiting": data["awaiting"]["totalCount"], "page": [(
        str(ids.decode_uuid(n["id"], "Session")), n["status"], n["modality"],
        str(ids.decode_uuid(n["member"]["id"], "Member")), n["member"]["displayName"],
        str(ids.decode_uuid(n["service"]["id"], "Service")), n["service"]["name"],
        _body((n["conversation"] or {}).get("lastMessage"))) for n in nodes]}


def _peer_as_rows(data: dict[str, Any]) -> dict[str, Any]:
    nodes = data["upcoming"]["nodes"]
    return {"upcoming": data["upcoming"]["totalCount"], "awaiting": data["awaiting"], "page": [(
        n["rowId"], n["status"], n["modality"], n["memberByMemberId"]["rowId"],
        n["memberByMemberId"]["userByUserId"]["displayName"], n["serviceByServiceId"]["rowId"],
        n["serviceByServiceId"]["name"], _body(n["lastMessage"])) for n in nodes]}


def _body(message: dict[str, Any] | None) -> str | None:
    return message["body"] if message else None


def same_answers(our_url: str, peer_url: str, pairs: list[Pair]) -> dict[str, int]:
    """Ask both servers for every provider's page; raise unless they return the same rows. Returns totals."""
    totals = {"providers": 0, "page_rows": 0, "upcoming": 0, "awaiting": 0}
    with httpx.Client(timeout=30) as client:
        for (our_headers, our_body), (peer_headers, peer_body) in zip(our_requests(pairs), peer_requests(pairs),
                                                                      strict=True):
            ours = client.post(our_url, content=our_body, headers=our_headers).json()
            theirs = client.post(peer_url, content=peer_body, headers=peer_headers).json()
            if "errors" in ours or "errors" in theirs:
                raise RuntimeError({"ours": ours.get("errors"), "peer": theirs.get("errors")})
            a, b = _ours_as_rows(ours["data"]), _peer_as_rows(theirs["data"])
            if a != b:
                raise RuntimeError(f"the servers disagree:\nours {a}\npeer {b}")
            totals["providers"] += 1
            totals["page_rows"] += len(a["page"])
            totals["upcoming"] += a["upcoming"]
            totals["awaiting"] += a["awaiting"]
    return totals


async def install_peer_sql(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for statement in peer.SQL.split(";\n\n"):
            if statement.strip():
                await conn.execute(text(statement))
    await engine.dispose()


def measure(s: Stack, pairs: list[Pair], *, seconds: float, rounds: int, connections: int) -> dict[str, Any]:
    """Both servers on the stack's database, checked for equal answers, then `rounds` alternating wrk runs."""
    asyncio.run(install_peer_sql(s.database_url))
    scripts = {"ours": wrk_script(our_requests(pairs)), "ours_resolvers": wrk_script(our_requests(pairs)),
               "floor": wrk_script(our_requests(pairs, FLOOR)), "postgraphile": wrk_script(peer_requests(pairs))}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in scripts}
    try:
        with (api_processes(s, 1) as bases, api_processes(s, 1, read_path="off") as plain,
              peer.postgraphile(s.database_url, free_port()) as peer_url):
            urls = {"ours": f"{bases[0]}/graphql", "ours_resolvers": f"{plain[0]}/graphql",
                    "floor": f"{bases[0]}/graphql", "postgraphile": peer_url}
            checked = same_answers(urls["ours"], peer_url, pairs)
            if same_answers(urls["ours_resolvers"], peer_url, pairs) != checked:
                raise RuntimeError("the resolvers and the read path disagree")
            for name, script in scripts.items():  # warm every server up
                wrk(urls[name], script, connections=connections, seconds=3)
            for _ in range(rounds):  # alternating, so that a slower minute of the machine hits every server
                for name, script in scripts.items():
                    runs[name].append(wrk(urls[name], script, connections=connections, seconds=seconds))
    finally:
        for script in scripts.values():
            script.unlink()
    summary = {name: _median_of(results) for name, results in runs.items()}
    rate = {name: summary[name]["requests_per_second"] for name in summary}
    return {"checked_equal": checked, "runs": runs, "median": summary,
            "ours_to_postgraphile": round(rate["ours"] / rate["postgraphile"], 2),
            "ours_to_floor": round(rate["ours"] / rate["floor"], 2),
            "resolvers_to_postgraphile": round(rate["ours_resolvers"] / rate["postgraphile"], 2),
            "floor_to_postgraphile": round(rate["floor"] / rate["postgraphile"], 2)}


def _median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("requests_per_second", "p50_ms", "p99_ms")
    return {**{key: round(statistics.median(r[key] for r in results), 2) for key in keys},
            "bad_responses": sum(r["bad_responses"] for r in results),
            "socket_errors": sum(r["socket_errors"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with stack() as s:
        pairs = asyncio.run(seed_pairs(s.settings(), PROVIDERS))
        grown = asyncio.run(history.grow(s.database_url, args.sessions))
        report = {"database": grown, "connections": args.connections, "seconds_per_run": args.seconds,
                  **measure(s, pairs, seconds=args.seconds, rounds=args.rounds, connections=args.connections)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
