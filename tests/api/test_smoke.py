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


async def test_sibling_root_fields_share_the_read_session_without_clashing(api: Api) -> None:
    """GraphQL resolves sibling fields concurrently; all of them read through the request's one session."""
    pat = await api.provider("Pat Provider")
    document = """{ upcoming: sessions(first: 0, filter: {view: UPCOMING}) { totalCount }
      awaiting: sessions(first: 0, filter: {view: AWAITING_MY_RESPONSE}) { totalCount }
      past: sessions(first: 5, filter: {view: PAST}) { totalCount edges { node { id } } }
      viewer { provider { id } } notifications(first: 1) { edges { node { id } } } }"""
    data = await api.gql(document, as_=pat)
    assert data == {"upcoming": {"totalCount": 0}, "awaiting": {"totalCount": 0},
                    "past": {"totalCount": 0, "edges": []}, "viewer": {"provider": {"id": pat.gid}},
                    "notifications": {"edges": []}}
