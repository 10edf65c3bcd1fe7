"""A host's appointment reaches the person at once (issue 21): a `role` frame to their connections,
on every node, and a presence `update` with the new role for the room's badge; the host's answer
names the person. Refusals that pass by themselves say when (`retry_after`, seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rooms import Role
from tests.client import Client, http_client
from tests.nodes import NodeProcess, RedisServer, start_together

ROOM = "plenary"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_appointment_reaches_the_person_and_the_room_at_once(server):
    host_token = server.token("Hana", Role.HOST, user_id="u_hana")
    dora = await server.client("Dora", user_id="u_dora")
    otto = await server.client("Otto", user_id="u_otto")
    elsewhere = await server.client("Dora", user_id="u_dora")  # Dora's second tab, in no room
    await dora.join(ROOM)
    await otto.join(ROOM)

    async with server.http() as http:
        response = await http.post(f"/api/rooms/{ROOM}/moderators", json={"user": "u_dora"}, headers=bearer(host_token))
    assert response.status_code == 201
    assert response.json() == {"room": ROOM, "user": "u_dora", "moderator": True, "name": "Dora"}
    for tab in (dora, elsewhere):
        frame = await tab.expect("role", room=ROOM)
        assert frame == {"type": "role", "room": ROOM, "role": "moderator", "by": {"id": "u_hana", "name": "Hana"}}
    badge = await otto.expect("presence", room=ROOM, event="update")
    assert badge["user"]["id"] == "u_dora" and badge["user"]["role"] == "moderator"
    await otto.silent("role")  # the frame is Dora's only

    # a language change afterwards keeps the new role in the badge
    await dora.send({"type": "lang", "lang": "de"})
    await dora.expect("ready")
    badge = await otto.expect("presence", room=ROOM, event="update")
    assert badge["user"]["lang"] == "de" and badge["user"]["role"] == "moderator"

    # the new moderator acts without rejoining
    await dora.send({"type": "mute", "room": ROOM, "user": "u_otto", "seconds": 60, "ref": "m"})
    await dora.expect("ack", ref="m")

    async with server.http() as http:
        response = await http.delete(f"/api/rooms/{ROOM}/moderators/u_dora", headers=bearer(host_token))
    assert response.status_code == 200 and response.json()["name"] == "Dora"
    assert (await dora.expect("role", room=ROOM, role="delegate"))["by"]["name"] == "Hana"
    badge = await otto.expect("presence", room=ROOM, event="update")
    assert badge["user"]["role"] == "delegate"
    await dora.send({"type": "unmute", "room": ROOM, "user": "u_otto", "ref": "u"})
    await dora.expect_error("forbidden", ref="u")


async def test_appointing_a_host_or_moderator_token_leaves_its_badge_alone(server):
    host_token = server.token("Hana", Role.HOST, user_id="u_hana")
    mo = await server.client("Mo", role=Role.MODERATOR, user_id="u_mo")
    otto = await server.client("Otto", user_id="u_otto")
    await mo.join(ROOM)
    await otto.join(ROOM)
    async with server.http() as http:
        await http.post(f"/api/rooms/{ROOM}/moderators", json={"user": "u_mo"}, headers=bearer(host_token))
        await http.delete(f"/api/rooms/{ROOM}/moderators/u_mo", headers=bearer(host_token))
    await mo.expect("role", room=ROOM, role="delegate")  # told, and its client keeps the token's role
    await otto.silent("presence")  # a moderator token stays a moderator: no badge changes


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess]]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    nodes = [NodeProcess(name, tmp_path, redis_url=redis_server.url) for name in ("a", "b")]
    try:
        await asyncio.to_thread(start_together, *nodes)
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.stop()
        redis_server.stop()


@pytest.mark.redis
async def test_an_appointment_made_on_one_node_reaches_the_person_on_the_other(two_nodes):
    a, b = two_nodes
    dora = await Client.connect(b.ws_url)
    await dora.auth(b.token("Dora", user_id="u_dora"))
    await dora.join(ROOM)
    otto = await Client.connect(a.ws_url)
    await otto.auth(a.token("Otto", user_id="u_otto"))
    await otto.join(ROOM)
    async with http_client(a.url) as http:  # the host is on node a
        response = await http.post(
            f"/api/rooms/{ROOM}/moderators",
            json={"user": "u_dora"},
            headers=bearer(a.token("Hana", user_id="u_hana", role=Role.HOST)),
        )
    assert response.status_code == 201 and response.json()["name"] == "Dora"
    frame = await dora.expect("role", room=ROOM, timeout=10)
    assert frame["role"] == "moderator" and frame["by"] == {"id": "u_hana", "name": "Hana"}
    badge = await otto.expect("presence", room=ROOM, event="update", timeout=10)
    assert badge["user"]["role"] == "moderator"


# refusals that pass by themselves say when -------------------------------------------------------


async def test_slow_mode_and_a_timed_mute_say_in_how_many_seconds(server):
    async with server.http() as http:
        await http.patch(f"/api/rooms/{ROOM}", json={"slow_mode": 30}, headers=bearer(server.token("H", Role.HOST)))
    dee = await server.client("Dee", user_id="u_dee")
    await dee.join(ROOM)
    await dee.say(ROOM, "first")
    await dee.send({"type": "send", "room": ROOM, "text": "second", "ref": "s"})
    slow = await dee.expect_error("rate_limited", ref="s")
    assert 0 < slow["retry_after"] <= 30

    host = await server.client("Hana", role=Role.HOST, user_id="u_hana")
    await host.join(ROOM)
    await host.send({"type": "mute", "room": ROOM, "user": "u_dee", "seconds": 3600, "ref": "m"})
    await host.expect("ack", ref="m")
    await dee.send({"type": "send", "room": ROOM, "text": "third", "ref": "t"})
    muted = await dee.expect_error("muted", ref="t")
    assert 3500 < muted["retry_after"] <= 3600
    await host.send({"type": "mute", "room": ROOM, "user": "u_dee", "ref": "f"})  # until unmuted: no number
    await host.expect("ack", ref="f")
    await dee.send({"type": "send", "room": ROOM, "text": "fourth", "ref": "u"})
    assert "retry_after" not in await dee.expect_error("muted", ref="u")


async def test_a_contact_request_cooldown_says_when(make_server):
    server = await make_server(
        limits={"rate_per_second": 1000.0, "rate_burst": 1000}, conversations={"cooldown": 23 * 3600}
    )
    ada = await server.client("Ada", user_id="u_ada")
    cy = await server.client("Cy", user_id="u_cy")
    await ada.send({"type": "request", "to": "u_cy", "text": "hello", "ref": "r1"})
    await ada.expect("ack", ref="r1")
    card = await cy.expect("request")
    await cy.send({"type": "decline", "request": card["id"], "ref": "d"})
    await cy.expect("ack", ref="d")
    await ada.send({"type": "request", "to": "u_cy", "text": "please", "ref": "r2"})
    cooled = await ada.expect_error("rate_limited", ref="r2")
    assert 23 * 3600 - 60 < cooled["retry_after"] <= 23 * 3600


def test_an_http_refusal_carries_retry_after_in_the_body_and_the_header():
    from web.errors import ApiError

    response = ApiError(429, "rate_limited", "wait", retry_after=12).response()
    assert response.headers["retry-after"] == "12"
    assert b'"retry_after":12' in response.body
    assert b"retry_after" not in ApiError(404, "not_found", "no").response().body
