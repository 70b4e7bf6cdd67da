"""The README's first walkthrough, run as written: its GraphQL documents are read from README.md and sent, in
order, with the tokens `sessions-gql seed --demo` prints, so the README cannot drift from the API."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sessions_gql.seed import seed_demo
from tests.harness.app import START, Api

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### A member finds a provider, asks first, buys a package and books from it"


def walkthrough_documents() -> dict[str, str]:
    """The section's ```graphql blocks by operation name."""
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ")]
    blocks = re.findall(r"```graphql\n(.*?)```", section, flags=re.S)
    named = {re.match(r"(?:query|mutation) (\w+)", block).group(1): block for block in blocks}  # type: ignore[union-attr]
    assert list(named) == ["Find", "Ask", "Answer", "Buy", "Slots", "Book"]
    return named


async def demo_tokens(api: Api) -> dict[str, str]:
    printed = await seed_demo(api.deps.settings)
    tokens = {}
    for line in printed.splitlines()[1:]:
        _role, email, token = line.split()
        tokens[email] = token
    return tokens


async def run(api: Api, document: str, token: str, **variables: Any) -> dict[str, Any]:
    body = await api.post(document, variables, token=token)
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


async def test_the_readme_walkthrough_runs_as_written(api: Api) -> None:
    docs = walkthrough_documents()
    tokens = await demo_tokens(api)
    sam, okafor = tokens["sam@demo.example"], tokens["dr.okafor@demo.example"]

    found = await run(api, docs["Find"], sam)
    (edge,) = found["providers"]["edges"]
    provider = edge["node"]
    assert provider["displayName"] == "Dr. Amara Okafor"
    (service,) = provider["services"]
    assert (service["name"], service["skills"], service["packages"]) == (
        "Therapy", ["Anxiety", "Stress"], [{"sessions": 4, "priceCredits": 200}])

    asked = (await run(api, docs["Ask"], sam, provider=provider["id"]))["sendMessage"]
    conversation = asked["chatMessage"]["conversation"]["id"]
    answered = (await run(api, docs["Answer"], okafor, conversation=conversation))["sendMessage"]
    assert answered == {"chatMessage": {"body": "Yes, often. A package of 4 is on my profile.",
                                        "sender": {"displayName": "Dr. Amara Okafor"}}}

    bought = (await run(api, docs["Buy"], sam, service=service["id"]))["purchasePackage"]["package"]
    assert {k: bought[k] for k in ("sessionsTotal", "sessionsRemaining", "priceCredits")} == {
        "sessionsTotal": 4, "sessionsRemaining": 4, "priceCredits": 200}

    window = {"from": (START + timedelta(days=1)).isoformat(), "to": (START + timedelta(days=3)).isoformat()}
    slots = (await run(api, docs["Slots"], sam, provider=provider["id"], service=service["id"], **window))
    assert slots["availableSlots"], "the demo provider has free time on weekdays"
    booked = await run(api, docs["Book"], sam, provider=provider["id"], service=service["id"],
                       startsAt=slots["availableSlots"][0]["startsAt"], package=bought["id"])
    assert booked["requestSession"] == {"session": {"status": "AWAITING_APPROVAL", "funding": "PACKAGE",
                                                    "package": {"sessionsRemaining": 3}}}
    notices = await run(api, "{ notifications(first: 5) { edges { node { kind body } } } }", okafor)
    kinds = [edge["node"]["kind"] for edge in notices["notifications"]["edges"]]
    assert kinds == ["SESSION_REQUESTED", "MESSAGE_RECEIVED"]
    requested = next(e["node"]["body"] for e in notices["notifications"]["edges"]
                     if e["node"]["kind"] == "SESSION_REQUESTED")
    assert requested == ("Sam Rivera requested a Therapy session with you. Please confirm or decline it.\n"
                         "When: tomorrow, Tuesday 24 November 2026, 09:00-09:50 (Europe/London)\n"
                         "How: Video call\n"
                         "Answer by: Tuesday 24 November 2026, 08:00 (Europe/London)")
