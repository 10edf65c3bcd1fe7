"""GET /api/people over an indexed directory (issue 20), on every backend: pages across many people
with filters list each person exactly once, in name order; anonymous sign-ins expire from it after
[conversations] profile_ttl without a connection, while connected people and website delegates stay."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from rooms.conversations import Profile
from tests.client import Client

NAMES = ["ana", "Ana", "ANA", "Ängel", "Bo", "bo", "Zoë", "李伟", "Ólafur", "mika", "Mika", "Aino", "Li", "Ngozi"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def every_page(server, token: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` from the first page to the last."""
    people: list[dict[str, Any]] = []
    cursor = None
    async with server.http() as http:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = await http.get("/api/people", params=query, headers=bearer(token))
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["people"]) <= int(params.get("limit", 20))
            people.extend(body["people"])
            cursor = body["next"]
            if cursor is None:
                return people


async def test_paging_with_filters_gives_each_person_exactly_once_in_name_order(server):
    rng = random.Random(7)
    store = server.node.conversations.store
    profiles = [
        Profile(
            f"u{index:03d}",
            rng.choice(NAMES),
            lang=rng.choice(["fi", "zh", "pt", "en"]),
            country=rng.choice(["FI", "CN", "BR", ""]),
            organization=rng.choice(["Sauna Oy", "Helsinki Tech", "Shenzhen Solar", ""]),
        )
        for index in range(75)
    ]
    for profile in profiles:
        await store.save_profile(profile)
    for user in ("u010", "u011", "u050"):
        await store.set_hidden(user, True)
    viewer = server.token("Viewer", user_id="u000")  # never listed to themself
    for params in [
        {"limit": "7"},
        {"limit": "1", "q": "ana"},
        {"limit": "4", "q": "TECH"},
        {"limit": "3", "lang": "fi"},
        {"limit": "5", "country": "cn"},
        {"limit": "2", "q": "s", "lang": "pt", "country": "BR"},
        {"limit": "100"},
    ]:
        needle = params.get("q", "").casefold()
        expected = [
            p.id
            for p in sorted(profiles, key=lambda p: (p.name.casefold(), p.id))
            if p.id not in ("u000", "u010", "u011", "u050")
            and (not needle or needle in p.name.casefold() or needle in p.organization.casefold())
            and params.get("lang", p.lang) == p.lang
            and params.get("country", p.country).upper() == p.country
        ]
        listed = [p["id"] for p in await every_page(server, viewer, **params)]
        assert listed == expected, params


async def test_anonymous_sign_ins_expire_from_the_directory_without_a_connection(make_server):
    server = await make_server(conversations={"profile_ttl": 1})
    async with server.http() as http:
        gone = (await http.post("/api/session", json={"name": "Passer-by", "lang": "en"})).json()
        stays = (await http.post("/api/session", json={"name": "Connected", "lang": "en"})).json()
    connected = await Client.connect(server.ws_url)
    await connected.auth(stays["token"])
    member = server.token("Member", user_id="site-member")  # a website's delegate: never expires
    await (await Client.connect(server.ws_url)).auth(member)
    viewer = server.token("Viewer", user_id="site-viewer")

    async def names() -> list[str]:
        return [p["name"] for p in await every_page(server, viewer, limit="50")]

    assert await names() == ["Connected", "Member", "Passer-by"]
    for _ in range(150):  # the expiry runs every second here: wait for it, generously
        if "Passer-by" not in await names():
            break
        await asyncio.sleep(0.1)
    assert await names() == ["Connected", "Member"]
    async with server.http() as http:  # the expired person's token still works; the profile is made again
        me = await http.get("/api/me", headers=bearer(gone["token"]))
        assert me.status_code == 404
        again = await http.patch("/api/me", json={"hidden": False}, headers=bearer(gone["token"]))
        assert again.status_code == 200 and again.json()["name"] == "Passer-by"
    await connected.send({"type": "ping", "ref": "p"})
    await connected.expect("pong")
