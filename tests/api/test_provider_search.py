"""`providers(filter: {skill, search})`: part of a word, any case, over the name, bio, skills and service names;
`%`, `_` and `\\` are literal characters, not wildcards."""

from __future__ import annotations

from typing import Any

from tests.api.lifecycle_helpers import SAVE_SERVICE
from tests.harness.app import Api, Person

FIND = """query($filter: ProviderFilter, $order: ProviderOrder) {
  providers(first: 100, filter: $filter, orderBy: $order) { edges { node { displayName } } } }"""
PAGE = """query($filter: ProviderFilter, $order: ProviderOrder, $after: String) {
  providers(first: 3, after: $after, filter: $filter, orderBy: $order) {
    edges { node { displayName } } pageInfo { hasNextPage endCursor } } }"""
CREATE_PROVIDER = """mutation($input: CreateProviderInput!) {
  createProvider(input: $input) { __typename ... on ProviderSuccess { provider { id } } } }"""
SET_VISIBILITY = """mutation($visibility: ProviderVisibility!, $id: ID) {
  setProviderVisibility(visibility: $visibility, providerId: $id) { __typename } }"""


def service(name: str, skills: list[str], modalities: tuple[str, ...] = ("VIDEO",), **changes: Any
            ) -> dict[str, Any]:
    return {"name": name, "skills": skills, "durationMinutes": 60, "priceCredits": 10, "fee": "40.00",
            "currency": "EUR", "modalities": list(modalities), "freeInitialConsultation": False, **changes}


async def practice(api: Api, name: str, bio: str | None, *services: dict[str, Any]) -> tuple[str, list[str]]:
    """A provider with this bio and these services, made by an admin through the API: its id and service ids."""
    admin = await api.admin()
    created = await api.gql(CREATE_PROVIDER, {"input": {"email": f"{name.lower().replace(' ', '.')}@search.test",
                                                        "displayName": name, "timeZone": "UTC", "bio": bio}},
                            as_=admin)
    provider_id = created["createProvider"]["provider"]["id"]
    saved = [await api.gql(SAVE_SERVICE, {"input": {**offer, "providerId": provider_id}}, as_=admin)
             for offer in services]
    return provider_id, [data["saveService"]["service"]["id"] for data in saved]


async def found(api: Api, as_: Person, **filter: Any) -> list[str]:
    data = await api.gql(FIND, {"filter": filter}, as_=as_)
    return [edge["node"]["displayName"] for edge in data["providers"]["edges"]]


async def catalogue(api: Api) -> dict[str, list[str]]:
    """Every provider's service ids, by name."""
    made = {}
    for name, bio, offers in [
        ("Dr Anna Alvarez", "Warm, practical support for worried minds.",
         [service("Cognitive Behavioural Therapy", ["Anxiety", "Stress management"])]),
        ("Ben Brown", "Career coaching for engineers.",
         [service("Career coaching", ["career", "leadership"], ("PHONE",))]),
        ("Cleo_Coach", None, [service("Sessions", ["self_care"])]),
        ("Leo Coach", None, [service("Sessions", ["self care"])]),
        ("Dana Doyle", "I give every client 100% of my attention.", [service("Talks", ["grief"])]),
        ("Eli Evans", "One hundred percent: 100 percent present.", [service("Talks", ["grief"])]),
        ("Fin Fox", "Notes live in C:\\clients, never online.", [service("Talks", ["back\\slash"])]),
        ("Gus Gray", "Worried about anxiety? So was I.", []),
    ]:
        _provider_id, ids = await practice(api, name, bio, *offers)
        made[name] = ids
    for visibility in ("INVISIBLE", "DEACTIVATED"):  # they would match "anx", "therapy", "coach", "100%"...
        hidden, _ = await practice(api, f"Hidden {visibility}", "Anxiety coach, 100% o_c \\",
                                   service("Anxiety therapy", ["Anxiety", "o_c%"]))
        changed = await api.gql(SET_VISIBILITY, {"visibility": visibility, "id": hidden}, as_=await api.admin())
        assert changed["setProviderVisibility"]["__typename"] == "ProviderSuccess"
    return made


