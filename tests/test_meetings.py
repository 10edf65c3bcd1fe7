"""Matchmaking meetings (issue 26) against real servers on every backend: slots set by hosts,
propose -> accept -> both agendas, counter-proposals, decline, cancel, refusals, the organisers'
grid and CSV, calendar files parsed back by icalendar, and the double-booking race (on redis,
from two nodes at once)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from rooms import Role
from tests.test_conversations import FAST, Person, people

OPEN = {"policy": "open"}
START = (datetime.now(tz=UTC) + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


async def host_of(server: Any) -> Person:
    return await Person(server, "Host", "en", Role.HOST).connect()


async def add_slot(host: Person, minutes: int, places: list[str]) -> dict[str, Any]:
    response = await host.http(
        "POST", "/api/meeting-slots", json={"start": at(minutes), "end": at(minutes + 20), "places": places}
    )
    assert response.status_code == 201, response.text
    slot: dict[str, Any] = response.json()["slot"]
    return slot


async def propose(person: Person, other: Person, slots: list[str], **body: Any) -> Any:
    return await person.http("POST", "/api/meetings", json={"with": other.id, "slots": slots, **body})


async def test_propose_accept_and_both_agendas_and_calendars(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"), organization="Port Group")
    first = await add_slot(host, 0, ["Table 14", "Table 15"])
    second = await add_slot(host, 30, ["Table 14"])

    listed = (await li.http("GET", "/api/meeting-slots")).json()["slots"]
    assert [s["id"] for s in listed] == [first["id"], second["id"]]
    assert datetime.fromisoformat(listed[0]["start"]).utcoffset() is not None  # ISO 8601 with its offset
    assert [p["name"] for p in listed[0]["places"]] == ["Table 14", "Table 15"]
    assert all(p["free"] for s in listed for p in s["places"])

    response = await propose(li, anna, [first["id"], second["id"]], note="Cranes for Chengdu")
    assert response.status_code == 201, response.text
    meeting = response.json()["meeting"]
    assert meeting["state"] == "proposed" and meeting["turn"] == anna.id and meeting["with"]["id"] == anna.id
    told = await anna.client.expect("meeting", event="proposed")
    assert told["meeting"]["id"] == meeting["id"] and told["meeting"]["with"]["id"] == li.id
    assert told["meeting"]["note"] == "Cranes for Chengdu"
    await li.client.expect("meeting", event="proposed")

    not_yours = await li.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": first["id"]})
    assert not_yours.status_code == 403  # the proposer waits for the answer
    accepted = await anna.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": first["id"]})
    assert accepted.status_code == 200, accepted.text
    booked = accepted.json()["meeting"]
    assert booked["state"] == "booked" and booked["slot"] == first["id"] and booked["place_name"] == "Table 14"
    for person in (li, anna):
        frame = await person.client.expect("meeting", event="booked")
        assert frame["meeting"]["slot"] == first["id"]
        [agenda] = (await person.http("GET", "/api/me/meetings")).json()["meetings"]
        assert agenda["state"] == "booked" and agenda["start"] == listed[0]["start"]
        assert agenda["with"]["id"] == (anna.id if person is li else li.id)

    # the slot is no longer free for either of them, nor Table 14 for anyone
    again = {s["id"]: s for s in (await li.http("GET", "/api/meeting-slots")).json()["slots"]}
    assert not any(p["free"] for p in again[first["id"]]["places"])
    other = await Person(server, "Ola", "en").connect()
    theirs = {s["id"]: s for s in (await other.http("GET", "/api/meeting-slots")).json()["slots"]}
    assert {p["name"]: p["free"] for p in theirs[first["id"]]["places"]} == {"Table 14": False, "Table 15": True}

    whole = await li.http("GET", "/api/me/meetings.ics")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(whole.content).walk("VEVENT")
    assert event["location"] == "Table 14" and "Anna" in str(event["summary"])
    assert event.decoded("dtstart") == datetime.fromisoformat(listed[0]["start"])
    assert str(event["status"]) == "CONFIRMED"
    one = await anna.http("GET", f"/api/meetings/{meeting['id']}.ics")
    [single] = icalendar.Calendar.from_ical(one.content).walk("VEVENT")
    assert str(single["uid"]) == f"{meeting['id']}@babelroom" and "Li" in str(single["summary"])


async def test_a_counter_proposal_passes_the_turn_back(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"))
    first, second = await add_slot(host, 0, ["Table 1"]), await add_slot(host, 60, ["Table 1"])
    meeting = (await propose(li, anna, [first["id"]])).json()["meeting"]
    countered = await anna.http("POST", f"/api/meetings/{meeting['id']}/propose", json={"slots": [second["id"]]})
    assert countered.status_code == 200, countered.text
    assert countered.json()["meeting"]["turn"] == li.id and countered.json()["meeting"]["from"]["id"] == anna.id
    frame = await li.client.expect("meeting", event="countered")
    assert [s["id"] for s in frame["meeting"]["slots"]] == [second["id"]]
    stale = await li.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": first["id"]})
    assert stale.status_code == 400  # the first slot is off the table now
    done = await li.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": second["id"]})
    assert done.status_code == 200 and done.json()["meeting"]["slot"] == second["id"]
    await anna.client.expect("meeting", event="booked")


async def test_decline_with_a_reason_and_cancel_of_a_booking_tell_both(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"))
    slot = await add_slot(host, 0, ["Table 1"])
    declined = (await propose(li, anna, [slot["id"]])).json()["meeting"]
    answer = await anna.http("POST", f"/api/meetings/{declined['id']}/decline", json={"reason": "Not my field"})
    assert answer.status_code == 200 and answer.json()["meeting"]["state"] == "declined"
    frame = await li.client.expect("meeting", event="declined")
    assert frame["meeting"]["reason"] == "Not my field"
    twice = await anna.http("POST", f"/api/meetings/{declined['id']}/decline")
    assert twice.status_code == 409 and twice.json()["code"] == "conflict"

    meeting = (await propose(li, anna, [slot["id"]])).json()["meeting"]
    await anna.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": slot["id"]})
    cancelled = await li.http("POST", f"/api/meetings/{meeting['id']}/cancel")  # no body: no reason
    assert cancelled.status_code == 200 and cancelled.json()["meeting"]["state"] == "cancelled"
    await anna.client.expect("meeting", event="cancelled")
    # the slot and the table are free again
    listed = (await anna.http("GET", "/api/meeting-slots")).json()["slots"]
    assert listed[0]["places"][0]["free"] is True
    calendar = icalendar.Calendar.from_ical((await anna.http("GET", "/api/me/meetings.ics")).content)
    assert [str(e["status"]) for e in calendar.walk("VEVENT")] == ["CANCELLED"]


async def test_the_conversation_policy_applies_to_a_first_request(make_server):
    server = await make_server(limits=FAST)  # the bundled policy: request
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"))
    slot = await add_slot(host, 0, ["Table 1"])
    first = await propose(li, anna, [slot["id"]])
    assert first.status_code == 403 and "contact request" in first.json()["message"]
    assert (await li.ask({"type": "request", "to": anna.id, "text": "Hello from Chengdu"}))["type"] == "ack"
    card = await anna.client.expect("request", state="pending")
    assert (await anna.ask({"type": "accept", "request": card["id"]}))["type"] == "ack"
    assert (await propose(li, anna, [slot["id"]])).status_code == 201  # in contact now


async def test_blocked_and_banned_people_cannot_book(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna, ola = await people(server, ("Li", "zh"), ("Anna", "de"), ("Ola", "en"))
    slot = await add_slot(host, 0, ["Table 1"])
    meeting = (await propose(li, anna, [slot["id"]])).json()["meeting"]
    await anna.http("POST", "/api/blocks", json={"user": li.id})
    refused = await anna.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": slot["id"]})
    assert refused.status_code == 403  # blocked since the proposal: no booking
    assert (await propose(li, anna, [slot["id"]])).status_code == 403
    assert (await host.ask({"type": "ban", "room": "*", "user": ola.id}))["type"] == "ack"
    assert (await propose(li, ola, [slot["id"]])).status_code == 403


async def test_hosts_see_the_grid_export_csv_and_move_a_meeting(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li = await Person(server, "Li", "zh").connect()
    anna = await Person(server, "Anna", "de", Role.DELEGATE, organization='=HYPERLINK("x")').connect()
    first, second = await add_slot(host, 0, ["Table 1"]), await add_slot(host, 60, ["Table 2"])
    meeting = (await propose(li, anna, [first["id"]], note="Our prices")).json()["meeting"]
    await anna.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": first["id"]})
    assert (await li.http("GET", "/api/meetings/grid")).status_code == 403
    grid = (await host.http("GET", "/api/meetings/grid")).json()
    [row] = [r for r in grid["slots"] if r["slot"] == first["id"]]
    assert row["cells"][0]["meeting"]["id"] == meeting["id"] and "note" not in row["cells"][0]["meeting"]
    assert grid["days"][0]["booked"] == 1
    exported = await host.http("GET", "/api/meetings.csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[1][0] == meeting["id"] and rows[1][7].startswith("'=")  # no formula for a spreadsheet

    seen = (await host.http("GET", f"/api/meetings/{meeting['id']}")).json()["meeting"]
    assert seen["state"] == "booked" and seen["note"] == "" and "with" not in seen  # never the conversation
    moved = await host.http("POST", f"/api/meetings/{meeting['id']}/move", json={"slot": second["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["meeting"]["slot"] == second["id"] and moved.json()["meeting"]["place_name"] == "Table 2"
    for person in (li, anna):
        await person.client.expect("meeting", event="moved")


async def test_configured_slots_are_offered_in_the_event_time_zone(make_server):
    day = (datetime.now(tz=UTC) + timedelta(days=3)).date().isoformat()
    server = await make_server(
        conversations=OPEN,
        meetings={
            "timezone": "Europe/Helsinki",
            "days": (day,),
            "windows": ("14:00-15:00",),
            "slot_minutes": 20,
            "places": ("Table 14",),
            "online": "Video call",
        },
    )
    li = await Person(server, "Li", "zh").connect()
    slots = (await li.http("GET", "/api/meeting-slots")).json()["slots"]
    assert [s["start"][11:16] for s in slots] == ["14:00", "14:20", "14:40"]
    assert slots[0]["start"].endswith(("+02:00", "+03:00"))
    assert [p["name"] for p in slots[0]["places"]] == ["Table 14", "Video call"]
    online = slots[0]["places"][1]
    assert online["online"] is True and online["free"] is True
    anna = await Person(server, "Anna", "de").connect()
    meeting = (await propose(li, anna, [slots[0]["id"]], place=online["id"])).json()["meeting"]
    booked = (await anna.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": slots[0]["id"]})).json()
    assert booked["meeting"]["link"] == f"https://meet.jit.si/babelroom-{meeting['id']}"
    [event] = icalendar.Calendar.from_ical((await anna.http("GET", "/api/me/meetings.ics")).content).walk("VEVENT")
    assert str(event["url"]) == booked["meeting"]["link"] and event["location"] == "Video call"


async def test_bad_meeting_requests_are_refused_clearly(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"))
    slot = await add_slot(host, 0, ["Table 1"])
    assert (await propose(li, li, [slot["id"]])).status_code == 400
    assert (await propose(li, anna, ["s-nothing"])).status_code == 404
    assert (await propose(li, anna, [])).status_code == 400
    assert (
        await li.http("POST", "/api/meeting-slots", json={"start": at(0), "end": at(20), "places": ["T"]})
    ).status_code == 403
    naive = await host.http(
        "POST", "/api/meeting-slots", json={"start": "2026-12-08T14:00", "end": at(20), "places": ["T"]}
    )
    assert naive.status_code == 400 and naive.json()["field"] == "start"
    assert (await li.http("GET", "/api/meetings/m-nothing")).status_code == 404


@pytest.mark.parametrize("attempts", [24])
async def test_racing_bookings_of_one_slot_and_table_exactly_one_wins(make_server, backend_kind, attempts):
    """Many pairs race for Table 14 in one slot: each invitee accepts at once, through two nodes
    on redis (one node elsewhere). Exactly one booking wins; every other answer is 409 `taken`."""
    a = await make_server(conversations=OPEN, limits=FAST)
    b = await make_server(conversations=OPEN, limits=FAST) if backend_kind == "redis" else a
    host = await host_of(a)
    slot = await add_slot(host, 0, ["Table 14"])
    meetings = []
    for n in range(attempts):
        server = a if n % 2 else b
        proposer = Person(server, f"P{n}", "zh")
        invitee = await Person(server, f"I{n}", "de").connect()
        await proposer.connect()
        meeting = (await propose(proposer, invitee, [slot["id"]])).json()["meeting"]
        meetings.append((invitee, meeting))
    answers = await asyncio.gather(
        *(invitee.http("POST", f"/api/meetings/{m['id']}/accept", json={"slot": slot["id"]}) for invitee, m in meetings)
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * (attempts - 1), codes
    assert all(r.json()["code"] == "taken" for r in answers if r.status_code == 409)
    grid = (await host.http("GET", "/api/meetings/grid")).json()
    assert sum(1 for row in grid["slots"] for cell in row["cells"] if "meeting" in cell) == 1


async def test_the_note_reaches_each_reader_translated(make_server):
    server = await make_server(conversations=OPEN, limits=FAST, translation={"engines": ("apertium",)})
    host = await host_of(server)
    ada, sofia = await people(server, ("Ada", "en"), ("Sofia", "es"))
    slot = await add_slot(host, 0, ["Table 1"])
    meeting = (await propose(ada, sofia, [slot["id"]], note="See you later")).json()["meeting"]
    assert "note_tr" not in meeting and meeting["note"] == "See you later"  # Ada wrote it in English
    told = await sofia.client.expect("meeting", event="proposed")
    assert told["meeting"]["note_tr"] == {"lang": "es", "text": "Hasta luego"}
    [listed] = (await sofia.http("GET", "/api/me/meetings")).json()["meetings"]
    assert listed["note_tr"]["text"] == "Hasta luego" and listed["note_lang"] == "en"

    # the card in their conversation: its note is a message's text, translated for Sofia when she
    # opens the conversation (she was not in it when Ada proposed)
    room = meeting["room"]
    joined = await sofia.client.join(room)
    [card] = [m for m in joined["messages"] if "meeting" in m]
    assert card["text"] == "See you later" and card["lang"] == "en" and "tr" not in card
    translated = await sofia.client.expect("translation", room=room, id=card["id"])
    assert translated["text"] == "Hasta luego"
    # a cancellation's reason, while she is there: the honest `translating`, then the translation
    await ada.http("POST", f"/api/meetings/{meeting['id']}/cancel", json={"reason": "Good morning"})
    cancelled = await sofia.client.expect("message", room=room, text="Good morning")
    assert cancelled["meeting"]["step"] == "cancelled" and cancelled["translating"] == ["es"]
    assert (await sofia.client.expect("translation", room=room, id=cancelled["id"]))["text"] == "Buenos días"
    history = (await (await Person(server, "Sofia", "es").connect()).client.join(room))["messages"]
    assert [(m["meeting"]["step"], m["tr"]["text"]) for m in history if "meeting" in m] == [
        ("proposed", "Hasta luego"),
        ("cancelled", "Buenos días"),
    ]


# the steps as cards in the conversation (issue 26) ----------------------------------------------
def cards(messages: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(step, author id, text) of each meeting card among a conversation's messages, in order."""
    return [(m["meeting"]["step"], m["user"]["id"], m["text"]) for m in messages if "meeting" in m]


