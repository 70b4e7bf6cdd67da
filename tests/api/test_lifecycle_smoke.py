"""The happy path of a booking, end to end over HTTP."""

from __future__ import annotations

from datetime import timedelta

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import REQUEST, action, types, world
from tests.harness.app import START, Api

TUESDAY_10 = (START + timedelta(days=1, hours=2)).isoformat()  # Tue 2026-11-24 10:00 UTC (London = UTC)


async def test_request_confirm_start_end_moves_credits_and_records_the_timeline(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    requested = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                      "startsAt": TUESDAY_10, "modality": "VIDEO"}, w.member)
    assert requested["__typename"] == "SessionSuccess", requested
    session = requested["session"]
    assert session["status"] == "AWAITING_APPROVAL"
    assert types(session) == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"]
    assert (await w.wallet())["availableCredits"] == 140
    assert (await w.wallet())["heldCredits"] == 60

    confirmed = await w.run(action("confirmSession"), {"sessionId": session["id"]}, w.provider)
    assert confirmed["__typename"] == "SessionSuccess", confirmed
    assert confirmed["session"]["status"] == "CONFIRMED"

    clock.set(START + timedelta(days=1, hours=1, minutes=50))
    started = await w.run(action("startSession"), {"sessionId": session["id"]}, w.provider)
    assert started["session"]["status"] == "IN_PROGRESS", started
    clock.set(START + timedelta(days=1, hours=3))
    ended = await w.run(action("endSession"), {"sessionId": session["id"]}, w.provider)
    assert ended["session"]["status"] == "COMPLETED", ended
    assert ended["session"]["paymentStatus"] == "CAPTURED"
    wallet = await w.wallet()
    assert (wallet["availableCredits"], wallet["heldCredits"]) == (140, 0)
    assert [e["node"]["kind"] for e in wallet["ledger"]["edges"]] == ["CAPTURE", "HOLD", "GRANT"]
