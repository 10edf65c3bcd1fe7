"""Organiser content across nodes: two `babelroom serve` processes on one Redis, real Apertium.

A host renames a room and kicks with a reason on node a; a Spanish reader on node b gets the
title and the reason in Spanish (each node translates for its own readers).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rooms import Role
from tests.client import Client, http_client
from tests.nodes import NodeProcess, RedisServer, start_together
from translation.apertium import discover

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)"),
]

NODE_ENV = {"BABELROOM_TRANSLATION_ENGINES": "apertium"}


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess]]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    pair = [NodeProcess(name, tmp_path, redis_url=redis_server.url, env=NODE_ENV) for name in ("a", "b")]
    try:
        await asyncio.to_thread(start_together, *pair)
        yield pair[0], pair[1]
    finally:
        for node in pair:
            node.stop()
        redis_server.stop()


async def connect(node: NodeProcess, name: str, lang: str, role: Role = Role.DELEGATE) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=f"u_{name.lower()}", lang=lang, role=role))
    return client


async def test_a_rename_and_a_reason_reach_a_spanish_reader_on_the_other_node_in_spanish(nodes):
    a, b = nodes
    sofia = await connect(b, "Sofia", "es")
    joined = await sofia.join("plenary")
    assert joined["room"]["tr"] == {"lang": "es", "title": "Pleno", "forum": "Sala principal"}
    host = await connect(a, "Hanna", "en", Role.HOST)
    tim = await connect(a, "Tim", "en")
    for client in (host, tim):
        await client.join("plenary")
    async with http_client(a.url) as http:
        answer = await http.patch(
            "/api/rooms/plenary",
            json={"title": "Workshops"},
            headers={"authorization": f"Bearer {a.token('Hanna', role=Role.HOST)}"},
        )
        assert answer.status_code == 200
    renamed = await sofia.expect("room", event="updated", timeout=15)
    while renamed["room"]["title"] != "Workshops":  # the members' joins announced before the rename
        renamed = await sofia.expect("room", event="updated", timeout=15)
    assert renamed["room"]["tr"]["title"] == "Talleres"
    reason = "Please stay on the subject of the session"
    await host.send({"type": "kick", "room": "plenary", "user": "u_tim", "reason": reason, "ref": "k"})
    kicked = await sofia.expect("moderation", action="kick", timeout=15)
    assert kicked["reason"] == reason and "sesión" in kicked["reason_tr"]["text"]
    async with http_client(b.url) as http:
        rooms = {r["id"]: r for r in (await http.get("/api/rooms", params={"lang": "es"})).json()["rooms"]}
    assert rooms["plenary"]["tr"]["title"] == "Talleres"