async def card_of(person: Person, room: str, step: str) -> dict[str, Any]:
    """The next live card of this step in the conversation (earlier messages there are passed over)."""
    while True:
        message = await person.client.expect("message", room=room)
        if message.get("meeting", {}).get("step") == step:
            return message


async def test_every_step_is_a_card_in_the_conversation_history_in_order(make_server):
    """Proposed, countered, booked, moved by a host, cancelled with a reason, then proposed and
    declined with a reason: each a `message` with `meeting` in the two people's conversation, live
    and in history (`joined`, `since`), among the messages."""
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna = await people(server, ("Li", "zh"), ("Anna", "de"))
    first, second = await add_slot(host, 0, ["Table 14"]), await add_slot(host, 60, ["Table 14", "Table 15"])

    meeting = (await propose(li, anna, [first["id"]], note="Cranes for Chengdu")).json()["meeting"]
    room = meeting["room"]
    assert room.startswith("c-")  # their 1:1, opened for the meeting (the policy is open)
    assert (await anna.http("GET", f"/api/meetings/{meeting['id']}")).json()["meeting"]["room"] == room
    told = await anna.client.expect("unread", room=room)  # her count and who wrote, though she joined nothing
    assert (told["unread"], told["by"]) == (1, {"id": li.id, "name": "Li"})
    joined = await anna.client.join(room)
    [card] = [m for m in joined["messages"] if "meeting" in m]
    assert card["id"] == told["id"]
    assert card["meeting"] == {
        "id": meeting["id"],
        "step": "proposed",
        "timezone": "UTC",
        "slots": [{"id": first["id"], "start": first["start"], "end": first["end"]}],
    }
    assert card["text"] == "Cranes for Chengdu" and card["user"] == {"id": li.id, "name": "Li"}
    await li.client.join(room)
    said = await li.client.say(room, "Shall we?")

    await anna.http(
        "POST", f"/api/meetings/{meeting['id']}/propose", json={"slots": [second["id"]], "note": "Later is better"}
    )
    countered = await card_of(li, room, "countered")
    assert countered["text"] == "Later is better" and countered["user"]["id"] == anna.id
    assert [s["id"] for s in countered["meeting"]["slots"]] == [second["id"]]
    await li.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": second["id"]})
    booked = await card_of(anna, room, "booked")
    assert booked["text"] == "" and booked["meeting"]["start"] == second["start"]
    assert booked["meeting"]["place_name"] == "Table 14" and "translating" not in booked  # nothing to translate

    moved = await host.http(
        "POST", f"/api/meetings/{meeting['id']}/move", json={"slot": second["id"], "place": second["places"][1]["id"]}
    )
    assert moved.status_code == 200, moved.text
    card = await card_of(li, room, "moved")
    assert card["meeting"]["place_name"] == "Table 15" and card["meeting"]["start"] == second["start"]
    assert card["user"]["id"] == host.id  # the organisers moved it
    await anna.http("POST", f"/api/meetings/{meeting['id']}/cancel", json={"reason": "My flight changed"})
    other = (await propose(li, anna, [first["id"]])).json()["meeting"]
    assert other["room"] == room  # the same conversation, found again
    await anna.http("POST", f"/api/meetings/{other['id']}/decline", json={"reason": "No time"})

    expected = [
        ("proposed", li.id, "Cranes for Chengdu"),
        ("countered", anna.id, "Later is better"),
        ("booked", li.id, ""),
        ("moved", host.id, ""),
        ("cancelled", anna.id, "My flight changed"),
        ("proposed", li.id, ""),
        ("declined", anna.id, "No time"),
    ]
    # a reader who comes back (a new connection) sees them in order, among the messages
    again = await Person(server, "Li", "zh").connect()
    history = (await again.client.join(room, history=50))["messages"]
    assert cards(history) == expected
    assert [m["id"] for m in history].index(said["id"]) == 1  # Li's message between the first two cards
    replay = await (await Person(server, "Anna", "de").connect()).client.join(room, since=said["id"])
    assert cards(replay["messages"]) == expected[1:] and replay["recovered"] is True
    # the organisers never see the conversation; a card is not a message one may edit
    assert "room" not in (await host.http("GET", f"/api/meetings/{meeting['id']}")).json()["meeting"]
    first_card = next(m for m in history if "meeting" in m)
    edit = await again.ask({"type": "edit", "room": room, "id": first_card["id"], "text": "Something else"})
    assert edit["type"] == "error" and edit["code"] == "forbidden"


