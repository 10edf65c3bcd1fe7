"""Roles and moderation: the role x action matrix, timed mutes, kicks, bans, deletes, room states."""

from __future__ import annotations

import asyncio
import time

import pytest

from rooms import Role
from tests.client import Client

OWN, OTHER = "plenary", "climate"
ROLES = ["host", "moderator", "room_moderator", "appointed", "delegate"]
ACTIONS = ["mute", "unmute", "kick", "ban", "unban", "delete"]


def allowed(role: str, room: str) -> bool:
    return role in ("host", "moderator") or (role in ("room_moderator", "appointed") and room == OWN)


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def actor_token(server, role: str) -> str:
    """A token for one of the matrix roles; `appointed` is a delegate a host made moderator of OWN."""
    if role == "host":
        return server.token("Hana", Role.HOST)
    if role == "moderator":
        return server.token("Mo", Role.MODERATOR)
    if role == "room_moderator":
        return server.token("Rita", Role.MODERATOR, rooms=(OWN,))
    token = server.token("Dora", Role.DELEGATE, user_id="u_dora")
    if role == "appointed":
        async with server.http() as http:
            response = await http.post(
                f"/api/rooms/{OWN}/moderators",
                json={"user": "u_dora"},
                headers=auth_header(server.token("Hana", Role.HOST)),
            )
            assert response.status_code == 201
    return token


async def connect(server, token: str, lang: str = "en") -> Client:
    client = await Client.connect(server.ws_url)
    await client.auth(token, lang)
    return client


# the matrix --------------------------------------------------------------------------
@pytest.mark.parametrize("room", [OWN, OTHER])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
async def test_role_action_matrix(server, role, action, room):
    host = await connect(server, server.token("Hana", Role.HOST, user_id="u_hana"))
    target = await connect(server, server.token("Tim", user_id="u_tim"))
    await target.join(room)
    await host.join(room)
    frame = {"type": action, "room": room, "user": "u_tim", "ref": "act"}
    if action == "unmute":
        await host.send({"type": "mute", "room": room, "user": "u_tim", "ref": "pre"})
        await host.expect("ack", ref="pre")
    if action == "unban":
        await host.send({"type": "ban", "room": room, "user": "u_tim", "ref": "pre"})
        await host.expect("ack", ref="pre")
    if action == "delete":
        frame = {"type": "delete", "room": room, "id": (await target.say(room, "spam"))["id"], "ref": "act"}
    actor = await connect(server, await actor_token(server, role))
    await actor.join(room)
    await actor.send(frame)
    if allowed(role, room):
        await actor.expect("ack", ref="act")
    else:
        await actor.expect_error("forbidden", ref="act")


@pytest.mark.parametrize("role, status", [(None, 401), ("delegate", 403), ("moderator", 403), ("host", None)])
async def test_host_api_matrix(server, role, status):
    headers = {} if role is None else auth_header(server.token("X", Role(role)))
    calls = [
        ("post", "/api/rooms", {"id": "side-event", "title": "Side event"}, 201),
        ("patch", f"/api/rooms/{OWN}", {"title": "Plenary hall"}, 200),
        ("post", f"/api/rooms/{OWN}/moderators", {"user": "u_someone"}, 201),
        ("delete", f"/api/rooms/{OWN}/moderators/u_someone", None, 200),
    ]
    async with server.http() as http:
        for method, path, body, ok in calls:
            kwargs = {"json": body} if body is not None else {}
            response = await http.request(method.upper(), path, headers=headers, **kwargs)
            assert response.status_code == (status or ok), (method, path, response.text)
            if status:
                assert response.json()["code"] == ("unauthorized" if status == 401 else "forbidden")


