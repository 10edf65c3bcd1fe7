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
@pytest.mark.parametrize(
    "fields, says",
    [
        ({"country": "Finland"}, "ISO 3166"),
        ({"country": "XX"}, "ISO 3166"),
        ({"bio": "x" * 281}, "280"),
        ({"organization": "o" * 81}, "80"),
        ({"organization": 7}, "string"),
    ],
)
async def test_session_profiles_are_validated(server, fields, says):
    async with server.http() as http:
        response = await http.post("/api/session", json={"name": "Aino", "lang": "en", **fields})
    assert response.status_code == 400 and says in response.json()["message"]


async def test_the_directory_searches_filters_pages_and_shows_who_is_online(make_server):
    server = await make_server(conversations={"policy": "open"})
    async with server.http() as http:
        answer = await http.post(
            "/api/session",
            json={
                "name": "Aino",
                "lang": "de",
                "organization": "Sauna Oy",
                "country": "fi",
                "bio": "Saunas for export",
            },
        )
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
        assert (
            await http.patch(f"/api/rooms/{room['id']}", json={"title": "x"}, headers=bearer(host.token))
        ).status_code == 404
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
    assert (await server.node.stores.rooms.get_room(room)).state.value == "closed"
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
    await bo.client.join(room)  # joining shows nothing read: only `read` moves the position
    assert await unread(bo) == 2
    assert (await bo.ask({"type": "read", "room": room, "id": ids[-1]}))["type"] == "ack"
    assert await unread(bo) == 0
    await bo.client.send({"type": "leave", "room": room})
    await bo.client.expect("left")
    await ada.client.say(room, "One more")
    assert await unread(bo) == 1


async def test_reconnecting_marks_nothing_read(make_server):
    """A device that drops and comes back replays what it missed (`since`, then `history` pages):
    none of it counts as read until the person reads it (`read`)."""
    server = await make_server(conversations={"policy": "open"}, limits={**FAST, "history_max": 2})
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    await bo.client.join(room)
    seen = await ada.client.say(room, "Before the drop")
    assert (await bo.ask({"type": "read", "room": room, "id": seen["id"]}))["type"] == "ack"
    await bo.client.close()
    missed = [(await ada.client.say(room, f"Missed {n}"))["id"] for n in range(3)]
    await bo.connect()
    back = await bo.client.join(room, since=seen["id"])  # a page of 2, then the rest
    assert back["more"] is True and [m["id"] for m in back["messages"]] == missed[:2]
    assert (back["you"]["read"], back["you"]["unread"]) == (seen["id"], 3)
    rest = await bo.ask({"type": "history", "room": room, "after": missed[1], "limit": 2})
    assert [m["id"] for m in rest["messages"]] == missed[2:]
    listed = (await bo.http("GET", "/api/conversations")).json()["conversations"]
    assert [(c["id"], c["unread"]) for c in listed] == [(room, 3)]
    assert (await bo.client.join(room))["you"] == {"role": "delegate", "read": seen["id"], "unread": 3}
    assert (await bo.ask({"type": "read", "room": room, "id": missed[1]}))["type"] == "ack"
    assert (await bo.client.join(room))["you"]["unread"] == 1


async def test_a_read_on_one_device_reaches_the_persons_other_devices_at_once(make_server):
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    await bo.client.join(room)
    laptop = await Person(server, "Bo").connect()  # Bo's other device, in no room
    ids = [(await ada.client.say(room, f"Point {n}"))["id"] for n in range(3)]
    assert (await bo.ask({"type": "read", "room": room, "id": ids[0]}))["type"] == "ack"
    for device in (laptop.client, bo.client):  # the reading device too: one frame for all
        told = await device.expect("unread", room=room, read=ids[0])
        assert told == {"type": "unread", "room": room, "read": ids[0], "unread": 2}
    await ada.client.silent("unread")  # nobody else's
    await ada.client.join("plenary")  # in a public room too
    await bo.client.join("plenary")
    said = await ada.client.say("plenary", "Public")
    assert (await bo.ask({"type": "read", "room": "plenary", "id": said["id"]}))["type"] == "ack"
    assert (await laptop.client.expect("unread", room="plenary"))["unread"] == 0