async def test_a_lost_booking_race_answers_the_next_free_slots_for_both(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna, ola, sam, eve = await people(
        server, ("Li", "zh"), ("Anna", "de"), ("Ola", "en"), ("Sam", "en"), ("Eve", "en")
    )
    early, first, second, third = (
        await add_slot(host, -60, ["Table 14"]),
        await add_slot(host, 0, ["Table 14"]),
        await add_slot(host, 60, ["Table 14"]),
        await add_slot(host, 120, ["Table 14"]),
    )
    ours = (await propose(li, anna, [first["id"]])).json()["meeting"]
    theirs = (await propose(ola, sam, [first["id"], second["id"]])).json()["meeting"]
    busy = (await propose(eve, sam, [second["id"]])).json()["meeting"]
    for person, booked, slot in ((sam, busy, second), (anna, ours, first)):
        answer = await person.http("POST", f"/api/meetings/{booked['id']}/accept", json={"slot": slot["id"]})
        assert answer.status_code == 200
    lost = await sam.http("POST", f"/api/meetings/{theirs['id']}/accept", json={"slot": first["id"]})
    assert lost.status_code == 409
    body = lost.json()
    assert body["code"] == "taken"
    # the next slots Ola and Sam both have free: not the lost one (Table 14 taken), not the second
    # (Sam meets Eve then); the third, then the earlier one still to come
    assert [s["id"] for s in body["next"]] == [third["id"], early["id"]]
    assert body["next"][0]["start"] == third["start"]
    assert body["next"][0]["places"] == [{"id": third["places"][0]["id"], "name": "Table 14", "free": True}]


async def test_a_host_sees_where_a_meeting_may_move_and_moving_tells_both(make_server):
    server = await make_server(conversations=OPEN, limits=FAST)
    host = await host_of(server)
    li, anna, ola = await people(server, ("Li", "zh"), ("Anna", "de"), ("Ola", "en"))
    first, second = await add_slot(host, 0, ["Table 1", "Table 2"]), await add_slot(host, 60, ["Table 1"])
    meeting = (await propose(li, anna, [first["id"]])).json()["meeting"]
    await anna.http(
        "POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": first["id"], "place": first["places"][0]["id"]}
    )
    blocker = (await propose(ola, li, [second["id"]])).json()["meeting"]
    await li.http("POST", f"/api/meetings/{blocker['id']}/accept", json={"slot": second["id"]})
    assert (await ola.http("GET", f"/api/meetings/{meeting['id']}/free-slots")).status_code == 404  # not hers
    free = (await host.http("GET", f"/api/meetings/{meeting['id']}/free-slots")).json()["slots"]
    # its own table aside, Table 2 then; Li meets Ola in the second slot
    assert [(s["id"], [p["name"] for p in s["places"]]) for s in free] == [(first["id"], ["Table 2"])]
    same = await host.http("POST", f"/api/meetings/{meeting['id']}/move", json={"slot": first["id"]})
    assert same.status_code == 400
    moved = await host.http(
        "POST", f"/api/meetings/{meeting['id']}/move", json={"slot": first["id"], "place": free[0]["places"][0]["id"]}
    )
    assert moved.status_code == 200 and moved.json()["meeting"]["place_name"] == "Table 2"
    for person in (li, anna):
        frame = await person.client.expect("meeting", event="moved")
        assert frame["meeting"]["place_name"] == "Table 2"


