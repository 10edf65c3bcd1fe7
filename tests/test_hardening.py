"""Hostile input is answered, no room breaks, slow readers are really closed (issue 9).

One regression test (or a few) per case of the adversarial report, on both backends; each
numbered like the issue.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import pytest
import websockets
from websockets.typing import Origin

from chat.backend import BackendUnavailable
from chat.backend.ids import is_message_id
from chat.backend.memory.broker import MemoryBroker
from chat.frames import encode
from chat.wire import text_frame
from rooms import Role
from tests.client import Client
from tests.log_recorder import LogRecorder
from tests.nodes import RedisServer
from tests.raw_websocket import RawClient

LONE = "\\ud800"  # a lone surrogate as JSON writes it: valid JSON, not Unicode text


@pytest.fixture
def node_log():
    recorder = LogRecorder().install()
    yield recorder
    recorder.uninstall()


async def members_of(server, room: str) -> set[str]:
    return {member.name for member in await server.node.stores.presence.members(room)}


# 1. one message must never break a room --------------------------------------------------
@pytest.mark.parametrize(
    "raw, field",
    [
        ('{"type":"send","room":"plenary","text":"hi %s","ref":"s1"}', "text"),
        ('{"type":"send","room":"plenary","text":"hi","cid":"c%s","ref":"s1"}', "cid"),
        ('{"type":"kick","room":"plenary","user":"u_x","reason":"bad %s","ref":"s1"}', "reason"),
        ('{"type":"mute","room":"plenary","user":"u_%s","ref":"s1"}', "user"),
        ('{"type":"join","room":"plen%s","ref":"s1"}', "room"),
        ('{"type":"lang","lang":"d%s","ref":"s1"}', "lang"),
        ('{"type":"send","room":"plenary","text":"hi","ref":"s1","extra":["%s"]}', "extra[0]"),
    ],
)
async def test_1_lone_surrogates_in_any_field_are_bad_frame_naming_it(server, node_log, raw, field):
    ada = await server.client("Ada", role=Role.HOST)
    await ada.join("plenary")
    bob = await server.client("Bob")
    await bob.join("plenary")
    await ada.send(raw % LONE)
    error = await ada.expect_error("bad_frame", ref="s1")
    assert f'"{field}"' in error["message"]
    # nothing was stored or broadcast, and every socket still works
    await bob.silent("message")
    await ada.say("plenary", "still here")
    await bob.expect("message", text="still here")
    carl = await server.client("Carl")
    joined = await carl.join("plenary", history=50)
    assert [m["text"] for m in joined["messages"]] == ["still here"]
    assert node_log.tracebacks() == []


async def test_1_a_bad_ref_is_refused_without_echo_and_the_socket_lives(server):
    ada = await server.client("Ada")
    await ada.send('{"type":"ping","ref":"r' + LONE + '"}')
    error = await ada.expect_error("bad_frame")
    assert "ref" not in error and '"ref"' in error["message"]
    await ada.send({"type": "ping", "ref": "ok"})
    await ada.expect("pong", ref="ok")


async def test_1_a_lone_surrogate_in_the_auth_token_is_refused(server):
    client = await Client.connect(server.ws_url)
    await client.send('{"type":"auth","token":"a' + LONE + '.b","ref":"a1"}')
    await client.expect_error("bad_frame", ref="a1")
    await client.auth(server.token("Ada"))


async def test_1_a_frame_that_cannot_be_sent_closes_that_socket_only(server, node_log):
    ada = await server.client("Ada")
    await ada.join("plenary")
    bob = await server.client("Bob")
    await bob.join("plenary")
    session = next(s for s in server.node.hub.local_members("plenary") if s.identity.name == "Ada")
    session.push_frame({"type": "message", "text": object()})  # a frame that cannot be encoded
    assert await ada.closed() == 1011
    await bob.send({"type": "ping", "ref": "p"})
    await bob.expect("pong", ref="p")
    assert "Ada" not in await members_of(server, "plenary")
    assert [line for line in node_log.tracebacks()] == []
    assert any("could not send a frame" in r.getMessage() for r in node_log.records)


def test_1_encode_always_gives_utf8_text():
    text = encode({"type": "message", "text": "hi \ud800 é"})
    assert text.encode("utf-8")
    assert json.loads(text)["text"] == "hi \ud800 é"
    assert encode({"text": "é"}) == '{"text":"é"}'  # readable UTF-8 when it can be


# 2. lone surrogates over HTTP ------------------------------------------------------------
async def test_2_session_name_with_a_lone_surrogate_is_400(server, node_log):
    async with server.http() as http:
        answer = await http.post(
            "/api/session",
            content='{"name":"Ada ' + LONE + '","lang":"en"}',
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400 and '"name"' in answer.json()["message"]
    assert node_log.tracebacks() == []


async def test_2_room_title_with_a_lone_surrogate_is_400_and_nothing_is_saved(server, node_log):
    host = {"authorization": f"Bearer {server.token('Hal', role=Role.HOST)}", "content-type": "application/json"}
    watcher = await server.client("Wat")
    async with server.http() as http:
        for method, path, body in (
            ("PATCH", "/api/rooms/plenary", '{"title":"T %s"}'),
            ("POST", "/api/rooms", '{"id":"new","title":"T %s"}'),
            ("POST", "/api/rooms/plenary/moderators", '{"user":"u%s"}'),
        ):
            answer = await http.request(method, path, content=body % LONE, headers=host)
            assert answer.status_code == 400, (path, answer.text)
        rooms = await http.get("/api/rooms")
        assert rooms.status_code == 200
        assert "new" not in {room["id"] for room in rooms.json()["rooms"]}
        assert next(r for r in rooms.json()["rooms"] if r["id"] == "plenary")["title"] == "Plenary"
    await watcher.send({"type": "ping", "ref": "p"})
    await watcher.expect("pong", ref="p")
    assert node_log.tracebacks() == []


async def test_2_an_oversized_body_is_413_before_it_is_read(server):
    async with server.http() as http:
        answer = await http.post(
            "/api/session", content=b"{" + b" " * 20000 + b"}", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413


# 4. non-ASCII and garbage tokens --------------------------------------------------------
@pytest.mark.parametrize("token", ["é…", "abc.dé", "a" * 3000, "a.b c", "\u202e.x", "..", "a.b\n"])
async def test_4_non_ascii_or_garbage_tokens_are_unauthorized_4401_without_traceback(server, node_log, token):
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": token, "ref": "a"})
    await client.expect_error("unauthorized", ref="a")
    assert await client.closed() == 4401
    async with server.http() as http:
        answer = await http.get(
            "/api/rooms/plenary/moderation", headers=[(b"authorization", ("Bearer " + token.strip()).encode("utf-8"))]
        )
        assert answer.status_code == 401
    assert node_log.tracebacks() == []


# 5. a failed re-join keeps the member ----------------------------------------------------
async def test_5_a_rejoin_with_a_malformed_since_keeps_the_membership(server, node_log):
    ada = await server.client("Ada")
    await ada.join("plenary")
    bob = await server.client("Bob")
    await bob.join("plenary")
    await ada.send({"type": "join", "room": "plenary", "since": "zz", "ref": "j"})
    await ada.expect_error("bad_frame", ref="j")
    await bob.silent("presence")
    assert "Ada" in await members_of(server, "plenary")
    await ada.say("plenary", "still a member")
    await bob.expect("message", text="still a member")
    await bob.say("plenary", "and I still hear you")
    await ada.expect("message", text="and I still hear you")
    assert node_log.tracebacks() == []


async def test_5_a_first_join_that_fails_leaves_no_membership(server):
    ada = await server.client("Ada")
    await ada.send({"type": "join", "room": "plenary", "history": 10**6, "ref": "j"})
    await ada.expect_error("bad_frame", ref="j")
    assert "Ada" not in await members_of(server, "plenary")
    await ada.send({"type": "send", "room": "plenary", "text": "x", "ref": "s"})
    await ada.expect_error("not_joined", ref="s")


# 6. ids of any other shape --------------------------------------------------------------
ODD_IDS = [
    "{epoch}.²",
    "{epoch}.99999999999999999999-0",
    "{epoch}.١-١",
    "{epoch}.١",
    "{epoch}.-1",
    "{epoch}.1.1",
    "{epoch}.01",
    "{epoch}.1 ",
    " {epoch}.1",
    "{epoch}",
    ".1",
    "x" * 60,
    "{epoch}.1-",
    "{epoch}.18446744073709551616-0",
]


@pytest.mark.parametrize("template", ODD_IDS)
async def test_6_odd_ids_in_since_before_and_delete_are_bad_frame(server, node_log, template):
    host = await server.client("Hal", role=Role.HOST)
    joined = await host.join("plenary")
    message_id = (await host.say("plenary", "hello"))["id"]
    odd = template.format(epoch=message_id.split(".")[0])
    assert not is_message_id(odd)
    for frame in (
        {"type": "join", "room": "plenary", "since": odd},
        {"type": "history", "room": "plenary", "before": odd},
        {"type": "delete", "room": "plenary", "id": odd},
    ):
        await host.send({**frame, "ref": "odd"})
        error = await host.expect_error("bad_frame", ref="odd")
        assert "message id" in error["message"]
    assert joined["you"]["role"] == "host"
    history = await host.join("plenary", since=message_id)
    assert history["recovered"] is True
    assert node_log.tracebacks() == []


async def test_6_a_well_formed_unknown_id_is_not_recovered_not_an_error(server):
    ada = await server.client("Ada")
    joined = await ada.join("plenary", since="deadbeef.99999999999999-0")
    assert joined["recovered"] is False
    joined = await ada.join("plenary", since="deadbeef.7")
    assert joined["recovered"] is False


# 7. mute has an upper bound ----------------------------------------------------------------
@pytest.mark.parametrize("seconds", [10**400, 30 * 86400 + 1, 0, -5, 1.5, "60"])
async def test_7_mute_seconds_out_of_range_is_bad_frame(server, seconds):
    mod = await server.client("Mo", role=Role.MODERATOR)
    await mod.join("plenary")
    raw = '{"type":"mute","room":"plenary","user":"u_x","seconds":' + json.dumps(seconds) + ',"ref":"m"}'
    await mod.send(raw)
    error = await mod.expect_error("bad_frame", ref="m")
    assert "seconds" in error["message"]


async def test_7_the_longest_mute_is_30_days_and_the_target_is_muted(server, node_log):
    mod = await server.client("Mo", role=Role.MODERATOR)
    await mod.join("plenary")
    tim = await server.client("Tim")
    await tim.join("plenary")
    target = tim.seen[0]["user"]["id"]
    await mod.send({"type": "mute", "room": "plenary", "user": target, "seconds": 30 * 86400, "ref": "m"})
    await mod.expect("ack", ref="m")
    await tim.send({"type": "send", "room": "plenary", "text": "hi", "ref": "s"})
    error = await tim.expect_error("muted", ref="s")
    assert "2592000 more seconds" in error["message"] or "259199" in error["message"]
    assert node_log.tracebacks() == []


# 3. slow readers are really closed --------------------------------------------------------
async def test_3_a_slow_reader_is_closed_1013_or_dropped_and_leaves_at_once(make_server, node_log):
    """15 KB frames: the queue overflows while the socket still takes a close frame (1013). 120 KB
    frames: the kernel's send buffer is at its largest before the queue overflows, so not even the
    close can be written: the transport is dropped. Either way the reader leaves the room at once."""
    server = await make_server(limits={"send_queue": 64})
    slow = await RawClient.connect(server.port, rcvbuf=4096)
    await slow.send_json({"type": "auth", "token": server.token("Slow")})
    await slow.read_json("ready")
    await slow.send_json({"type": "join", "room": "plenary"})
    await slow.read_json("joined")
    slow.stop_reading()
    loop = asyncio.get_running_loop()
    started, sent = loop.time(), 0
    text = "slow " * 3000  # 15 KB frames (stored directly, past the send limits): the buffers fill sooner
    pending: set[asyncio.Task[Any]] = set()
    while "Slow" in await members_of(server, "plenary"):
        assert loop.time() - started < 90, f"still a member after {sent} messages"
        for _ in range(3):  # 150 a second, whatever one store round trip costs
            task = asyncio.create_task(
                server.node.stores.broker.append_message(
                    "plenary", user={"id": "w", "name": "W"}, text=text, lang="en", cid=None
                )
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(3 / 150)
    await asyncio.gather(*pending)
    left_after = loop.time() - started
    code = await slow.drain_until_closed(timeout=30)
    print(f"slow reader: out of the room after {left_after:.1f} s ({sent} messages), close code {code}")
    assert code in (1013, None)  # None: the close could not be written, the transport was dropped
    assert server.node.hub.connections == 0
    slow.close()
    other = await server.client("Other")
    await other.join("plenary")
    await other.say("plenary", "served")
    assert not any("Exception in ASGI application" in r.getMessage() for r in node_log.records)
    assert node_log.tracebacks() == []


async def test_3_a_close_that_cannot_be_written_drops_the_connection(server, node_log):
    """The reader's window is shut so hard that not even the close frame goes out (here: its
    close never completes): the connection is dropped, and the reader left its rooms already."""
    slow = await RawClient.connect(server.port)
    await slow.send_json({"type": "auth", "token": server.token("Stuck")})
    await slow.read_json("ready")
    await slow.send_json({"type": "join", "room": "plenary"})
    await slow.read_json("joined")
    session = next(s for s in server.node.hub.local_members("plenary") if s.identity.name == "Stuck")

    send = session.writer.send_asgi

    async def close_never_written(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            await asyncio.Event().wait()
        await send(message)

    # what a socket whose buffer is full looks like: frames queue, and a close never completes
    session.writer.send_asgi = close_never_written
    session.writer.socket.writable.clear()
    for _ in range(server.node.config.limits.send_queue + 1):
        session.push(text_frame(b'{"type":"pong"}'))
    for _ in range(100):  # the memberships end first, without waiting for the close
        if "Stuck" not in await members_of(server, "plenary"):
            break
        await asyncio.sleep(0.05)
    assert "Stuck" not in await members_of(server, "plenary")
    assert await slow.drain_until_closed(timeout=30) is None  # dropped: no close frame ever came
    assert any("dropping the connection" in r.getMessage() for r in node_log.records)
    assert not any("Exception in ASGI application" in r.getMessage() for r in node_log.records)
    assert node_log.tracebacks() == []


# 8. the memory backend forgets cids ---------------------------------------------------------
async def test_8_memory_backend_keeps_cids_only_while_their_message_and_ttl_last():
    broker = MemoryBroker(history_max=5, idempotency_ttl=3600)
    user = {"id": "u_a", "name": "Ada"}
    for i in range(200):
        await broker.append_message("r", user=user, text=f"m{i}", lang="en", cid=f"c{i}")
    history = broker.histories["r"]
    assert len(history.cids) == 5
    again = await broker.append_message("r", user=user, text="m199", lang="en", cid="c199")
    assert again.created is False and again.message.text == "m199"
    short = MemoryBroker(history_max=1000, idempotency_ttl=0)
    for i in range(50):
        await short.append_message("r", user=user, text=f"m{i}", lang="en", cid=f"c{i}")
    assert len(short.histories["r"].cids) <= 1


# 9. backend outages are `unavailable` / 503 -------------------------------------------------
@pytest.fixture
async def private_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
async def test_9_redis_down_is_503_and_unavailable_everywhere(make_server, private_redis, node_log, backend_kind):
    if backend_kind != "redis":
        pytest.skip("a Redis outage")
    server = await make_server(backend={"redis_url": private_redis.url})
    ada = await server.client("Ada")
    await ada.join("plenary")
    host = {"authorization": f"Bearer {server.token('Hal', role=Role.HOST)}"}
    private_redis.kill()
    async with server.http() as http:
        for path in ("/api/rooms", "/api/rooms/plenary/moderation"):
            answer = await http.get(path, headers=host)
            assert answer.status_code == 503 and answer.json()["code"] == "unavailable", (path, answer.text)
        answer = await http.patch("/api/rooms/plenary", json={"title": "T"}, headers=host)
        assert answer.status_code == 503
    await ada.send({"type": "send", "room": "plenary", "text": "during", "ref": "s"})
    await ada.expect_error("unavailable", ref="s")
    assert node_log.tracebacks() == []


@pytest.mark.redis
async def test_9_no_not_found_while_an_empty_redis_is_reseeded(make_server, private_redis, node_log, backend_kind):
    if backend_kind != "redis":
        pytest.skip("a Redis restart")
    server = await make_server(backend={"redis_url": private_redis.url})
    ada = await server.client("Ada")
    await ada.join("plenary")
    private_redis.kill()
    shutil.rmtree(private_redis.directory)
    private_redis.start()
    answers: list[str] = []
    for i in range(40):
        await ada.send({"type": "send", "room": "plenary", "text": f"after {i}", "ref": f"s{i}"})
        while True:
            frame = await ada.next()
            if frame.get("ref") == f"s{i}":
                answers.append(frame.get("code", frame["type"]))
                break
        if answers[-1] == "ack":
            break
        await asyncio.sleep(0.05)
    assert answers[-1] == "ack" and set(answers) <= {"ack", "unavailable"}, answers
    async with server.http() as http:
        rooms = await http.get("/api/rooms")
        assert rooms.status_code == 200 and "plenary" in {room["id"] for room in rooms.json()["rooms"]}
    assert node_log.tracebacks() == []


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("unable to perform operation on <TCPTransport closed=True>"),
        EOFError(),
        TimeoutError(),
        OSError("reset"),
    ],
)
async def test_9_whatever_a_dying_connection_raises_is_backend_unavailable(error):
    from chat.backend.redis.calls import read_call, write_call

    class Part:
        _slots = asyncio.Semaphore(1)

        @read_call
        async def read(self) -> None:
            raise error

        @write_call
        async def write(self) -> None:
            raise error

    for call in (Part().read, Part().write):
        with pytest.raises(BackendUnavailable):
            await call()


# 10. one moderator rule on both edges -------------------------------------------------------
async def test_10_a_scoped_moderator_appointed_elsewhere_is_refused_on_both_edges(server):
    host = {"authorization": f"Bearer {server.token('Hal', role=Role.HOST)}"}
    scoped = server.token("Mo", role=Role.MODERATOR, rooms=("plenary",), user_id="u_mo")
    delegate = server.token("Del", user_id="u_del")
    async with server.http() as http:
        for user in ("u_mo", "u_del"):
            answer = await http.post("/api/rooms/climate/moderators", json={"user": user}, headers=host)
            assert answer.status_code == 201
        mo = await http.get("/api/rooms/climate/moderation", headers={"authorization": f"Bearer {scoped}"})
        assert mo.status_code == 403
        own = await http.get("/api/rooms/plenary/moderation", headers={"authorization": f"Bearer {scoped}"})
        assert own.status_code == 200
        appointed = await http.get("/api/rooms/climate/moderation", headers={"authorization": f"Bearer {delegate}"})
        assert appointed.status_code == 200
    await server.client("X", user_id="u_x")  # someone the event has seen
    client = await Client.connect(server.ws_url)
    await client.auth(scoped)
    await client.join("climate")
    await client.send({"type": "mute", "room": "climate", "user": "u_x", "ref": "m"})
    await client.expect_error("forbidden", ref="m")
    other = await Client.connect(server.ws_url)
    await other.auth(delegate)
    await other.join("climate")
    await other.send({"type": "mute", "room": "climate", "user": "u_x", "ref": "m"})
    await other.expect("ack", ref="m")


# 11. joins, leaves and language changes are rate-limited; presence bursts coalesce ----------
async def test_11_join_leave_and_lang_are_rate_limited_per_connection(make_server):
    server = await make_server(limits={"membership_rate": 1.0, "membership_burst": 4})
    ada = await server.client("Ada")
    codes = []
    for i, frame in enumerate(
        [
            {"type": "join", "room": "plenary"},
            {"type": "leave", "room": "plenary"},
            {"type": "lang", "lang": "de"},
            {"type": "join", "room": "plenary"},
            {"type": "join", "room": "climate"},
            {"type": "lang", "lang": "fr"},
        ]
    ):
        await ada.send({**frame, "ref": f"f{i}"})
        answer = await ada.next()
        while answer["type"] not in ("joined", "left", "ready", "error"):
            answer = await ada.next()
        codes.append(answer.get("code", answer["type"]))
    assert codes == ["joined", "left", "ready", "joined", "rate_limited", "rate_limited"]
    bob = await server.client("Bob")  # another connection has its own allowance
    await bob.join("climate")


async def test_11_a_burst_of_presence_reaches_members_coalesced_ending_in_the_true_state(make_server):
    server = await make_server(limits={"membership_rate": 10000.0, "membership_burst": 10000})
    watcher = await server.client("Wat")
    await watcher.join("plenary")
    flapper = await server.client("Flap")
    flips = 100
    for _ in range(flips):
        await flapper.join("plenary")
        await flapper.send({"type": "leave", "room": "plenary"})
        await flapper.expect("left")
    await flapper.join("plenary")
    await watcher.silent("nothing", within=1.5)  # let the last window close
    presence = [f for f in watcher.seen if f["type"] == "presence" and f["user"]["name"] == "Flap"]
    assert presence[-1]["event"] == "join"
    assert len(presence) < 2 * flips + 1, "presence was not coalesced"


# 12. invalid UTF-8, half-open requests, Origin scheme ------------------------------------------
async def test_12_invalid_utf8_text_closes_1007_without_traceback(server, node_log):
    client = await server.client("Ada")
    await client.ws.send(b'{"type":"ping","x":"\xff\xfe"}', text=True)
    assert await client.closed() == 1007
    other = await server.client("Bob")
    await other.join("plenary")
    assert node_log.tracebacks() == []


async def test_12_half_open_http_requests_are_closed_408(make_server):
    server = await make_server(server={"header_timeout": 1.0})
    streams = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
    for _, writer in streams:
        writer.write(b"GET /api/rooms HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    for reader, writer in streams:
        answer = await asyncio.wait_for(reader.read(), 20)  # until the server closes
        assert answer.startswith(b"HTTP/1.1 408"), answer
        writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /api/rooms HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000)
    answer = await asyncio.wait_for(reader.read(), 20)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    writer.close()
    async with server.http() as http:
        assert (await http.get("/api/rooms")).status_code == 200


async def test_12_an_https_origin_is_refused_for_an_http_page(server):
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url, origin=Origin(f"https://127.0.0.1:{server.port}"))
    ok = await websockets.connect(server.ws_url, origin=Origin(f"http://127.0.0.1:{server.port}"))
    await ok.close()