async def test_a_private_message_reaches_every_device_of_the_other_members(make_server):
    """Every conversation's count and notification, not only those a client has joined: each other
    member's connections get their new count with who wrote; the author and outsiders get nothing."""
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "de"), ("Cy", "en"))
    room = (await conversation(ada, bo)).json()["room"]["id"]
    await ada.client.join(room)
    first = await ada.client.say(room, "Hello Bo")
    told = await bo.client.expect("unread", room=room)  # Bo joined nothing
    assert told == {"type": "unread", "room": room, "unread": 1, "id": first["id"], "by": {"id": ada.id, "name": "Ada"}}
    assert (await bo.ask({"type": "read", "room": room, "id": first["id"]}))["type"] == "ack"
    await bo.client.expect("unread", room=room, read=first["id"])
    second = await ada.client.say(room, "Are you there?")
    told = await bo.client.expect("unread", room=room, id=second["id"])
    assert (told["read"], told["unread"]) == (first["id"], 1)
    for outsider in (ada, cy):
        await outsider.client.silent("unread")
    assert (await bo.http("POST", "/api/blocks", json={"user": ada.id})).status_code == 201
    await ada.client.expect("left", room=room)  # a block ends what they share: nothing more reaches Bo
    assert (await ada.ask({"type": "send", "room": room, "text": "Bo?"}))["type"] == "error"
    await bo.client.silent("unread")


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