async def test_across_two_nodes_propose_counter_accept_agendas_cancel_and_cards(make_server, backend_kind):
    """On redis, two nodes: Li proposes through one, Anna counter-proposes through the other, Li
    accepts, both agendas show it on both nodes, Anna cancels; each hears the other's steps (frames
    and cards) live, and a reader joining on either node reads every card in order."""
    a = await make_server(conversations=OPEN, limits=FAST)
    b = await make_server(conversations=OPEN, limits=FAST) if backend_kind == "redis" else a
    host = await host_of(a)
    first, second = await add_slot(host, 0, ["Table 14"]), await add_slot(host, 30, ["Table 14"])
    li, anna = await Person(a, "Li", "zh").connect(), await Person(b, "Anna", "de").connect()
    opened = await li.http("POST", "/api/conversations", json={"with": [anna.id]})
    room = opened.json()["room"]["id"]
    await li.client.join(room)
    await anna.client.join(room)
    meeting = (await propose(li, anna, [first["id"]], note="港口设备")).json()["meeting"]
    assert meeting["room"] == room  # their 1:1, found
    await anna.client.expect("meeting", event="proposed")
    proposed = await card_of(anna, room, "proposed")
    assert proposed["text"] == "港口设备" and proposed["user"]["id"] == li.id
    countered = await anna.http("POST", f"/api/meetings/{meeting['id']}/propose", json={"slots": [second["id"]]})
    assert countered.status_code == 200
    await li.client.expect("meeting", event="countered")
    assert [s["id"] for s in (await card_of(li, room, "countered"))["meeting"]["slots"]] == [second["id"]]
    accepted = await li.http("POST", f"/api/meetings/{meeting['id']}/accept", json={"slot": second["id"]})
    assert accepted.status_code == 200
    await anna.client.expect("meeting", event="booked")
    assert (await card_of(anna, room, "booked"))["meeting"]["place_name"] == "Table 14"
    for server in {a, b}:  # both agendas, read through either node
        for person in (li, anna):
            reader = Person(server, person.name, person.lang)
            [agenda] = (await reader.http("GET", "/api/me/meetings")).json()["meetings"]
            assert agenda["state"] == "booked" and agenda["slot"] == second["id"]
    assert (
        await anna.http("POST", f"/api/meetings/{meeting['id']}/cancel", json={"reason": "Flug"})
    ).status_code == 200
    assert (await li.client.expect("meeting", event="cancelled"))["meeting"]["reason"] == "Flug"
    assert (await card_of(li, room, "cancelled"))["text"] == "Flug"
    for server in {a, b}:
        reader = await Person(server, "Anna", "de").connect()
        assert cards((await reader.client.join(room))["messages"]) == [
            ("proposed", li.id, "港口设备"),
            ("countered", anna.id, ""),
            ("booked", li.id, ""),
            ("cancelled", anna.id, "Flug"),
        ]