async def test_skill_matches_part_of_a_skill_name_in_any_case(api: Api) -> None:
    await catalogue(api)
    mia = await api.member("Mia")
    for fragment in ("anx", "ANX", "Anxiety", "  iEt ", "stress", "MANAGEMENT", "ss man"):
        assert await found(api, mia, skill=fragment) == ["Dr Anna Alvarez"], fragment
    assert await found(api, mia, skill="lead") == ["Ben Brown"]
    assert await found(api, mia, skill="therapy") == []  # a service name, not a skill
    assert await found(api, mia, skill="worried") == []  # a bio word, not a skill
    assert await found(api, mia, skill="anxiety\nstress") == []  # one skill at a time, never across two
    assert await found(api, mia, skill="y stress") == []
    assert await found(api, mia, skill="anx", modality="VIDEO") == ["Dr Anna Alvarez"]
    assert await found(api, mia, skill="anx", modality="PHONE") == []  # the skill and modality of one service


async def test_search_matches_part_of_the_name_bio_a_skill_or_a_service_name(api: Api) -> None:
    await catalogue(api)
    mia = await api.member("Mia")
    cases = {
        "therapy": ["Dr Anna Alvarez"],  # a service name fragment
        "THERAPY": ["Dr Anna Alvarez"],
        "behav": ["Dr Anna Alvarez"],
        "stress": ["Dr Anna Alvarez"],  # a skill
        "anx": ["Dr Anna Alvarez", "Gus Gray"],  # a skill, and a bio word
        "worried": ["Dr Anna Alvarez", "Gus Gray"],  # a bio word
        "PRACTICAL support": ["Dr Anna Alvarez"],
        "alvar": ["Dr Anna Alvarez"],  # the name
        "coach": ["Ben Brown", "Cleo_Coach", "Leo Coach"],  # service name, bio, names
        "engineer": ["Ben Brown"],
        "  grief  ": ["Dana Doyle", "Eli Evans"],
        "nobody has this": [],
    }
    for fragment, names in cases.items():
        assert await found(api, mia, search=fragment) == names, fragment
    assert await found(api, mia, search="coach", skill="self") == ["Cleo_Coach", "Leo Coach"]
    assert await found(api, mia, search="anx", modality="PHONE") == []


async def test_percent_underscore_and_backslash_are_literal(api: Api) -> None:
    await catalogue(api)
    mia = await api.member("Mia")
    assert await found(api, mia, search="100%") == ["Dana Doyle"]  # not "100 percent"
    assert await found(api, mia, search="%") == ["Dana Doyle"]
    assert await found(api, mia, search="o_c") == ["Cleo_Coach"]  # not "Leo Coach"
    assert await found(api, mia, search="_") == ["Cleo_Coach"]  # the name, and the skill self_care
    assert await found(api, mia, skill="f_c") == ["Cleo_Coach"]  # not "self care"
    assert await found(api, mia, skill="_") == ["Cleo_Coach"]
    assert await found(api, mia, skill="%") == []
    assert await found(api, mia, search="\\") == ["Fin Fox"]
    assert await found(api, mia, search="c:\\clients") == ["Fin Fox"]
    assert await found(api, mia, skill="k\\s") == ["Fin Fox"]


async def test_a_changed_service_is_found_by_its_new_skills_and_name_only(api: Api) -> None:
    made = await catalogue(api)
    mia, admin = await api.member("Mia"), await api.admin()
    (anna_service,) = made["Dr Anna Alvarez"]
    changed = await api.gql(SAVE_SERVICE, {"input": service("Panic support", ["Panic attacks"],
                                                            serviceId=anna_service)}, as_=admin)
    assert changed["saveService"]["__typename"] == "ServiceSuccess"
    assert await found(api, mia, skill="anx") == []
    assert await found(api, mia, skill="PANIC") == ["Dr Anna Alvarez"]
    assert await found(api, mia, search="therapy") == []
    assert await found(api, mia, search="panic sup") == ["Dr Anna Alvarez"]
    assert await found(api, mia, search="anx") == ["Gus Gray"]  # Anna's bio says "worried", not "anxiety"


async def test_search_results_page_in_the_requested_order(api: Api) -> None:
    await catalogue(api)
    mia = await api.member("Mia")
    everyone = ["Ben Brown", "Cleo_Coach", "Dana Doyle", "Dr Anna Alvarez", "Eli Evans", "Fin Fox", "Gus Gray",
                "Leo Coach"]
    for order in ("NAME", "RECOMMENDED"):  # nobody has responded yet: RECOMMENDED falls back to the name
        names, after = [], None
        while True:
            data = (await api.gql(PAGE, {"filter": {"search": "O"}, "order": order, "after": after}, as_=mia)
                    )["providers"]
            names += [edge["node"]["displayName"] for edge in data["edges"]]
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
        assert names == everyone, order
        assert await found(api, mia, search="o") == everyone
