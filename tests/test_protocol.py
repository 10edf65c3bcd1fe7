"""Protocol v1 over a real socket: every frame type, every error code, the delivery rules."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.typing import Origin

from chat.tokens import TokenSigner
from rooms import Role
from tests.client import Client
from tests.conftest import WITH_REDIS_CLUSTER, checked_backend

pytestmark = pytest.mark.usefixtures("server")


@pytest.fixture(params=WITH_REDIS_CLUSTER)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The protocol on every backend and on a local 3-master Redis Cluster (issue 28)."""
    return checked_backend(request.param)


# connecting -------------------------------------------------------------------------
async def test_auth_answers_ready_with_user_lang_languages_and_node(server):
    client = await Client.connect(server.ws_url)
    ready = await client.auth(server.token("Ada", lang="de"))
    assert ready["user"]["name"] == "Ada" and ready["user"]["role"] == "delegate"
    assert ready["lang"] == "de"
    assert isinstance(ready["languages"], list)
    assert ready["node"] == server.node.id


async def test_auth_lang_overrides_the_token_language(server):
    client = await Client.connect(server.ws_url)
    ready = await client.auth(server.token("Ada", lang="de"), lang="es")
    assert ready["lang"] == "es"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        TokenSigner("another-secret-of-thirty-two-bytes").issue(name="Eve", role=Role.HOST, lang="en", ttl=60),
    ],
)
async def test_bad_or_forged_token_is_unauthorized_and_closed_4401(server, token):
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": token, "ref": "a1"})
    await client.expect_error("unauthorized", ref="a1")
    assert await client.closed() == 4401


async def test_expired_token_is_unauthorized(server):
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": server.token("Ada", ttl=-120)})
    error = await client.expect_error("unauthorized")
    assert "expired" in error["message"]
    assert await client.closed() == 4401


async def test_no_auth_within_the_timeout_closes_4401(make_server):
    server = await make_server(auth={"auth_timeout": 0.3})
    client = await Client.connect(server.ws_url)
    await client.expect_error("unauthorized")
    assert await client.closed() == 4401


async def test_frames_before_auth_are_refused_but_the_socket_stays(server):
    client = await Client.connect(server.ws_url)
    await client.send({"type": "join", "room": "plenary", "ref": "j"})
    await client.expect_error("unauthorized", ref="j")
    await client.auth(server.token())
    await client.join("plenary")


# bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"no": "type"}', "bad_frame"),
        ('{"type": "fly"}', "unknown_type"),
        ('{"type": "join"}', "bad_frame"),
        ('{"type": "join", "room": 5}', "bad_frame"),
        ('{"type": "join", "room": "plenary", "history": true}', "bad_frame"),
        ('{"type": "send", "room": "plenary", "text": ["x"]}', "bad_frame"),
        ('{"type": "ping", "ref": 12}', "bad_frame"),
    ],
)
async def test_bad_frames_get_an_error_and_the_session_goes_on(server, raw, code):
    client = await server.client()
    await client.send(raw)
    await client.expect_error(code)
    await client.send({"type": "ping"})
    await client.expect("pong")


async def test_error_echoes_the_ref_of_the_bad_frame(server):
    client = await server.client()
    await client.send({"type": "send", "room": "plenary", "ref": "x-1"})
    await client.expect_error("bad_frame", ref="x-1")


async def test_binary_frames_are_bad_frames(server):
    client = await server.client()
    await client.ws.send(b"\x00\x01")
    await client.expect_error("bad_frame")


async def test_a_client_that_keeps_sending_bad_frames_is_closed_1008(make_server):
    server = await make_server(limits={"bad_frames": 3})
    client = await server.client()
    for _ in range(3):
        await client.send("{")
    assert await client.closed() == 1008


async def test_a_frame_over_the_size_limit_is_closed_1009(server):
    client = await server.client()
    await client.join("plenary")
    await client.send({"type": "send", "room": "plenary", "text": "x" * 17000})
    assert await client.closed() == 1009


