"""Matchmaking end to end on real `babelroom serve` processes: two nodes on Redis, and one default node.

A Chinese reader (Li) asks a Finnish reader (Aino) for contact; Aino accepts; they chat and each
reads the other translated (tiny real Argos packages zh<->en and fi<->en, pivoting through English).
On the cluster Li and Aino sit on different nodes, so every request, notice, message, translation
and report crosses Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms import Role
from tests.client import Client, http_client
from tests.conftest import build_test_packages
from tests.nodes import NodeProcess, RedisServer, start_together

CHINESE = "你好，我们公司生产太阳能电池板，希望和芬兰的合作伙伴见面。"
FINNISH = "Hei, valmistamme saunoja ja etsimme kumppaneita Kiinasta ensi vuodeksi."
NODE_ENV = {
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
    "BABELROOM_CONVERSATIONS_MAX_PENDING": "2",
    "BABELROOM_SERVER_LOBBY_INTERVAL": "0.1",
}


@pytest.fixture(scope="module")
def zh_fi_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A packages dir with tiny packages zh<->en and fi<->en (zh<->fi pivots through English)."""
    from translation.packages import install_file

    built = build_test_packages(
        tmp_path_factory.mktemp("zh-fi-models"),
        (("zh", "en"), ("en", "zh"), ("fi", "en"), ("en", "fi")),
        extra_text=(CHINESE, FINNISH),
    )
    directory = tmp_path_factory.mktemp("zh-fi-packages")
    for path in built:
        install_file(path, directory)
    return directory


@dataclass
class Event:
    """Where each person connects: Li on `a`, Aino on `b` (the same node when there is one)."""

    a: NodeProcess
    b: NodeProcess


@pytest.fixture(
    params=["two-redis-nodes", pytest.param("one-default-node")], ids=["two-redis-nodes", "one-default-node"]
)
async def event(request: pytest.FixtureRequest, tmp_path: Path, zh_fi_packages: Path) -> AsyncIterator[Event]:
    env = {**NODE_ENV, "BABELROOM_TRANSLATION_PACKAGES_DIR": str(zh_fi_packages)}
    redis_server = None
    if request.param == "two-redis-nodes":
        request.applymarker(pytest.mark.redis)
        redis_server = RedisServer(tmp_path / "redis")
        redis_server.start()
        nodes = [NodeProcess(name, tmp_path, redis_url=redis_server.url, env=env) for name in ("a", "b")]
    else:
        nodes = [NodeProcess("solo", tmp_path, env=env, backend="sqlite")]  # the default backend
    try:
        for node in nodes:
            node.env["BABELROOM_TRANSLATION_PACKAGES_DIR"] = str(zh_fi_packages)
        await asyncio.to_thread(start_together, *nodes, timeout=60)
        yield Event(nodes[0], nodes[-1])
    finally:
        for node in nodes:
            node.stop()
        if redis_server is not None:
            redis_server.stop()


