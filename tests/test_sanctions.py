"""Issue 20 against real servers (memory, sqlite, redis): the standing rule (a moderator never acts
on a host or another moderator, present or not, seen anywhere; a never-seen user is not_found and
nothing is announced), event-wide mutes and bans on every path, and who may delete which message."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from rooms import Role
from tests.client import Client

ROOM, OTHER = "plenary", "climate"


async def connect(server: Any, name: str, role: Role = Role.DELEGATE, **kwargs: Any) -> Client:
    client = await Client.connect(server.ws_url)
    await client.auth(server.token(name, role, user_id=f"u_{name.lower()}", **kwargs))
    return client


async def answer(client: Client, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    """Send a frame with a ref; its ack or error (other frames stay in the inbox for later expects)."""
    ref = f"r{len(client.seen)}-{frame['type']}"
    await client.send({**frame, "ref": ref})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for index, got in enumerate(client.inbox):
            if got.get("ref") == ref and got["type"] in ("ack", "error"):
                return client.inbox.pop(index)
        if loop.time() > deadline:
            raise AssertionError(f"no answer to {ref} within {timeout} s; saw {client.seen[-6:]}")
        with contextlib.suppress(TimeoutError):
            await client._receive(max(0.01, deadline - loop.time()))


def bearer(server: Any, name: str, role: Role = Role.DELEGATE) -> dict[str, str]:
    return {"authorization": f"Bearer {server.token(name, role, user_id=f'u_{name.lower()}')}"}


# the standing rule -----------------------------------------------------------------------------------
async def test_a_scoped_moderator_cannot_ban_a_global_moderator_who_never_joined_the_room(server):
    await connect(server, "Mo", Role.MODERATOR)  # connected, in no room
    rita = await connect(server, "Rita", Role.MODERATOR, rooms=(ROOM,))
    witness = await connect(server, "Wes")
    await rita.join(ROOM)
    await witness.join(ROOM)
    for kind in ("ban", "mute", "kick"):
        refused = await answer(rita, {"type": kind, "room": ROOM, "user": "u_mo"})
        assert refused["code"] == "forbidden", refused
    await witness.silent("moderation")
    mo = await connect(server, "Mo", Role.MODERATOR)
    await mo.join(ROOM)  # neither banned
    await mo.say(ROOM, "still here")  # nor muted


async def test_a_global_moderator_cannot_ban_event_wide_a_moderator_who_never_connected(server):
    mo = await connect(server, "Mo", Role.MODERATOR)
    refused = await answer(mo, {"type": "ban", "room": "*", "user": "u_mia"})
    assert refused["code"] == "not_found"  # never seen: nobody to ban, nothing stored
    mia = await connect(server, "Mia", Role.MODERATOR)  # not banned
    await mia.join(ROOM)
    await mia.close()
    refused = await answer(mo, {"type": "ban", "room": "*", "user": "u_mia"})
    assert refused["code"] == "forbidden"  # seen, away: still a moderator
    await mo.silent("moderation")
    await (await connect(server, "Mia", Role.MODERATOR)).join(OTHER)


@pytest.mark.parametrize("kind", ["kick", "mute", "ban"])
async def test_a_moderators_action_on_a_host_outside_the_room_is_forbidden_and_not_announced(server, kind):
    await connect(server, "Hana", Role.HOST)  # connected, never in ROOM
    mo = await connect(server, "Mo", Role.MODERATOR)
    witness = await connect(server, "Wes")
    await mo.join(ROOM)
    await witness.join(ROOM)
    assert (await answer(mo, {"type": kind, "room": ROOM, "user": "u_hana"}))["code"] == "forbidden"
    await witness.silent("moderation")
    async with server.http() as http:
        log = await http.get(f"/api/rooms/{ROOM}/moderation", headers=bearer(server, "Hana", Role.HOST))
    assert log.json()["entries"] == []


async def test_acting_on_a_user_the_event_never_saw_is_not_found_and_not_announced(server):
    host = await connect(server, "Hana", Role.HOST)
    witness = await connect(server, "Wes")
    await host.join(ROOM)
    await witness.join(ROOM)
    for frame in (
        {"type": "mute", "room": ROOM, "user": "u_ghost"},
        {"type": "ban", "room": "*", "user": "u_ghost"},
        {"type": "kick", "room": ROOM, "user": "u_wes2"},
    ):
        assert (await answer(host, frame))["code"] == "not_found"
    await connect(server, "Tim")  # seen, but not in the room: a kick has nobody to remove
    assert (await answer(host, {"type": "kick", "room": ROOM, "user": "u_tim"}))["code"] == "not_found"
    await witness.silent("moderation")


# event-wide sanctions --------------------------------------------------------------------------------
async def test_an_event_wide_mute_refuses_messages_requests_reports_and_conversations(make_server):
    server = await make_server(conversations={"policy": "open"})
    ada, bo = await connect(server, "Ada"), await connect(server, "Bo")
    mo = await connect(server, "Mo", Role.MODERATOR)
    async with server.http() as http:
        opened = await http.post("/api/conversations", json={"with": ["u_ada"]}, headers=bearer(server, "Bo"))
    room = opened.json()["room"]["id"]
    await ada.join(room)
    await bo.join(room)
    await bo.join(ROOM)
    await ada.join(ROOM)
    said = await bo.say(ROOM, "hello all")
    assert (await answer(mo, {"type": "mute", "room": "*", "user": "u_ada"}))["type"] == "ack"
    await ada.expect("moderation", room="*", action="mute")
    for frame in (
        {"type": "send", "room": ROOM, "text": "hi"},
        {"type": "send", "room": room, "text": "psst"},
        {"type": "request", "to": "u_mo", "text": "let me explain"},
        {"type": "report", "room": ROOM, "id": said["id"], "reason": "revenge"},
    ):
        refused = await answer(ada, frame)
        assert refused["code"] == "muted" and "at this event" in refused["message"], (frame, refused)
    async with server.http() as http:
        started = await http.post("/api/conversations", json={"with": ["u_mo"]}, headers=bearer(server, "Ada"))
        assert started.status_code == 403 and started.json()["code"] == "muted"
        assert (await http.get("/api/reports", headers=bearer(server, "Mo", Role.MODERATOR))).json()["reports"] == []
    await mo.silent("request")
    assert (await answer(mo, {"type": "unmute", "room": "*", "user": "u_ada"}))["type"] == "ack"
    assert (await answer(ada, {"type": "request", "to": "u_mo", "text": "thank you"}))["type"] == "ack"


async def test_an_event_wide_ban_closes_every_connection_and_refuses_new_ones(make_server):
    server = await make_server(conversations={"policy": "open"})
    in_rooms, in_none = await connect(server, "Ada"), await connect(server, "Ada")
    await in_rooms.join(ROOM)
    mo = await connect(server, "Mo", Role.MODERATOR)
    assert (await answer(mo, {"type": "ban", "room": "*", "user": "u_ada"}))["type"] == "ack"
    assert (await in_rooms.expect("left", room=ROOM))["reason"] == "banned"
    assert await in_rooms.closed() == 4403
    assert (await in_none.expect("moderation", room="*"))["action"] == "ban"
    assert await in_none.closed() == 4403  # in no room at all, closed all the same
    again = await Client.connect(server.ws_url)
    await again.send({"type": "auth", "token": server.token("Ada", user_id="u_ada"), "ref": "a"})
    refused = await again.expect_error("banned", ref="a")
    assert "banned from this event" in refused["message"]
    assert await again.closed() == 4403
    async with server.http() as http:  # nor a conversation over HTTP
        started = await http.post("/api/conversations", json={"with": ["u_mo"]}, headers=bearer(server, "Ada"))
        assert started.status_code == 403 and started.json()["code"] == "banned"
    assert (await answer(mo, {"type": "unban", "room": "*", "user": "u_ada"}))["type"] == "ack"
    await (await connect(server, "Ada")).join(ROOM)


# delete ------------------------------------------------------------------------------------------------
async def test_a_delegate_deletes_their_own_message_and_no_one_elses(server):
    dee, eve = await connect(server, "Dee"), await connect(server, "Eve")
    await dee.join(ROOM)
    await eve.join(ROOM)
    own, other = (await dee.say(ROOM, "typo")), (await eve.say(ROOM, "hello"))
    assert (await answer(dee, {"type": "delete", "room": ROOM, "id": own["id"]}))["type"] == "ack"
    deleted = await eve.expect("deleted", id=own["id"])
    assert deleted["by"] == {"id": "u_dee", "name": "Dee"}
    assert (await answer(dee, {"type": "delete", "room": ROOM, "id": other["id"]}))["code"] == "forbidden"
    joined = await (await connect(server, "Zoe")).join(ROOM)
    assert [(m.get("deleted", False), m["text"]) for m in joined["messages"]] == [(True, ""), (False, "hello")]


async def test_a_moderator_cannot_delete_a_hosts_message_a_host_deletes_a_moderators(server):
    hana = await connect(server, "Hana", Role.HOST)
    mo = await connect(server, "Mo", Role.MODERATOR)
    await hana.join(ROOM)
    await mo.join(ROOM)
    hosts = await hana.say(ROOM, "The agenda")
    await hana.close()  # away: the message is still a host's
    refused = await answer(mo, {"type": "delete", "room": ROOM, "id": hosts["id"]})
    assert refused["code"] == "forbidden"
    await mo.silent("deleted")
    mods = await mo.say(ROOM, "House rules")
    hana = await connect(server, "Hana", Role.HOST)
    await hana.join(ROOM)
    for message in (mods, hosts):
        assert (await answer(hana, {"type": "delete", "room": ROOM, "id": message["id"]}))["type"] == "ack"
        await mo.expect("deleted", id=message["id"])


async def test_a_socket_a_lost_ban_broadcast_left_open_is_refused_requests_reports_and_sends(make_server):
    """Pub/sub is at most once: should the ban's envelope never reach a node, the rules still hold
    there on every path (here the ban is written to the store only, as if its broadcast was lost)."""
    server = await make_server(conversations={"policy": "open"})
    ada, bo = await connect(server, "Ada"), await connect(server, "Bo")
    await ada.join(ROOM)
    await bo.join(ROOM)
    said = await bo.say(ROOM, "hello all")
    await server.node.stores.moderation.set_ban("*", "u_ada", True)
    for frame in (
        {"type": "request", "to": "u_bo", "text": "a 2,000-character sales pitch"},
        {"type": "report", "room": ROOM, "id": said["id"], "reason": "revenge"},
        {"type": "send", "room": ROOM, "text": "hi"},
        {"type": "join", "room": OTHER},
    ):
        refused = await answer(ada, frame)
        assert refused["code"] == "banned" and "banned from this event" in refused["message"], (frame, refused)
    await bo.silent("request")