async def test_multibyte_text_is_measured_in_bytes_for_the_frame_limit(server):
    client = await server.client()
    await client.send({"type": "send", "room": "plenary", "text": "€" * 6000})  # 18 kB of UTF-8
    assert await client.closed() == 1009


# rooms -------------------------------------------------------------------------------
async def test_join_gives_room_members_history_and_my_role(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    await ada.say("plenary", "hello")
    bob = await server.client("Bob", lang="de")
    joined = await bob.join("plenary")
    assert joined["room"]["id"] == "plenary" and joined["room"]["state"] == "open"
    assert {m["name"] for m in joined["members"]} == {"Ada", "Bob"}
    assert {m["lang"] for m in joined["members"]} == {"en", "de"}
    assert [m["text"] for m in joined["messages"]] == ["hello"]
    assert joined["you"] == {"role": "delegate"}


async def test_join_unknown_room_is_not_found(server):
    client = await server.client()
    await client.send({"type": "join", "room": "nowhere", "ref": "j"})
    await client.expect_error("not_found", ref="j")


async def test_join_history_count_is_bounded(server):
    client = await server.client()
    await client.send({"type": "join", "room": "plenary", "history": 201})
    await client.expect_error("bad_frame")
    joined = await client.join("plenary", history=0)
    assert joined["messages"] == []


async def test_presence_join_and_leave_reach_other_members(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    bob = await server.client("Bob", lang="fr")
    await bob.join("plenary")
    presence = await ada.expect("presence", event="join")
    assert presence["user"]["name"] == "Bob" and presence["user"]["lang"] == "fr"
    await bob.send({"type": "leave", "room": "plenary"})
    left = await bob.expect("left")
    assert left == {"type": "left", "room": "plenary", "reason": "left"}
    presence = await ada.expect("presence", event="leave")
    assert presence["user"]["name"] == "Bob"


async def test_presence_carries_the_role_so_badges_need_no_rejoin(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    hanna = await server.client("Hanna", role=Role.HOST)
    await hanna.join("plenary")
    presence = await ada.expect("presence", event="join")
    assert presence["user"]["role"] == "host"


async def test_closing_the_socket_is_a_presence_leave(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    bob = await server.client("Bob")
    await bob.join("plenary")
    await bob.close()
    await ada.expect("presence", event="leave")


async def test_leave_a_room_not_joined_is_not_joined(server):
    client = await server.client()
    await client.send({"type": "leave", "room": "plenary"})
    await client.expect_error("not_joined")


# messages ----------------------------------------------------------------------------
async def test_send_is_acked_and_delivered_to_every_member(server):
    ada = await server.client("Ada")
    bob = await server.client("Bob")
    await ada.join("plenary")
    await bob.join("plenary")
    ack = await ada.say("plenary", "Good morning everyone", cid="c-1", ref="s1")
    assert ack["ref"] == "s1" and ack["cid"] == "c-1" and isinstance(ack["id"], str)
    for client in (ada, bob):
        message = await client.expect("message")
        assert message["id"] == ack["id"] and message["room"] == "plenary"
        assert message["text"] == "Good morning everyone" and message["user"]["name"] == "Ada"
        assert message["lang"] == "en" and isinstance(message["ts"], int)


async def test_send_to_a_room_not_joined_is_not_joined(server):
    client = await server.client()
    await client.send({"type": "send", "room": "plenary", "text": "hi", "ref": "s"})
    await client.expect_error("not_joined", ref="s")


async def test_text_over_the_limit_is_too_large_and_empty_text_is_bad(server):
    client = await server.client()
    await client.join("plenary")
    await client.send({"type": "send", "room": "plenary", "text": "x" * 2001})
    await client.expect_error("too_large")
    await client.send({"type": "send", "room": "plenary", "text": "   "})
    await client.expect_error("bad_frame")
    await client.say("plenary", "x" * 2000)


async def test_a_retry_with_the_same_cid_is_stored_once(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    first = await ada.say("plenary", "only once", cid="same")
    retry = await ada.say("plenary", "only once", cid="same")
    assert retry["id"] == first["id"]
    await ada.expect("message", id=first["id"])
    await ada.silent("message")
    await ada.send({"type": "history", "room": "plenary"})
    history = await ada.expect("history")
    assert [m["text"] for m in history["messages"]] == ["only once"]


async def test_same_cid_from_another_user_is_another_message(server):
    ada = await server.client("Ada")
    bob = await server.client("Bob")
    await ada.join("plenary")
    await bob.join("plenary")
    assert (await ada.say("plenary", "a", cid="c"))["id"] != (await bob.say("plenary", "b", cid="c"))["id"]


async def test_every_member_sees_one_order_with_concurrent_senders(server):
    ada, bob, cy = [await server.client(name) for name in ("Ada", "Bob", "Cy")]
    for client in (ada, bob, cy):
        await client.join("plenary")

    async def burst(client, name):
        for i in range(10):
            await client.send({"type": "send", "room": "plenary", "text": f"{name} {i}"})
            await asyncio.sleep(0)

    await asyncio.gather(burst(ada, "ada"), burst(bob, "bob"))
    orders = []
    for client in (ada, bob, cy):
        orders.append([(await client.expect("message"))["id"] for _ in range(20)])
    assert orders[0] == orders[1] == orders[2]
    await cy.send({"type": "history", "room": "plenary", "limit": 20})
    history = await cy.expect("history")
    assert [m["id"] for m in history["messages"]] == orders[0]


# recovery ----------------------------------------------------------------------------
async def test_join_with_since_replays_exactly_the_gap_then_live(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    seen = await ada.say("plenary", "one")
    await ada.close()
    bob = await server.client("Bob")
    await bob.join("plenary")
    gap = [(await bob.say("plenary", text))["id"] for text in ("two", "three")]
    ada = await server.client("Ada")
    joined = await ada.join("plenary", since=seen["id"])
    assert joined["recovered"] is True
    assert [m["id"] for m in joined["messages"]] == gap
    live = await bob.say("plenary", "four")
    assert (await ada.expect("message"))["id"] == live["id"]
    await ada.silent("message")


async def test_since_from_a_lost_history_is_not_recovered(server):
    client = await server.client()
    await client.join("plenary")
    await client.say("plenary", "now")
    joined = await server.client("Bob")
    joined = await joined.join("plenary", since="deadbeef.7")
    assert joined["recovered"] is False
    assert [m["text"] for m in joined["messages"]] == ["now"]


async def test_since_older_than_the_kept_history_is_not_recovered(make_server):
    server = await make_server(backend={"history_max": 3})
    ada = await server.client()
    await ada.join("plenary")
    first = await ada.say("plenary", "m0")
    for i in range(1, 5):
        await ada.say("plenary", f"m{i}")
    bob = await server.client("Bob")
    joined = await bob.join("plenary", since=first["id"])
    assert joined["recovered"] is False
    assert [m["text"] for m in joined["messages"]] == ["m2", "m3", "m4"]


async def test_history_pages_backwards_with_before_and_limit(server):
    client = await server.client()
    await client.join("plenary")
    ids = [(await client.say("plenary", f"m{i}"))["id"] for i in range(6)]
    await client.send({"type": "history", "room": "plenary", "before": ids[4], "limit": 2, "ref": "h"})
    page = await client.expect("history")
    assert page["room"] == "plenary" and page.get("ref") == "h"
    assert [m["id"] for m in page["messages"]] == ids[2:4]
    await client.send({"type": "history", "room": "plenary", "limit": 500})
    await client.expect_error("bad_frame")


async def test_history_needs_membership(server):
    client = await server.client()
    await client.send({"type": "history", "room": "plenary"})
    await client.expect_error("not_joined")


# language, ping -----------------------------------------------------------------------
async def test_lang_answers_ready_again_and_updates_presence(server):
    ada = await server.client("Ada")
    bob = await server.client("Bob")
    await ada.join("plenary")
    await bob.join("plenary")
    await bob.send({"type": "lang", "lang": "pt-BR"})
    ready = await bob.expect("ready")
    assert ready["lang"] == "pt"
    update = await ada.expect("presence", event="update")
    assert update["user"]["lang"] == "pt"


async def test_unknown_language_is_refused(server):
    client = await server.client()
    await client.send({"type": "lang", "lang": "xx"})
    error = await client.expect_error("bad_frame")
    assert "choose one of" in error["message"]


async def test_ping_pong(server):
    client = await server.client()
    await client.send({"type": "ping", "ref": "p"})
    assert await client.expect("pong") == {"type": "pong", "ref": "p"}


# limits ------------------------------------------------------------------------------
async def test_rate_limit_answers_every_send(make_server):
    server = await make_server(limits={"rate_per_second": 0.01, "rate_burst": 3})
    client = await server.client()
    await client.join("plenary")
    for i in range(5):
        await client.send({"type": "send", "room": "plenary", "text": f"m{i}", "ref": f"s{i}"})
    answers: dict[str, str] = {}
    while len(answers) < 5:
        frame = await client.next()
        if frame["type"] in ("ack", "error"):
            answers[frame["ref"]] = frame.get("code", "ack")
    assert list(answers.values()) == ["ack", "ack", "ack", "rate_limited", "rate_limited"]


async def test_a_reader_too_slow_to_keep_up_is_closed_1013(make_server):
    server = await make_server(limits={"send_queue": 8, "rate_per_second": 100000.0, "rate_burst": 100000})
    slow = await Client.connect(server.ws_url, max_queue=1)
    await slow.auth(server.token("Slow"))
    await slow.join("plenary")
    writer = await server.client("Writer")
    await writer.join("plenary")
    await writer.close()  # only the slow reader is left; the writer's own socket is not what we test
    node = server.node
    text = "y" * 2000
    appended = 0
    session = next(iter(node.hub.local_members("plenary")))
    while not session._closed and appended < 20000:
        await node.stores.broker.append_message(
            "plenary", user={"id": "w", "name": "W"}, text=text, lang="en", cid=None
        )
        appended += 1
        if appended % 50 == 0:
            await asyncio.sleep(0)
    assert session._closed, "the slow reader was never closed"
    assert await slow.closed(timeout=20) == 1013


# moderation frames are answered ---------------------------------------------------------
@pytest.mark.parametrize(
    "frame",
    [
        {"type": "mute", "room": "plenary", "user": "u_x"},
        {"type": "unmute", "room": "plenary", "user": "u_x"},
        {"type": "kick", "room": "plenary", "user": "u_x"},
        {"type": "ban", "room": "plenary", "user": "u_x"},
        {"type": "unban", "room": "plenary", "user": "u_x"},
        {"type": "delete", "room": "plenary", "id": "deadbeef.1"},
    ],
)
async def test_delegates_may_not_moderate(server, frame):
    client = await server.client()
    await client.join("plenary")
    await client.send({**frame, "ref": "m"})
    await client.expect_error("forbidden", ref="m")


# origin --------------------------------------------------------------------------------
async def test_a_foreign_origin_is_refused_and_the_own_host_accepted(server):
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url, origin=Origin("http://evil.example"))
    ok = await websockets.connect(server.ws_url, origin=Origin(f"http://127.0.0.1:{server.port}"))
    await ok.send(json.dumps({"type": "ping"}))
    assert json.loads(await ok.recv())["type"] == "pong"
    await ok.close()


async def test_the_origin_allow_list_is_configurable(make_server):
    server = await make_server(server={"allowed_origins": ("https://forum.example",)})
    ok = await websockets.connect(server.ws_url, origin=Origin("https://forum.example"))
    await ok.close()
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url, origin=Origin(f"http://127.0.0.1:{server.port}"))


# lobbies ---------------------------------------------------------------------------------
async def test_lobbies_hear_member_counts_change(make_server):
    server = await make_server(server={"lobby_interval": 0.05})
    lobby = await server.client("Lou")
    bob = await server.client("Bob")
    await bob.join("climate")
    update = await lobby.expect("room", event="updated")
    assert update["room"]["id"] == "climate" and update["room"]["members"] == 1
    await bob.send({"type": "leave", "room": "climate"})
    update = await lobby.expect("room", event="updated")
    assert update["room"]["members"] == 0