async def test_moderation_log_is_for_hosts_and_the_rooms_moderators(server):
    await connect(server, server.token("Tim", user_id="u_tim"))  # the event has seen Tim (never in the room)
    host = await connect(server, server.token("Hana", Role.HOST))
    await host.join(OWN)
    await host.send({"type": "mute", "room": OWN, "user": "u_tim", "seconds": 60, "reason": "shouting", "ref": "m"})
    await host.expect("ack", ref="m")
    async with server.http() as http:
        log = await http.get(
            f"/api/rooms/{OWN}/moderation", headers=auth_header(server.token("R", Role.MODERATOR, rooms=(OWN,)))
        )
        assert log.status_code == 200
        [entry] = log.json()["entries"]
        assert entry["action"] == "mute" and entry["user"] == "u_tim" and entry["by"]["name"] == "Hana"
        assert entry["reason"] == "shouting" and entry["until"] > entry["ts"]
        other = await http.get(
            f"/api/rooms/{OWN}/moderation", headers=auth_header(server.token("R", Role.MODERATOR, rooms=(OTHER,)))
        )
        assert other.status_code == 403
        assert (await http.get(f"/api/rooms/{OWN}/moderation")).status_code == 401


# each action's effect ------------------------------------------------------------------
async def test_mute_refuses_sends_and_shows_in_joined_after_reconnect(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    await mod.send({"type": "mute", "room": OWN, "user": "u_tim", "ref": "m"})
    await mod.expect("ack", ref="m")
    event = await tim.expect("moderation", action="mute")
    assert event["user"] == "u_tim" and event["by"]["name"] == "Mo" and "until" not in event
    await tim.send({"type": "send", "room": OWN, "text": "hello?", "ref": "s"})
    error = await tim.expect_error("muted", ref="s")
    assert "until a moderator unmutes you" in error["message"]
    await tim.close()
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    joined = await tim.join(OWN)
    assert "muted_until" in joined["you"] and joined["you"]["muted_until"] is None
    await mod.send({"type": "unmute", "room": OWN, "user": "u_tim", "ref": "u"})
    await mod.expect("ack", ref="u")
    await tim.expect("moderation", action="unmute")
    await tim.say(OWN, "thank you")


async def test_a_timed_mute_ends_by_itself(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    await mod.send({"type": "mute", "room": OWN, "user": "u_tim", "seconds": 1, "ref": "m"})
    await mod.expect("ack", ref="m")
    event = await tim.expect("moderation", action="mute")
    await tim.send({"type": "send", "room": OWN, "text": "too soon", "ref": "s"})
    await tim.expect_error("muted", ref="s")
    await asyncio.sleep(max(0.0, event["until"] / 1000 - time.time()) + 0.1)
    await tim.say(OWN, "back again")


async def test_kick_ends_the_membership_and_the_user_may_rejoin(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    await tim.join(OTHER)
    await mod.send({"type": "kick", "room": OWN, "user": "u_tim", "reason": "off topic", "ref": "k"})
    await mod.expect("ack", ref="k")
    assert (await tim.expect("left", room=OWN))["reason"] == "kicked"
    event = await mod.expect("moderation", action="kick")
    assert event["reason"] == "off topic"
    await mod.expect("presence", event="leave")
    await tim.join(OWN)  # a kick is not a ban


async def test_kicked_from_the_only_room_closes_4403(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    await mod.send({"type": "kick", "room": OWN, "user": "u_tim"})
    await tim.expect("left", reason="kicked")
    assert await tim.closed() == 4403


async def test_ban_removes_and_refuses_joins_until_unban(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    await tim.join(OTHER)
    await mod.send({"type": "ban", "room": OWN, "user": "u_tim", "ref": "b"})
    await mod.expect("ack", ref="b")
    assert (await tim.expect("left", room=OWN))["reason"] == "banned"
    await tim.send({"type": "join", "room": OWN, "ref": "j"})
    await tim.expect_error("banned", ref="j")
    await mod.send({"type": "unban", "room": OWN, "user": "u_tim", "ref": "u"})
    await mod.expect("ack", ref="u")
    await tim.join(OWN)


async def test_delete_reaches_every_member_and_history_no_longer_serves_the_text(server):
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    tim = await connect(server, server.token("Tim", user_id="u_tim"))
    await mod.join(OWN)
    await tim.join(OWN)
    message_id = (await tim.say(OWN, "something awful"))["id"]
    await mod.send({"type": "delete", "room": OWN, "id": message_id, "ref": "d"})
    await mod.expect("ack", ref="d")
    for client in (mod, tim):
        deleted = await client.expect("deleted")
        assert deleted["id"] == message_id and deleted["by"]["name"] == "Mo"
    fresh = await connect(server, server.token("Zoe"))
    joined = await fresh.join(OWN)
    [message] = joined["messages"]
    assert message["deleted"] is True and message["text"] == ""
    await mod.send({"type": "delete", "room": OWN, "id": "deadbeef.999999", "ref": "x"})
    await mod.expect_error("not_found", ref="x")


async def test_a_moderator_cannot_act_on_a_host(server):
    host = await connect(server, server.token("Hana", Role.HOST, user_id="u_hana"))
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    await host.join(OWN)
    await mod.join(OWN)
    await mod.send({"type": "kick", "room": OWN, "user": "u_hana", "ref": "k"})
    await mod.expect_error("forbidden", ref="k")


@pytest.mark.parametrize("action", ["mute", "ban"])
async def test_a_moderator_cannot_act_on_a_host_who_left_the_room(server, action):
    host = await connect(server, server.token("Hana", Role.HOST, user_id="u_hana"))
    await host.join(OWN)
    await host.send({"type": "leave", "room": OWN, "ref": "l"})
    await host.expect("left", room=OWN)
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    joined = await mod.join(OWN)
    assert "u_hana" not in [member["id"] for member in joined["members"]]
    await mod.send({"type": action, "room": OWN, "user": "u_hana", "ref": "m"})
    await mod.expect_error("forbidden", ref="m")
    await host.join(OWN)  # neither banned
    await host.say(OWN, "still here")  # nor muted


# room states ---------------------------------------------------------------------------
async def test_read_only_rooms_are_for_hosts_and_moderators(server):
    delegate = await connect(server, server.token("Dee"))
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    await delegate.join("announcements")
    await mod.join("announcements")
    await delegate.send({"type": "send", "room": "announcements", "text": "hi", "ref": "s"})
    error = await delegate.expect_error("forbidden", ref="s")
    assert "read-only" in error["message"]
    await mod.say("announcements", "Lunch is at noon")


async def test_rooms_say_which_roles_may_write_in_them(server):
    """`writers` in `joined.room` and in `room` updates: the server's rule, so clients need not repeat it."""
    host_token = server.token("Hana", Role.HOST)
    delegate = await connect(server, server.token("Dee"))
    assert (await delegate.join(OWN))["room"]["writers"] == ["host", "moderator", "delegate"]
    assert (await delegate.join("announcements"))["room"]["writers"] == ["host", "moderator"]
    async with server.http() as http:
        changed = await http.patch(f"/api/rooms/{OWN}", json={"state": "read_only"}, headers=auth_header(host_token))
        assert changed.json()["writers"] == ["host", "moderator"]
        event = await delegate.expect("room", event="updated")
        while event["room"]["id"] != OWN or event["room"]["state"] != "read_only":  # the lobby's counts come too
            event = await delegate.expect("room", event="updated")
        assert event["room"]["writers"] == ["host", "moderator"]
        await http.patch(f"/api/rooms/{OWN}", json={"state": "closed"}, headers=auth_header(host_token))
        assert (await delegate.expect("room", event="closed"))["room"]["writers"] == []
        listed = {room["id"]: room for room in (await http.get("/api/rooms")).json()["rooms"]}
        assert listed[OWN]["writers"] == [] and listed["announcements"]["writers"] == ["host", "moderator"]


async def test_opening_closing_and_renaming_rooms_reach_every_connection(server):
    host_token = server.token("Hana", Role.HOST)
    lobby = await connect(server, server.token("Lou"))
    member = await connect(server, server.token("Mel"))
    async with server.http() as http:
        opened = await http.post(
            "/api/rooms",
            json={"id": "side-event", "title": "Side event", "forum": "Extras"},
            headers=auth_header(host_token),
        )
        assert opened.status_code == 201
        event = await lobby.expect("room", event="opened")
        assert event["room"]["id"] == "side-event" and event["room"]["members"] == 0
        await member.join("side-event")
        renamed = await http.patch(
            "/api/rooms/side-event",
            json={"title": "Side event (room 4)", "slow_mode": 5},
            headers=auth_header(host_token),
        )
        assert renamed.json()["title"] == "Side event (room 4)"
        event = await lobby.expect("room", event="updated")
        assert event["room"]["slow_mode"] == 5 and event["room"]["members"] == 1
        closed = await http.patch("/api/rooms/side-event", json={"state": "closed"}, headers=auth_header(host_token))
        assert closed.status_code == 200
        await lobby.expect("room", event="closed")
        assert (await member.expect("left"))["reason"] == "closed"
        await member.send({"type": "join", "room": "side-event", "ref": "j"})
        await member.expect_error("room_closed", ref="j")
        rooms = (await http.get("/api/rooms")).json()["rooms"]
        side_event = next(r for r in rooms if r["id"] == "side-event")
        assert {"id": "side-event", "state": "closed"}.items() <= side_event.items()


async def test_slow_mode_limits_delegates_not_moderators(server):
    async with server.http() as http:
        response = await http.patch(
            f"/api/rooms/{OWN}", json={"slow_mode": 30}, headers=auth_header(server.token("Hana", Role.HOST))
        )
        assert response.status_code == 200
    delegate = await connect(server, server.token("Dee"))
    mod = await connect(server, server.token("Mo", Role.MODERATOR))
    await delegate.join(OWN)
    await mod.join(OWN)
    await delegate.say(OWN, "first")
    await delegate.send({"type": "send", "room": OWN, "text": "second", "ref": "s"})
    error = await delegate.expect_error("rate_limited", ref="s")
    assert "slow mode" in error["message"] and "wait" in error["message"]
    await mod.say(OWN, "one")
    await mod.say(OWN, "two")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"id": "Bad Id", "title": "x"}, "id"),
        ({"id": "ok", "title": ""}, "title"),
        ({"id": "ok", "title": "x", "state": "gone"}, "state"),
        ({"id": "ok", "title": "x", "slow_mode": -1}, "slow_mode"),
        ({"id": "ok", "title": "x", "colour": "red"}, "colour"),
    ],
)
async def test_bad_room_bodies_are_400_naming_the_field(server, body, field):
    async with server.http() as http:
        response = await http.post("/api/rooms", json=body, headers=auth_header(server.token("H", Role.HOST)))
    assert response.status_code == 400 and field in response.json()["message"]


# across nodes -------------------------------------------------------------------------------
async def test_moderation_takes_effect_on_the_other_node(make_server, backend_kind):
    if backend_kind != "redis":
        pytest.skip(f"the {backend_kind} backend is one node by design")
    one, two = await make_server(), await make_server()
    mod = await connect(one, one.token("Mo", Role.MODERATOR))
    tim = await connect(two, two.token("Tim", user_id="u_tim"))
    await tim.join(OWN)
    await tim.join(OTHER)
    await mod.join(OWN)
    await mod.send({"type": "mute", "room": OWN, "user": "u_tim", "ref": "m"})
    await mod.expect("ack", ref="m")
    await tim.expect("moderation", action="mute")
    await tim.send({"type": "send", "room": OWN, "text": "hi", "ref": "s"})
    await tim.expect_error("muted", ref="s")
    await mod.send({"type": "ban", "room": OWN, "user": "u_tim", "ref": "b"})
    await mod.expect("ack", ref="b")
    assert (await tim.expect("left", room=OWN))["reason"] == "banned"
    await tim.send({"type": "join", "room": OWN, "ref": "j"})
    await tim.expect_error("banned", ref="j")
