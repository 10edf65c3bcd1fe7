"""Private conversations on one node, on every backend: profiles, the directory, conversations as
private rooms, contact requests under the organiser's policy, blocks, reports and event-wide sanctions."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rooms import Role
from tests.client import Client

FAST = {"rate_per_second": 1000.0, "rate_burst": 1000}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class Person:
    """A connected client with its token and user id."""

    def __init__(self, server: Any, name: str, lang: str = "en", role: Role = Role.DELEGATE, **profile: str) -> None:
        self.server, self.name, self.lang, self.role, self.profile = server, name, lang, role, profile
        self.id = f"u_{name.lower()}"
        self.token = server.token(name, role, lang, user_id=self.id, **profile)
        self.client: Client

    async def connect(self) -> Person:
        self.client = await Client.connect(self.server.ws_url)
        await self.client.auth(self.token)
        return self

    async def http(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.server.http() as http:
            return await http.request(method, path, headers=bearer(self.token), **kwargs)

    async def ask(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame with a ref; its ack or error."""
        ref = f"r{len(self.client.seen)}-{frame['type']}"
        await self.client.send({**frame, "ref": ref})
        return await self._answer(ref)

    async def _answer(self, ref: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while loop.time() < deadline:
            for index, frame in enumerate(self.client.inbox):
                if frame.get("ref") == ref and frame["type"] in ("ack", "error", "history"):
                    return self.client.inbox.pop(index)
            try:
                await self.client._receive(max(0.01, deadline - loop.time()))
            except TimeoutError:
                break
        raise AssertionError(f"no answer to {ref}; saw {self.client.seen[-6:]}")


async def people(server: Any, *specs: tuple[str, str], **profile: str) -> list[Person]:
    return [await Person(server, name, lang, Role.DELEGATE, **profile).connect() for name, lang in specs]


async def conversation(person: Person, *others: Person, **body: Any) -> Any:
    return await person.http("POST", "/api/conversations", json={"with": [o.id for o in others], **body})


# profiles and the directory ------------------------------------------------------------------
@pytest.mark.parametrize("fields, says", [
    ({"country": "Finland"}, "ISO 3166"),
    ({"country": "XX"}, "ISO 3166"),
    ({"bio": "x" * 281}, "280"),
    ({"organization": "o" * 81}, "80"),
    ({"organization": 7}, "string"),
])
async def test_session_profiles_are_validated(server, fields, says):
    async with server.http() as http:
        response = await http.post("/api/session", json={"name": "Aino", "lang": "en", **fields})
    assert response.status_code == 400 and says in response.json()["message"]


async def test_the_directory_searches_filters_pages_and_shows_who_is_online(make_server):
    server = await make_server(conversations={"policy": "open"})
    async with server.http() as http:
        answer = await http.post("/api/session", json={"name": "Aino", "lang": "de", "organization": "Sauna Oy",
                                                       "country": "fi", "bio": "Saunas for export"})
        assert answer.status_code == 200 and answer.json()["profile"]["country"] == "FI"
        aino_token = answer.json()["token"]
    li = await Person(server, "Li", "zh", organization="Shenzhen Solar", country="CN").connect()
    await Person(server, "Milica", "en", organization="Beograd Solar", country="RS").connect()
    await Person(server, "Mika", "de", organization="Helsinki Tech", country="FI").connect()

    async def names(query: str, token: str = li.token) -> dict[str, Any]:
        async with server.http() as http:
            response = await http.get(f"/api/people?{query}", headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()

    assert [p["name"] for p in (await names("q=solar"))["people"]] == ["Milica"]  # not oneself
    assert [p["name"] for p in (await names("country=FI"))["people"]] == ["Aino", "Mika"]
    assert [p["name"] for p in (await names("lang=de&q=mi"))["people"]] == ["Mika"]
    everyone = await names("", aino_token)
    by_name = {p["name"]: p for p in everyone["people"]}
    assert by_name["Li"]["online"] is True and by_name["Li"]["organization"] == "Shenzhen Solar"
    first = await names("limit=2", aino_token)
    second = await names(f"limit=2&cursor={first['next']}", aino_token)
    assert [p["name"] for p in first["people"] + second["people"]] == ["Li", "Mika", "Milica"]
    assert second["next"] is None
    assert (await names("q=sauna"))["people"][0]["online"] is False  # a session, never connected
    hidden = await li.http("PATCH", "/api/me", json={"hidden": True})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    assert "Li" not in [p["name"] for p in (await names("", aino_token))["people"]]
    async with server.http() as http:
        assert (await http.get("/api/people")).status_code == 401
        bad = await http.get("/api/people?country=Finland", headers=bearer(li.token))
        assert bad.status_code == 400 and "ISO" in bad.json()["message"]
        assert (await http.get("/api/people?cursor=nonsense", headers=bearer(li.token))).status_code == 400


# conversations are private rooms ------------------------------------------------------------
async def test_a_conversation_is_a_private_room_only_its_members_see(make_server):
    server = await make_server(conversations={"policy": "open"}, server={"lobby_interval": 0.05})
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    host = await Person(server, "Hal", role=Role.HOST).connect()
    lobby = await server.client("Lobby")
    created = await conversation(ada, bo, title="Solar panels")
    assert created.status_code == 201
    room = created.json()["room"]
    assert room["kind"] == "private" and room["title"] == "Solar panels"
    assert {m["id"] for m in room["members"]} == {ada.id, bo.id}
    again = await conversation(bo, ada)
    assert again.status_code == 200 and again.json()["room"]["id"] == room["id"]
    opened = await bo.client.expect("conversation", event="opened")
    assert opened["room"]["id"] == room["id"]

    joined = await ada.client.join(room["id"])
    assert joined["room"]["kind"] == "private"
    await bo.client.join(room["id"])
    ack = await ada.client.say(room["id"], "Hello Bo, shall we meet at stand 12?")
    assert (await bo.client.expect("message", id=ack["id"]))["text"].startswith("Hello Bo")

    for outsider in (cy, host):
        await outsider.client.send({"type": "join", "room": room["id"]})
        await outsider.client.expect_error("not_found")
        await outsider.client.send({"type": "history", "room": room["id"]})
        await outsider.client.expect_error("not_found")
        await outsider.client.send({"type": "send", "room": room["id"], "text": "hi"})
        await outsider.client.expect_error("not_joined")
    await host.client.send({"type": "mute", "room": room["id"], "user": bo.id})
    await host.client.expect_error("not_found")
    async with server.http() as http:
        listed = {r["id"] for r in (await http.get("/api/rooms")).json()["rooms"]}
        assert room["id"] not in listed and "plenary" in listed
        assert (await http.patch(f"/api/rooms/{room['id']}", json={"title": "x"},
                                 headers=bearer(host.token))).status_code == 404
    await lobby.join("plenary")  # lobby frames still flow for forum rooms...
    await lobby.expect("room", event="updated")
    rooms_seen = [f["room"]["id"] for f in lobby.seen if f["type"] == "room"]
    assert room["id"] not in rooms_seen  # ...but never for the conversation


async def test_conversations_hold_two_to_eight_people(make_server):
    server = await make_server(conversations={"policy": "open"})
    everyone = await people(server, *[(f"P{i}", "en") for i in range(9)])
    first, rest = everyone[0], everyone[1:]
    eight = await conversation(first, *rest[:7])
    assert eight.status_code == 201 and len(eight.json()["room"]["members"]) == 8
    nine = await conversation(first, *rest)
    assert nine.status_code == 400 and "at most 8" in nine.json()["message"]
    alone = await first.http("POST", "/api/conversations", json={"with": [first.id]})
    assert alone.status_code == 400
    unknown = await first.http("POST", "/api/conversations", json={"with": ["u_nobody"]})
    assert unknown.status_code == 404


async def test_leaving_for_good_and_the_last_one_out_closes_it(make_server):
    server = await make_server(conversations={"policy": "open"})
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    room = (await conversation(ada, bo, cy)).json()["room"]["id"]
    await ada.client.join(room)
    await bo.client.join(room)
    left = await ada.http("DELETE", f"/api/conversations/{room}")
    assert left.status_code == 200
    assert (await ada.client.expect("left", room=room))["reason"] == "left"
    notice = await bo.client.expect("conversation", event="left")
    assert notice["user"]["id"] == ada.id
    await ada.client.send({"type": "join", "room": room})
    await ada.client.expect_error("not_found")
    assert (await ada.http("DELETE", f"/api/conversations/{room}")).status_code == 404
    assert room not in [c["id"] for c in (await ada.http("GET", "/api/conversations")).json()["conversations"]]
    await bo.http("DELETE", f"/api/conversations/{room}")
    await cy.http("DELETE", f"/api/conversations/{room}")
    assert (await server.node.backend.get_room(room)).state.value == "closed"
    fresh = await conversation(ada, bo)
    assert fresh.status_code == 201 and fresh.json()["room"]["id"] != room


async def test_unread_counts_follow_the_read_position(make_server):
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    ids = [(await ada.client.say(room, f"Message {n}"))["id"] for n in range(3)]

    async def unread(person: Person) -> int:
        listed = (await person.http("GET", "/api/conversations")).json()["conversations"]
        return next(c["unread"] for c in listed if c["id"] == room)

    assert await unread(bo) == 3 and await unread(ada) == 0  # one's own messages are read
    assert (await bo.ask({"type": "read", "room": room, "id": ids[0]}))["type"] == "ack"
    assert await unread(bo) == 2
    await bo.client.join(room)  # what `joined` carried is received
    assert await unread(bo) == 0
    await bo.client.send({"type": "leave", "room": room})
    await bo.client.expect("left")
    await ada.client.say(room, "One more")
    assert await unread(bo) == 1


async def test_since_recovers_a_conversation(make_server):
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    await bo.client.join(room)
    last = (await ada.client.say(room, "before"))["id"]
    await bo.client.close()
    missed = [(await ada.client.say(room, f"missed {n}"))["id"] for n in range(3)]
    back = await Client.connect(server.ws_url)
    await back.auth(bo.token)
    joined = await back.join(room, since=last)
    assert joined["recovered"] is True and [m["id"] for m in joined["messages"]] == missed


# contact requests ---------------------------------------------------------------------------------
async def test_with_policy_request_a_request_comes_first_then_the_conversation(make_server):
    server = await make_server(limits=FAST)  # the default policy is request
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    refused = await conversation(ada, bo)
    assert refused.status_code == 403 and "contact request" in refused.json()["message"]
    ack = await ada.ask({"type": "request", "to": bo.id, "text": "Hello, we make solar inverters."})
    assert ack["type"] == "ack"
    card = await bo.client.expect("request", state="pending")
    assert card["from"]["id"] == ada.id and card["text"].startswith("Hello") and card["id"] == ack["id"]
    pending = (await bo.http("GET", "/api/requests")).json()
    assert [r["id"] for r in pending["incoming"]] == [card["id"]]
    accepted = await bo.ask({"type": "accept", "request": card["id"]})
    room = accepted["room"]
    for person in (ada, bo):
        assert (await person.client.expect("request", state="accepted"))["room"] == room
        assert (await person.client.expect("conversation", event="opened"))["room"]["id"] == room
    joined = await bo.client.join(room)
    assert [m["text"] for m in joined["messages"]] == ["Hello, we make solar inverters."]
    assert joined["messages"][0]["user"]["id"] == ada.id
    await ada.client.join(room)
    ack = await bo.client.say(room, "Welcome! Let us talk.")
    await ada.client.expect("message", id=ack["id"])
    again = await conversation(ada, bo)  # contacts now: the 1:1 is there
    assert again.status_code == 200 and again.json()["room"]["id"] == room
    assert (await bo.ask({"type": "accept", "request": card["id"]}))["code"] == "not_found"


async def test_the_pending_cap_and_the_cooldown_hold(make_server):
    server = await make_server(limits=FAST, conversations={"max_pending": 2, "cooldown": 3600, "request_ttl": 1})
    ada, bo, cy, di = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"), ("Di", "en"))
    assert (await ada.ask({"type": "request", "to": bo.id, "text": "one"}))["type"] == "ack"
    again = await ada.ask({"type": "request", "to": bo.id, "text": "again"})
    assert again["code"] == "forbidden" and "waiting" in again["message"]
    assert (await ada.ask({"type": "request", "to": cy.id, "text": "two"}))["type"] == "ack"
    capped = await ada.ask({"type": "request", "to": di.id, "text": "three"})
    assert capped["code"] == "rate_limited" and "at most 2" in capped["message"]
    card = await cy.client.expect("request")
    assert (await cy.ask({"type": "decline", "request": card["id"]}))["type"] == "ack"
    assert (await ada.client.expect("request", state="declined"))["id"] == card["id"]
    cooled = await ada.ask({"type": "request", "to": cy.id, "text": "please"})
    assert cooled["code"] == "rate_limited" and "ask again" in cooled["message"]
    await asyncio.sleep(1.2)  # the request to Bo expires unanswered (request_ttl = 1 s): ignored
    ignored = await ada.ask({"type": "request", "to": bo.id, "text": "hello?"})
    assert ignored["code"] == "rate_limited" and "ask again" in ignored["message"]
    assert (await ada.ask({"type": "request", "to": di.id, "text": "hi Di"}))["type"] == "ack"  # the cap freed


async def test_policy_off_refuses_requests_and_conversations(make_server):
    server = await make_server(conversations={"policy": "off"})
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    assert (await conversation(ada, bo)).status_code == 403
    assert (await ada.ask({"type": "request", "to": bo.id, "text": "hi"}))["code"] == "forbidden"


async def test_a_block_stops_new_requests_and_conversations(make_server):
    server = await make_server(limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    await ada.ask({"type": "request", "to": bo.id, "text": "buy my stuff"})
    card = await bo.client.expect("request", state="pending")
    blocked = await bo.http("POST", "/api/blocks", json={"user": ada.id})
    assert blocked.status_code == 201
    assert (await bo.client.expect("request", state="withdrawn"))["id"] == card["id"]
    refused = await ada.ask({"type": "request", "to": bo.id, "text": "buy it!"})
    assert refused["code"] == "forbidden"
    assert (await conversation(ada, bo)).status_code == 403
    assert [u["id"] for u in (await bo.http("GET", "/api/blocks")).json()["users"]] == [ada.id]
    assert (await bo.http("DELETE", f"/api/blocks/{ada.id}")).status_code == 200
    assert (await ada.ask({"type": "request", "to": bo.id, "text": "sorry"}))["type"] == "ack"


# safety -------------------------------------------------------------------------------------
async def test_a_report_reaches_the_moderators_who_ban_event_wide(make_server):
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    moderator = await Person(server, "Mo", role=Role.MODERATOR).connect()
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    await bo.client.join(room)
    await ada.client.join("plenary")
    bad = await ada.client.say(room, "Send me your bank details")
    await moderator.client.expect("reports", open=0)  # the count after `ready`
    ack = await bo.ask({"type": "report", "room": room, "id": bad["id"], "reason": "scam"})
    assert ack["type"] == "ack"
    await moderator.client.expect("reports", open=1)  # a count, not the report
    await ada.client.silent("reports")
    stored = await moderator.http("GET", "/api/reports")
    [report] = stored.json()["reports"]
    assert report["id"] == ack["id"] and report["state"] == "open"
    assert report["message"]["text"] == "Send me your bank details" and report["message"]["user"]["id"] == ada.id
    assert report["reporter"]["id"] == bo.id and report["reason"] == "scam"
    assert (await bo.http("GET", "/api/reports")).status_code == 403

    assert (await moderator.ask({"type": "mute", "room": "*", "user": ada.id}))["type"] == "ack"
    assert (await ada.client.expect("moderation", room="*"))["action"] == "mute"
    for where in (room, "plenary"):
        await ada.client.send({"type": "send", "room": where, "text": "still here"})
        await ada.client.expect_error("muted")
    await ada.client.send({"type": "join", "room": "climate"})
    assert (await ada.client.expect("joined"))["you"]["muted_until"] is None  # muted until unmuted, here too
    assert (await moderator.ask({"type": "ban", "room": "*", "user": ada.id}))["type"] == "ack"
    removed = {(await ada.client.expect("left", reason="banned"))["room"] for _ in range(3)}
    assert removed == {room, "plenary", "climate"}
    assert await ada.client.closed() == 4403  # banned from every room it had
    again = await Client.connect(server.ws_url)  # a new connection is refused at `auth`
    await again.send({"type": "auth", "token": ada.token, "ref": "a"})
    await again.expect_error("banned", ref="a")
    assert await again.closed() == 4403
    delegate = await bo.ask({"type": "ban", "room": "*", "user": ada.id})
    assert delegate["code"] == "forbidden"