async def test_requests_are_500_characters_at_most(make_server):
    server = await make_server(limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    long = await ada.ask({"type": "request", "to": bo.id, "text": "x" * 2000})
    assert long["code"] == "too_large" and "500" in long["message"]
    assert (await ada.ask({"type": "request", "to": bo.id, "text": " "}))["code"] == "bad_frame"
    await bo.client.silent("request")
    assert (await ada.ask({"type": "request", "to": bo.id, "text": "y" * 500}))["type"] == "ack"


async def test_forty_fresh_identities_cannot_flood_one_victim(make_server):
    server = await make_server(limits=FAST)  # the default cap: 20 requests waiting from strangers
    victim, friend = await people(server, ("Victim", "en"), ("Friend", "en"))
    await friend.ask({"type": "request", "to": victim.id, "text": "hi, it is me"})
    card = await victim.client.expect("request", state="pending")
    await victim.ask({"type": "accept", "request": card["id"]})  # a contact now
    spammers = await people(server, *((f"Spam{n}", "en") for n in range(40)))
    answers = await asyncio.gather(
        *(s.ask({"type": "request", "to": victim.id, "text": f"buy {n}"}) for n, s in enumerate(spammers))
    )
    assert sum(a["type"] == "ack" for a in answers) == 20
    full = [a for a in answers if a["type"] == "error"]
    assert len(full) == 20 and all(a["code"] == "inbox_full" for a in full)
    assert "too many requests" in full[0]["message"]
    assert len((await victim.http("GET", "/api/requests")).json()["incoming"]) == 20
    # the cap is the victim's alone: the spammers' other requests go on, and a decline frees a place
    others = await people(server, ("Other", "en"))
    assert (await spammers[0].ask({"type": "request", "to": others[0].id, "text": "hi"}))["type"] == "ack"
    first = next(r for r in (await victim.http("GET", "/api/requests")).json()["incoming"])
    assert (await victim.ask({"type": "decline", "request": first["id"]}))["type"] == "ack"
    late = await people(server, ("Late", "en"))
    assert (await late[0].ask({"type": "request", "to": victim.id, "text": "hello"}))["type"] == "ack"
    refused = await people(server, ("Later", "en"))
    assert (await refused[0].ask({"type": "request", "to": victim.id, "text": "hello"}))["code"] == "inbox_full"


async def test_a_block_ends_every_shared_conversation_both_ways(make_server):
    server = await make_server(conversations={"policy": "open"}, limits=FAST)
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    one = (await conversation(ada, bo)).json()["room"]["id"]
    group = (await conversation(cy, ada, bo)).json()["room"]["id"]
    for person in (ada, bo, cy):
        for room in [one, group] if person is not cy else [group]:
            await person.client.join(room)
    await bo.client.say(one, "before the block")
    await ada.client.expect("message", text="before the block")
    await bo.client.expect("message", text="before the block")
    assert (await ada.http("POST", "/api/blocks", json={"user": bo.id})).status_code == 201
    assert {(await bo.client.expect("left", reason="blocked"))["room"] for _ in range(2)} == {one, group}
    for room in (one, group):  # B's next message is refused and reaches nobody
        await bo.client.send({"type": "send", "room": room, "text": "still here?", "ref": f"s-{room}"})
        assert (await bo.client.expect_error("not_joined"))["ref"] == f"s-{room}"
        await bo.client.send({"type": "join", "room": room})
        await bo.client.expect_error("not_found")  # nor can B come back
        await bo.client.send({"type": "history", "room": room, "ref": f"h-{room}"})
        assert (await bo.client.expect("error", ref=f"h-{room}"))["code"] in ("not_found", "not_joined")
    await ada.client.silent("message")
    assert [c["id"] for c in (await bo.http("GET", "/api/conversations")).json()["conversations"]] == []
    # A keeps both; the 1:1 is A's read-only record, the group goes on for A and C without B
    listed = {c["id"]: c for c in (await ada.http("GET", "/api/conversations")).json()["conversations"]}
    assert [m["id"] for m in listed[one]["members"]] == [ada.id] and listed[one]["state"] == "read_only"
    assert sorted(m["id"] for m in listed[group]["members"]) == sorted([ada.id, cy.id])
    await ada.client.send({"type": "send", "room": one, "text": "hello?", "ref": "ro"})
    assert (await ada.client.expect_error("forbidden"))["ref"] == "ro"
    said = await cy.client.say(group, "on we go")
    await ada.client.expect("message", id=said["id"])
    await bo.client.silent("message")
    # unblocking lifts the refusals and gives back nothing: B is in neither conversation
    assert (await ada.http("DELETE", f"/api/blocks/{bo.id}")).status_code == 200
    await bo.client.send({"type": "join", "room": group})
    await bo.client.expect_error("not_found")
    fresh = await conversation(bo, ada)  # a new 1:1 is a new start, asked for in the open
    assert fresh.status_code == 201 and fresh.json()["room"]["id"] != one


async def test_a_block_ends_the_contact_and_the_requests_both_ways(make_server):
    server = await make_server(limits=FAST)  # policy request
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    await ada.ask({"type": "request", "to": bo.id, "text": "hello"})
    card = await bo.client.expect("request", state="pending")
    room = (await bo.ask({"type": "accept", "request": card["id"]}))["room"]
    await ada.ask({"type": "send", "room": room, "text": "x"})  # noise the block does not care about
    assert (await ada.http("POST", "/api/blocks", json={"user": bo.id})).status_code == 201
    assert (await conversation(ada, bo)).status_code == 403  # the blocker must unblock first
    assert (await ada.ask({"type": "request", "to": bo.id, "text": "hi"}))["code"] == "forbidden"
    assert (await ada.http("DELETE", f"/api/blocks/{bo.id}")).status_code == 200
    again = await conversation(bo, ada)  # contacts no more: a new request comes first
    assert again.status_code == 403 and "contact request" in again.json()["message"]


async def test_a_group_invitation_is_a_request_each_invitee_accepts(make_server):
    server = await make_server(limits=FAST, conversations={"cooldown": 3600})  # policy request
    cy, ada, bo = await people(server, ("Cy", "en"), ("Ada", "en"), ("Bo", "en"))
    started = await conversation(cy, ada, bo, title="Solar buyers")
    assert started.status_code == 201 and sorted(started.json()["invited"]) == sorted([ada.id, bo.id])
    group = started.json()["room"]
    assert [m["id"] for m in group["members"]] == [cy.id]  # nobody else until they accept
    cards = {}
    for person in (ada, bo):
        cards[person.id] = card = await person.client.expect("request", state="pending")
        assert card["from"]["id"] == cy.id and card["group"] == {"id": group["id"], "title": "Solar buyers"}
    await cy.client.join(group["id"])
    await cy.client.say(group["id"], "before anyone accepted")
    await ada.client.send({"type": "join", "room": group["id"]})
    await ada.client.expect_error("not_found")  # not delivered, not readable before accepting
    accepted = await ada.ask({"type": "accept", "request": cards[ada.id]["id"]})
    assert accepted["room"] == group["id"]
    assert (await ada.client.expect("conversation", event="opened"))["room"]["id"] == group["id"]
    joined_notice = await cy.client.expect("conversation", event="joined")
    assert joined_notice["user"]["id"] == ada.id
    joined = await ada.client.join(group["id"])
    assert [m["text"] for m in joined["messages"]] == ["before anyone accepted"]
    assert (await bo.ask({"type": "decline", "request": cards[bo.id]["id"]}))["type"] == "ack"
    assert (await cy.client.expect("request", state="declined"))["to"] == bo.id
    cooled = await conversation(cy, bo, ada)  # a declined invitation starts the cooldown like any request
    assert cooled.status_code == 429 and cooled.json()["message"].startswith("Bo: ")
    assert (await cy.ask({"type": "request", "to": bo.id, "text": "please"}))["code"] == "rate_limited"
    again = await conversation(cy, ada, bo)  # one invitation waiting per pair: no flood of groups
    assert again.status_code == 429


@pytest.mark.parametrize("policy", ["open", "request"])
async def test_nobody_puts_two_people_into_a_group_when_one_blocks_the_other(make_server, policy):
    server = await make_server(conversations={"policy": policy}, limits=FAST)
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    assert (await ada.http("POST", "/api/blocks", json={"user": bo.id})).status_code == 201
    for starter, others in ((cy, (ada, bo)), (cy, (bo, ada))):  # a contact of both
        refused = await conversation(starter, *others)
        assert refused.status_code == 403 and "blocks another" in refused.json()["message"], refused.text
    assert (await conversation(bo, cy, ada)).status_code == 403  # nor the blocked person
    assert (await ada.http("GET", "/api/conversations")).json()["conversations"] == []
    await ada.client.silent("request")


async def test_an_invitee_blocked_meanwhile_cannot_join(make_server):
    server = await make_server(limits=FAST)  # policy request
    cy, ada, bo = await people(server, ("Cy", "en"), ("Ada", "en"), ("Bo", "en"))
    group = (await conversation(cy, ada, bo)).json()["room"]["id"]
    ada_card = await ada.client.expect("request", state="pending")
    bo_card = await bo.client.expect("request", state="pending")
    await ada.ask({"type": "accept", "request": ada_card["id"]})
    assert (await ada.http("POST", "/api/blocks", json={"user": bo.id})).status_code == 201
    refused = await bo.ask({"type": "accept", "request": bo_card["id"]})
    assert refused["code"] == "forbidden" and "block" in refused["message"]
    members = (await cy.http("GET", "/api/conversations")).json()["conversations"][0]["members"]
    assert sorted(m["id"] for m in members) == sorted([cy.id, ada.id]) and group


async def test_the_blocks_list_shows_what_each_chose_to_show_and_no_online_flag(make_server):
    server = await make_server(limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"), organization="Acme Oy", bio="Saunas")
    assert (await bo.http("PATCH", "/api/me", json={"hidden": True})).status_code == 200
    for user in (bo.id, "u_anyone"):  # any id may be blocked: the list must not tell who is online
        assert (await ada.http("POST", "/api/blocks", json={"user": user})).status_code == 201
    listed = (await ada.http("GET", "/api/blocks")).json()["users"]
    assert listed == [{"id": "u_anyone", "name": "u_anyone"}, {"id": bo.id, "name": "Bo"}]  # by id
    await bo.http("PATCH", "/api/me", json={"hidden": False})
    shown = (await ada.http("GET", "/api/blocks")).json()["users"][1]
    assert shown["organization"] == "Acme Oy" and shown["bio"] == "Saunas" and "online" not in shown


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
