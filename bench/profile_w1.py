"""Profile one booking cycle path in-process (pyinstrument): request -> confirm -> cancel, on PostgreSQL.

    .venv/bin/python -m bench.profile_w1 [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio

import httpx
from pyinstrument import Profiler

from bench.common import future_slot, seed_pairs, stack
from bench.w1_bookings import CANCEL, CONFIRM, REQUEST
from sessions_gql.app import create_app


async def cycles(settings: object, count: int) -> None:
    pairs = await seed_pairs(settings, 1)  # type: ignore[arg-type]
    pair = pairs[0]
    app = create_app(settings, migrate_on_start=False)  # type: ignore[arg-type]
    await app.state.realtime.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def post(token: str, doc: str, variables: dict[str, object]) -> dict[str, object]:
            body = (await client.post("/graphql", json={"query": doc, "variables": variables},
                                      headers={"Authorization": f"Bearer {token}"})).json()
            assert "errors" not in body, body
            return body["data"]  # type: ignore[no-any-return]

        profiler = Profiler(async_mode="enabled")
        profiler.start()
        for cycle in range(count):
            made = await post(pair.member_token, REQUEST, {"i": {"providerId": pair.provider_id,
                              "serviceId": pair.service_id, "startsAt": future_slot(0, cycle), "modality": "PHONE"}})
            session_id = made["requestSession"]["session"]["id"]  # type: ignore[index]
            await post(pair.provider_token, CONFIRM, {"i": {"sessionId": session_id}})
            await post(pair.member_token, CANCEL, {"i": {"sessionId": session_id}})
        profiler.stop()
    await app.state.realtime.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    with stack() as s:
        asyncio.run(cycles(s.settings(), args.cycles))


if __name__ == "__main__":
    main()
