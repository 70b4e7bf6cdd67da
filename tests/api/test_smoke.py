"""The service answers, and refuses what it must, on both backends."""

from __future__ import annotations

from tests.harness.app import START, Api

SERVER_TIME = "{ serverTime }"
VIEWER = "{ viewer { user { role displayName email } member { id } provider { id } unreadNotifications } }"


async def test_server_time_needs_no_token_and_shows_the_service_clock(api: Api) -> None:
    body = await api.post(SERVER_TIME)
    assert body == {"data": {"serverTime": START.isoformat()}}


async def test_viewer_without_token_is_unauthenticated(api: Api) -> None:
    body = await api.post(VIEWER)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_forged_token_is_unauthenticated(api: Api) -> None:
    body = await api.post(VIEWER, token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "invalid token" in body["errors"][0]["message"]


async def test_member_sees_themself_as_viewer(api: Api) -> None:
    mia = await api.member("Mia Member")
    data = await api.gql(VIEWER, as_=mia)
    assert data["viewer"]["user"]["role"] == "MEMBER"
    assert data["viewer"]["user"]["displayName"] == "Mia Member"
    assert data["viewer"]["member"] == {"id": mia.gid}
    assert data["viewer"]["provider"] is None
    assert data["viewer"]["unreadNotifications"] == 0
