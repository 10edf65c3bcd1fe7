"""One account cannot make a node hold unbounded memory (issue 20, "Memory, from one account").

Each attack of the report against a real node (memory, sqlite, redis; two nodes on Redis where
the limit spans the cluster): the bound it meets, the refused frame, the close code.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx
import pytest

from chat.serving import redact_query
from tests.client import Client
from tests.log_recorder import LogRecorder
from tests.raw_websocket import RawClient

EIGHT_KB = "x" * 8000


@pytest.fixture
def node_log():
    recorder = LogRecorder().install()
    yield recorder
    recorder.uninstall()


async def fill(server, room: str, count: int, text: str = EIGHT_KB) -> list[str]:
    """Store `count` messages straight into the room (past the send limits); their ids, oldest first."""
    ids = []
    for n in range(count):
        appended = await server.node.stores.broker.append_message(
            room, user={"id": "u_filler", "name": "Filler"}, text=f"{n} {text}", lang="en", cid=None
        )
        ids.append(appended.message.id)
    return ids


# the send backlog is bounded in bytes -------------------------------------------------------
async def test_a_reader_that_never_reads_is_closed_1013_once_its_backlog_passes_the_byte_cap(make_server, node_log):
    """100 answers of 40 x 8 kB = 320 kB each would be 32 MB; the frame cap (512) never comes
    near. Once the kernel's buffers (a few MB on loopback) and the transport's are full, the byte
    cap (256 kB here) closes the socket at the first answer that would pass it."""
    cap = 256 * 1024
    server = await make_server(limits={"send_buffer_bytes": cap, "history_burst": 200})
    await fill(server, "plenary", 40)
    slow = await RawClient.connect(server.port, rcvbuf=4096)
    await slow.send_json({"type": "auth", "token": server.token("Hoarder")})
    await slow.read_json("ready")
    await slow.send_json({"type": "join", "room": "plenary", "history": 0})
    await slow.read_json("joined")
    slow.stop_reading()
    try:
        for n in range(100):
            await slow.send_json({"type": "history", "room": "plenary", "limit": 40, "ref": f"h{n}"})
    except ConnectionError:
        pass  # closed (or dropped) before the last request went out
    code = await slow.drain_until_closed(timeout=30)
    assert code in (1013, None)  # None: not even the close could be written; the transport was dropped
    closing = next(r.getMessage() for r in node_log.records if "bytes behind" in r.getMessage())
    found = re.search(r"(\d+) frames, (\d+) bytes behind", closing)
    assert found is not None, closing
    frames, queued = map(int, found.groups())
    print(f"closed with {code}: {frames} frames, {queued} bytes queued at the close (cap {cap})")
    assert frames < server.node.config.limits.send_queue and queued <= cap
    assert server.node.hub.connections == 0
    assert "Hoarder" not in {m.name for m in await server.node.stores.presence.members("plenary")}
    slow.close()
    other = await server.client("Other")
    await other.join("plenary", history=0)
    await other.say("plenary", "served")
    assert node_log.tracebacks() == []


# history requests are rate-limited per connection ---------------------------------------------
async def test_history_requests_are_rate_limited_per_connection_with_a_wait(make_server):
    server = await make_server(limits={"history_rate": 0.01, "history_burst": 3})
    await fill(server, "plenary", 5, "short")
    ada = await server.client("Ada")
    await ada.join("plenary")
    for n in range(5):
        await ada.send({"type": "history", "room": "plenary", "limit": 2, "ref": f"h{n}"})
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < 5:
        frame = await ada.next()
        if frame["type"] in ("history", "error"):
            answers[frame["ref"]] = frame
    assert [answers[f"h{n}"]["type"] for n in range(5)] == ["history"] * 3 + ["error"] * 2
    refused = answers["h4"]
    assert refused["code"] == "rate_limited" and re.search(r"wait \d+\.\d s", refused["message"])
    assert refused["retry_after"] >= 1
    other = await server.client("Other")  # a bucket per connection: another one is served
    await other.join("plenary")
    await other.send({"type": "history", "room": "plenary", "limit": 2, "ref": "o"})
    assert len((await other.expect("history", ref="o"))["messages"]) == 2


# a `since` replay is paged --------------------------------------------------------------------
async def replay_all(client: Client, room: str, joined: dict[str, Any], page: int) -> list[dict[str, Any]]:
    """What a client does with `joined.more`: ask `history` with `after` until nothing more remains."""
    messages = list(joined["messages"])
    more, pages = joined.get("more"), 0
    while more:
        pages += 1
        assert pages < 100, "the replay never ended"
        await client.send(
            {"type": "history", "room": room, "after": messages[-1]["id"], "limit": page, "ref": f"p{pages}"}
        )
        answer = await client.expect("history", ref=f"p{pages}")
        assert len(answer["messages"]) <= page and "recovered" not in answer
        messages += answer["messages"]
        more = answer.get("more")
    return messages


async def test_a_reconnect_past_history_max_messages_recovers_everything_in_pages(make_server):
    page = 20
    server = await make_server(limits={"history_max": page, "history_burst": 100})
    ada = await server.client("Ada")
    await ada.join("plenary")
    last_seen = (await ada.say("plenary", "before the drop"))["id"]
    await ada.close()
    missed = await fill(server, "plenary", 3 * page + 7, "missed")
    back = await server.client("Ada")
    joined = await back.join("plenary", since=last_seen)
    assert joined["recovered"] is True and joined["more"] is True
    assert len(joined["messages"]) == page  # at most history_max in `joined`
    replayed = await replay_all(back, "plenary", joined, page)
    ids = [m["id"] for m in replayed]
    assert ids == missed  # every missed message, in order: no gap, no duplicate
    # once caught up, live messages arrive as usual, and a join with the newest id is not paged
    bob = await server.client("Bob")
    await bob.join("plenary", history=0)
    sent = await bob.say("plenary", "live again")
    assert (await back.expect("message", text="live again"))["id"] == sent["id"]
    third = await server.client("Ada")
    joined = await third.join("plenary", since=sent["id"])
    assert joined["messages"] == [] and "more" not in joined and joined["recovered"] is True


async def test_a_replay_of_at_most_one_page_says_nothing_more(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    first = (await ada.say("plenary", "one"))["id"]
    await ada.say("plenary", "two")
    back = await server.client("Ada")
    joined = await back.join("plenary", since=first)
    assert [m["text"] for m in joined["messages"]] == ["two"] and "more" not in joined


async def test_history_after_an_unknown_id_is_the_latest_page_not_recovered(server):
    ada = await server.client("Ada")
    await ada.join("plenary")
    await ada.say("plenary", "kept")
    await ada.send({"type": "history", "room": "plenary", "after": "0000dead.1", "limit": 5, "ref": "h"})
    answer = await ada.expect("history", ref="h")
    assert answer["recovered"] is False and [m["text"] for m in answer["messages"]] == ["kept"]
    assert "more" not in answer


@pytest.mark.parametrize(
    "frame, field",
    [
        ({"type": "history", "room": "plenary", "after": "not an id"}, '"after"'),
        ({"type": "history", "room": "plenary", "after": "0000dead.1", "before": "0000dead.2"}, '"before"'),
    ],
)
async def test_a_bad_after_is_bad_frame(server, frame, field):
    ada = await server.client("Ada")
    await ada.join("plenary")
    await ada.send({**frame, "ref": "h"})
    error = await ada.expect_error("bad_frame", ref="h")
    assert field in error["message"]


# connections per user ---------------------------------------------------------------------------
async def connect_as(server, token: str) -> tuple[Client, dict[str, Any]]:
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": token, "ref": "a"})
    return client, await client.next()


async def test_past_connections_per_user_the_newest_is_refused_4429(make_server):
    server = await make_server(limits={"connections_per_user": 2})
    token = server.token("Ada")
    first, ready = await connect_as(server, token)
    second, ready2 = await connect_as(server, token)
    assert ready["type"] == ready2["type"] == "ready"
    third, refused = await connect_as(server, token)
    assert refused["type"] == "error" and refused["code"] == "too_many_connections" and refused["ref"] == "a"
    assert await third.closed() == 4429
    _bob, ready = await connect_as(server, server.token("Bob"))  # a count per user
    assert ready["type"] == "ready"
    await first.close()
    for _ in range(100):  # the closed one stops counting once the node has seen it go
        again, answer = await connect_as(server, token)
        if answer["type"] == "ready":
            break
        await again.closed()
        await asyncio.sleep(0.05)
    assert answer["type"] == "ready"
    await second.send({"type": "ping", "ref": "p"})
    await second.expect("pong", ref="p")  # the older connections were never touched


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_connections_per_user_hold_across_nodes_on_redis(make_server):
    a = await make_server(limits={"connections_per_user": 2})
    b = await make_server(limits={"connections_per_user": 2})
    token = a.token("Ada")
    _, on_a = await connect_as(a, token)
    _, on_b = await connect_as(b, token)
    assert on_a["type"] == on_b["type"] == "ready"
    third, refused = await connect_as(b, token)
    assert refused["code"] == "too_many_connections"
    assert await third.closed() == 4429
    third, refused = await connect_as(a, token)
    assert refused["code"] == "too_many_connections"
    # node b stops; its connections stop counting (a clean stop forgets them at once)
    await b.stop()
    _, answer = await connect_as(a, token)
    assert answer["type"] == "ready"


# POST /api/session per client address --------------------------------------------------------------
async def post_session(server, name: str, **headers: str) -> httpx.Response:
    async with server.http() as http:
        return await http.post("/api/session", json={"name": name, "lang": "en"}, headers=headers)


async def test_new_sessions_are_rate_limited_per_client_address_with_retry_after(make_server):
    server = await make_server(limits={"session_rate": 0.01, "session_burst": 3})
    answers = [await post_session(server, f"Guest {n}") for n in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[3]
    assert refused.json()["code"] == "rate_limited" and "wait" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) == refused.json()["retry_after"] <= 100
    # X-Forwarded-For from a peer that is not a trusted proxy changes nothing
    assert (await post_session(server, "Forger", **{"X-Forwarded-For": "203.0.113.9"})).status_code == 429


async def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(make_server):
    server = await make_server(
        limits={"session_rate": 0.01, "session_burst": 2}, server={"trusted_proxies": ["127.0.0.0/8"]}
    )
    first = {"X-Forwarded-For": "203.0.113.5"}
    assert [(await post_session(server, "A", **first)).status_code for _ in range(3)] == [200, 200, 429]
    # another client behind the same proxy has its own allowance
    assert (await post_session(server, "B", **{"X-Forwarded-For": "203.0.113.6"})).status_code == 200
    # a client cannot pick its address: the proxy appends the real one, and that one counts
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
    assert (await post_session(server, "A", **forged)).status_code == 429


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path):
    from chat.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text('[server]\ntrusted_proxies = ["10.0.0.0/8", "proxy.example"]\n')
    with pytest.raises(ConfigError, match=r"server\.trusted_proxies: 'proxy\.example'"):
        load_config(path, environ={})


# an oversize token is an unauthorized token ------------------------------------------------------
async def test_a_token_over_4096_characters_is_unauthorized_and_closed_4401(server, node_log):
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": "a" * 4097, "ref": "a1"})
    error = await client.expect_error("unauthorized", ref="a1")
    assert "4096" in error["message"]
    assert await client.closed() == 4401
    assert node_log.tracebacks() == []


# access logs never show a token -----------------------------------------------------------------
async def test_access_and_websocket_log_lines_never_show_a_token(server):
    recorder = LogRecorder()
    saved = []
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.addHandler(recorder)
        logger.setLevel(logging.INFO)
    try:
        secret = server.token("Ada")
        async with server.http() as http:
            # a new protocol instance per connection: uvicorn decides to log access lines when one starts
            await http.get(f"/?token={secret}&lang=de")
            await http.get(f"/embed/plenary?lang=de&TOK%45N={secret}")
        client = await Client.connect(f"{server.ws_url}?token={secret}")
        await client.close()
        await asyncio.sleep(0.2)
    finally:
        for logger, level in saved:
            logger.removeHandler(recorder)
            logger.setLevel(level)
    lines = [record.getMessage() for record in recorder.records]
    assert any("/?token=[redacted]&lang=de" in line for line in lines), lines
    assert any("TOK%45N=[redacted]" in line for line in lines), lines
    assert any("WebSocket /ws?token=[redacted]" in line for line in lines), lines
    assert not any(secret in line for line in lines)


def test_redact_query_replaces_every_token_parameter_and_nothing_else():
    assert redact_query("/a?x=1&token=abc&y=2") == "/a?x=1&token=[redacted]&y=2"
    assert redact_query("/a?%74oken=abc") == "/a?%74oken=[redacted]"
    assert redact_query("/a?tokens=abc&mytoken=d") == "/a?tokens=abc&mytoken=d"
    assert redact_query("/a?token") == "/a?token"
    assert redact_query("GET /a?token=abc HTTP/1.1") == "GET /a?token=[redacted] HTTP/1.1"
    assert redact_query("/plain/path") == "/plain/path"
