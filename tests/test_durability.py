"""The default node dies mid-traffic (kill -9) and starts again: nothing it acknowledged is lost.

A real `python -m chat.cli serve` process on the default backend (sqlite, its file in the data
directory), real clients, a real SIGKILL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import websockets

from rooms import Role
from tests.client import Client, http_client
from tests.nodes import NodeProcess

ROOM = "plenary"
SENDERS = 4
ACKED_BEFORE_KILL = 60  # acks collected (across senders) before the kill; sending goes on meanwhile


async def connect(node: NodeProcess, name: str, user_id: str, role: Role = Role.DELEGATE) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=user_id, role=role))
    return client


class Sender:
    """Sends numbered messages with cids, one after another, recording each ack."""

    def __init__(self, client: Client, user_id: str) -> None:
        self.client, self.user_id = client, user_id
        self.acked: dict[str, str] = {}  # cid -> message id
        self.in_flight: str | None = None

    async def run(self) -> None:
        n = 0
        try:
            while True:
                cid = f"{self.user_id}-{n}"
                self.in_flight = cid
                ack = await self.client.say(ROOM, f"{self.user_id} says {n}", cid=cid)
                self.acked[cid] = ack["id"]
                self.in_flight = None
                n += 1
        except (websockets.ConnectionClosed, AssertionError, OSError):
            return  # the node died under us


async def host_sets_up(node: NodeProcess) -> None:
    """A host opens a room, makes a room read-only and appoints a moderator; a moderator mutes and bans."""
    headers = {"Authorization": f"Bearer {node.token('Hana', user_id='u_hana', role=Role.HOST)}"}
    async with http_client(node.url, headers=headers) as http:
        response = await http.post("/api/rooms", json={"id": "side-event", "title": "Side event", "forum": "Extra"})
        assert response.status_code == 201, response.text
        assert (await http.patch("/api/rooms/climate", json={"state": "read_only"})).status_code == 200
        response = await http.post("/api/rooms/side-event/moderators", json={"user": "u_mira"})
        assert response.status_code == 201, response.text
    for name, user_id in (("Tim", "u_tim"), ("Eve", "u_eve")):  # the event knows them: they signed in
        await (await connect(node, name, user_id)).close()
    host = await connect(node, "Hana", "u_hana", Role.HOST)
    await host.join(ROOM)
    for action in ("mute", "ban"):
        target = "u_tim" if action == "mute" else "u_eve"
        await host.send({"type": action, "room": ROOM, "user": target, "ref": action})
        await host.expect("ack", ref=action)
    await host.close()


async def test_kill_9_mid_traffic_loses_nothing_that_was_acked(tmp_path: Path):
    node = NodeProcess(
        "solo",
        tmp_path,
        backend="sqlite",
        env={
            "BABELROOM_LIMITS_RATE_PER_SECOND": "10000",
            "BABELROOM_LIMITS_RATE_BURST": "10000",
            "BABELROOM_TRANSLATION_ENABLED": "false",
        },
    )
    await asyncio.to_thread(node.start)
    try:
        await host_sets_up(node)
        reader = await connect(node, "Rita", "u_rita")
        await reader.join(ROOM)
        senders = []
        for i in range(SENDERS):
            client = await connect(node, f"S{i}", f"u_s{i}")
            await client.join(ROOM)
            senders.append(Sender(client, f"u_s{i}"))
        tasks = [asyncio.create_task(sender.run()) for sender in senders]
        while sum(len(s.acked) for s in senders) < ACKED_BEFORE_KILL:
            await asyncio.sleep(0.01)
        # the reader has seen some messages; it will rejoin with `since` its newest one
        seen = await reader.expect("message", room=ROOM)
        node.kill()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
        acked = {cid: message_id for sender in senders for cid, message_id in sender.acked.items()}
        assert len(acked) >= ACKED_BEFORE_KILL
        assert any(sender.in_flight for sender in senders), "the kill came in the middle of traffic"

        await asyncio.to_thread(node.start)
        assert (node.data_file()).exists()
        check = await connect(node, "Rita", "u_rita")
        # every acked message is in history, with the id its ack gave
        history = await check.join(ROOM, history=200)
        assert "recovered" not in history
        stored = {m["id"]: m for m in history["messages"]}
        for cid, message_id in acked.items():
            user_id, _, n = cid.rpartition("-")
            assert message_id in stored, f"acked {cid} ({message_id}) is not in history after kill -9"
            assert stored[message_id]["text"] == f"{user_id} says {n}"
        # `since` a message seen before the crash is answered from the same history
        await check.send({"type": "leave", "room": ROOM})
        await check.expect("left", room=ROOM)
        rejoined = await check.join(ROOM, since=seen["id"], history=200)
        assert rejoined["recovered"] is True
        replayed = [m["id"] for m in rejoined["messages"]]
        assert replayed == sorted(replayed, key=_position) and seen["id"] not in replayed
        assert {i for i in acked.values() if _position(i) > _position(seen["id"])} <= set(replayed)
        assert set(replayed) <= set(stored)
        # a retry of what was in flight at the kill is stored at most once
        for sender in senders:
            if sender.in_flight:
                client = await connect(node, "S", sender.user_id)
                await client.join(ROOM)
                first = await client.say(ROOM, "retry", cid=sender.in_flight)
                again = await client.say(ROOM, "retry", cid=sender.in_flight)
                assert first["id"] == again["id"]
                await client.close()
        await assert_rooms_and_moderation_survived(node)
        await check.close()
        await reader.close()
    finally:
        node.stop()


def _position(message_id: str) -> int:
    return int(message_id.partition(".")[2])


async def assert_rooms_and_moderation_survived(node: NodeProcess) -> None:
    async with http_client(node.url) as http:
        rooms = {room["id"]: room for room in (await http.get("/api/rooms")).json()["rooms"]}
    assert rooms["side-event"]["title"] == "Side event" and rooms["side-event"]["forum"] == "Extra"
    assert rooms["climate"]["state"] == "read_only"
    mira = await connect(node, "Mira", "u_mira")
    assert (await mira.join("side-event"))["you"]["role"] == "moderator"
    tim = await connect(node, "Tim", "u_tim")
    joined = await tim.join(ROOM)
    assert "muted_until" in joined["you"]
    await tim.send({"type": "send", "room": ROOM, "text": "let me talk", "ref": "t"})
    await tim.expect_error("muted", ref="t")
    eve = await connect(node, "Eve", "u_eve")
    await eve.send({"type": "join", "room": ROOM, "ref": "e"})
    await eve.expect_error("banned", ref="e")
    for client in (mira, tim, eve):
        await client.close()