class Person:
    def __init__(
        self,
        node: NodeProcess,
        name: str,
        lang: str,
        role: Role = Role.DELEGATE,
        *,
        organization: str = "",
        country: str = "",
    ) -> None:
        self.node, self.name, self.lang = node, name, lang
        self.id = f"u_{name.lower()}"
        self.token = node.signer.issue(
            name=name, role=role, lang=lang, ttl=3600, user_id=self.id, organization=organization, country=country
        )
        self.client: Client
        self._refs = 0

    async def connect(self, node: NodeProcess | None = None) -> Person:
        self.client = await Client.connect((node or self.node).ws_url)
        await self.client.auth(self.token)
        return self

    async def ask(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame; its ack or error (matched by ref)."""
        self._refs += 1
        ref = f"{self.name}-{self._refs}"
        await self.client.send({**frame, "ref": ref})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while loop.time() < deadline:
            for index, seen in enumerate(self.client.inbox):
                if seen.get("ref") == ref and seen["type"] in ("ack", "error"):
                    return self.client.inbox.pop(index)
            try:
                await self.client._receive(max(0.01, deadline - loop.time()))
            except TimeoutError:
                break
        raise AssertionError(f"no answer to {frame['type']}; saw {self.client.seen[-6:]}")

    async def http(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with http_client(self.node.url) as http:
            return await http.request(method, path, headers={"authorization": f"Bearer {self.token}"}, **kwargs)


async def test_a_chinese_and_a_finnish_delegate_meet_and_each_reads_the_other(event: Event) -> None:
    li = await Person(event.a, "Li", "zh", organization="Shenzhen Solar", country="CN").connect()
    aino = await Person(event.b, "Aino", "fi", organization="Sauna Oy", country="FI").connect()
    mika = await Person(event.b, "Mika", "fi").connect()
    host = await Person(event.b, "Hal", "en", role=Role.HOST).connect()
    moderator = await Person(event.b, "Mo", "en", role=Role.MODERATOR).connect()
    lobby = await Person(event.a, "Lobby", "en").connect()

    # the directory, cluster-wide: Li finds Aino (on the other node) by organisation and country
    found = (await li.http("GET", "/api/people?q=sauna&country=FI&lang=fi")).json()["people"]
    assert [(p["id"], p["online"]) for p in found] == [(aino.id, True)]

    # policy request (the default): a conversation needs an accepted request first
    assert (await li.http("POST", "/api/conversations", json={"with": [aino.id]})).status_code == 403
    sent = await li.ask({"type": "request", "to": aino.id, "text": CHINESE})
    card = await aino.client.expect("request", state="pending", timeout=10)
    assert card["id"] == sent["id"] and card["from"]["id"] == li.id and card["from"]["country"] == "CN"
    accepted = await aino.ask({"type": "accept", "request": card["id"]})
    room = accepted["room"]
    assert (await li.client.expect("request", state="accepted", timeout=10))["room"] == room
    opened = await li.client.expect("conversation", event="opened", timeout=10)
    assert opened["room"]["kind"] == "private" and {m["id"] for m in opened["room"]["members"]} == {li.id, aino.id}

    # they chat; each reads the other in their own language
    joined = await aino.client.join(room)
    assert joined["room"]["kind"] == "private"
    [first] = joined["messages"]
    assert first["text"] == CHINESE and first["user"]["id"] == li.id and first["lang"] == "zh"
    assert (await aino.client.expect("translation", id=first["id"], timeout=30))["lang"] == "fi"
    await li.client.join(room)
    reply = await aino.client.say(room, FINNISH)
    heard = await li.client.expect("message", id=reply["id"], timeout=10)
    assert heard["text"] == FINNISH and heard["lang"] == "fi"
    translated = await li.client.expect("translation", id=reply["id"], timeout=30)
    assert translated["lang"] == "zh" and translated["text"]
    more = await li.client.say(room, CHINESE + " 明天见！")
    assert (await aino.client.expect("translation", id=more["id"], timeout=30))["lang"] == "fi"
    await aino.client.silent("translation", within=0.2)  # nothing else, and never her own message

    # invisible to everyone else: the room list, lobby frames, a host, another delegate
    for node in {event.a.url, event.b.url}:
        async with http_client(node) as http:
            assert room not in [r["id"] for r in (await http.get("/api/rooms")).json()["rooms"]]
    await lobby.client.join("plenary")
    await lobby.client.expect("room", event="updated", timeout=10)
    assert room not in [f["room"]["id"] for f in lobby.client.seen if f["type"] == "room"]
    for outsider in (host, mika):
        await outsider.client.send({"type": "join", "room": room})
        await outsider.client.expect_error("not_found")
        await outsider.client.send({"type": "history", "room": room})
        await outsider.client.expect_error("not_found")

    # the pending cap and blocks hold across nodes
    assert (await mika.ask({"type": "request", "to": li.id, "text": "Moi!"}))["type"] == "ack"
    assert (await mika.ask({"type": "request", "to": host.id, "text": "Hello"}))["type"] == "ack"
    capped = await mika.ask({"type": "request", "to": moderator.id, "text": "Hi"})
    assert capped["code"] == "rate_limited"
    assert (await aino.http("POST", "/api/blocks", json={"user": mika.id})).status_code == 201
    blocked = await mika.ask({"type": "request", "to": aino.id, "text": "Moi Aino"})
    assert blocked["code"] == "forbidden"

    # a report from node a reaches the moderator on node b
    reported = await li.ask({"type": "report", "room": room, "id": reply["id"], "reason": "test"})
    assert reported["type"] == "ack"
    await moderator.client.expect("reports", open=1, timeout=10)
    [report] = (await host.http("GET", "/api/reports")).json()["reports"]
    assert report["id"] == reported["id"]
    assert report["message"]["text"] == FINNISH and report["message"]["user"]["id"] == aino.id
    assert report["reporter"]["id"] == li.id

    # since-recovery: Aino drops, Li writes on, Aino comes back on the other node
    last = more["id"]
    assert (await aino.ask({"type": "read", "room": room, "id": last}))["type"] == "ack"
    await aino.client.close()
    missed = [(await li.client.say(room, f"{CHINESE} {n}"))["id"] for n in range(3)]
    listed = (await aino.http("GET", "/api/conversations")).json()["conversations"]
    assert [(c["id"], c["unread"]) for c in listed] == [(room, 3)]
    await aino.connect(event.a)
    back = await aino.client.join(room, since=last)
    assert back["recovered"] is True and [m["id"] for m in back["messages"]] == missed


async def test_a_block_holds_on_every_node_and_one_inbox_holds_its_cap(event: Event) -> None:
    ada = await Person(event.a, "Ada", "en").connect()
    bo = await Person(event.b, "Bo", "en").connect()
    bo_on_a = await Person(event.a, "Bo", "en").connect()  # the same person, a second socket on Ada's node
    cy = await Person(event.b, "Cy", "en").connect()
    sent = await bo.ask({"type": "request", "to": ada.id, "text": "Hello Ada, shall we talk?"})
    card = await ada.client.expect("request", id=sent["id"], timeout=10)
    room = (await ada.ask({"type": "accept", "request": card["id"]}))["room"]
    for person in (ada, bo, bo_on_a):
        await person.client.join(room)
    said = await bo.client.say(room, "Before the block")
    await ada.client.expect("message", id=said["id"], timeout=10)
    await bo_on_a.client.expect("message", id=said["id"], timeout=10)

    # Ada (node a) blocks Bo: both of Bo's sockets, on either node, are out of the conversation
    assert (await ada.http("POST", "/api/blocks", json={"user": bo.id})).status_code == 201
    for socket in (bo, bo_on_a):
        await socket.client.expect("left", room=room, reason="blocked", timeout=10)
        refused = await socket.ask({"type": "send", "room": room, "text": "Still there?"})
        assert refused["code"] == "not_joined"
        await socket.client.send({"type": "join", "room": room})
        await socket.client.expect_error("not_found")
        await socket.client.send({"type": "history", "room": room})
        await socket.client.expect_error("not_found")
    await ada.client.silent("message", within=0.5)
    assert (await bo.http("GET", "/api/conversations")).json()["conversations"] == []

    # a contact of both (Cy, node b) cannot bring them together in a group, under either node
    for node in (event.b, event.a):
        cy.node = node
        answer = await cy.http("POST", "/api/conversations", json={"with": [ada.id, bo.id]})
        assert answer.status_code == 403 and "blocks another" in answer.json()["message"], node.node_id

    # 40 fresh identities, half on each node, reach Ada's inbox only up to the cap (20 by default)
    spammers = [await Person(event.a if n % 2 else event.b, f"Spam{n}", "en").connect() for n in range(40)]
    answers = await asyncio.gather(
        *(s.ask({"type": "request", "to": ada.id, "text": f"Buy {n}"}) for n, s in enumerate(spammers))
    )
    assert sum(a["type"] == "ack" for a in answers) == 20
    assert {a["code"] for a in answers if a["type"] == "error"} == {"inbox_full"}
    assert len((await ada.http("GET", "/api/requests")).json()["incoming"]) == 20
