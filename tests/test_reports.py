"""Reports a moderator can work (issue 20), against real servers on every backend: one report per
person and message, a per-person rate, reports kept and paged with a cursor, the inbox grouped by
message in the moderator's language, actions that close a message's reports for every moderator
on every node, and a count (`reports {open}`) instead of a frame per report."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rooms import Role
from tests.test_conversations import FAST, Person, people
from translation.apertium import discover

redis_only = pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])


async def report(person: Person, room: str, message_id: str, reason: str | None = None) -> dict[str, Any]:
    frame = {"type": "report", "room": room, "id": message_id, **({"reason": reason} if reason else {})}
    return await person.ask(frame)


async def all_reports(person: Person, limit: int, **params: str) -> list[dict[str, Any]]:
    """Every report, page by page with the `next` cursor."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        answer = await person.http("GET", "/api/reports", params={"limit": limit, "cursor": cursor, **params})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["reports"]) <= limit
        found += body["reports"]
        if body["next"] is None:
            return found
        cursor = body["next"]


async def test_one_report_per_person_and_message_paged_and_closed_by_a_moderator(make_server):
    server = await make_server(limits=FAST)
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    for person in (ada, bo, cy):
        await person.client.join("plenary")
    bad = await ada.client.say("plenary", "Buy cheap watches at example.com")
    fine = await ada.client.say("plenary", "The session starts at ten")
    moderator = await Person(server, "Mo", role=Role.MODERATOR).connect()
    await moderator.client.expect("reports", open=0)

    first = await report(bo, "plenary", bad["id"], "spam")
    assert first["type"] == "ack"
    again = await report(bo, "plenary", bad["id"], "spam!!")  # a repeat: the same report, nothing stored
    assert again["type"] == "ack" and again["id"] == first["id"]
    assert (await report(cy, "plenary", bad["id"]))["type"] == "ack"
    assert (await report(cy, "plenary", fine["id"], "rude"))["type"] == "ack"
    await moderator.client.expect("reports", open=3)
    await moderator.client.silent("report")  # no frame per report any more
    for person in (ada, bo, cy):
        await person.client.silent("reports")

    listed = await all_reports(moderator, limit=2)
    assert [(r["reporter"]["id"], r["message"]["id"], r["state"]) for r in listed] == [
        (bo.id, bad["id"], "open"),
        (cy.id, bad["id"], "open"),
        (cy.id, fine["id"], "open"),
    ]
    assert listed[0]["reason"] == "spam" and listed[0]["message"]["text"] == "Buy cheap watches at example.com"
    inbox = (await moderator.http("GET", "/api/reports/inbox")).json()
    assert inbox["open"] == 3
    assert [(g["message"]["id"], g["reporters"]) for g in inbox["groups"]] == [(bad["id"], 2), (fine["id"], 1)]

    dismissed = await moderator.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": fine["id"], "action": "dismiss"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"
    await moderator.client.expect("reports", open=2)
    deleted = await moderator.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": bad["id"], "action": "delete"}
    )
    assert deleted.status_code == 200 and len(deleted.json()["closed"]) == 2
    assert (await bo.client.expect("deleted", id=bad["id"]))["by"]["id"] == moderator.id
    await moderator.client.expect("reports", open=0)
    closed_again = await moderator.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": bad["id"], "action": "dismiss"}
    )
    assert closed_again.status_code == 404  # closed already: nothing happens twice

    states = {
        r["message"]["id"]: (r["state"], r["closed"]["by"]["id"], r["closed"]["action"])
        for r in await all_reports(moderator, limit=100)
    }
    assert states == {
        bad["id"]: ("actioned", moderator.id, "delete"),
        fine["id"]: ("dismissed", moderator.id, "dismiss"),
    }
    assert [r["state"] for r in await all_reports(moderator, limit=100, state="open")] == []
    # a person who reported a message once cannot report it again, even closed
    assert (await report(cy, "plenary", fine["id"]))["id"] == listed[2]["id"]
    assert (await moderator.http("GET", "/api/reports/inbox")).json() == {"open": 0, "lang": "en", "groups": []}


async def test_mute_and_ban_the_author_close_the_report_and_only_event_moderators_work_reports(make_server):
    server = await make_server(limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    for person in (ada, bo):
        await person.client.join("plenary")
    first = await ada.client.say("plenary", "first insult")
    second = await ada.client.say("plenary", "second insult")
    for message in (first, second):
        assert (await report(bo, "plenary", message["id"]))["type"] == "ack"
    scoped = Person(server, "Sam", role=Role.MODERATOR)
    scoped.token = server.token("Sam", Role.MODERATOR, "en", user_id=scoped.id, rooms=["plenary"])
    for outsider in (bo, scoped):
        assert (await outsider.http("GET", "/api/reports")).status_code == 403
        assert (await outsider.http("GET", "/api/reports/inbox")).status_code == 403
        refused = await outsider.http(
            "POST", "/api/reports/close", json={"room": "plenary", "message": first["id"], "action": "dismiss"}
        )
        assert refused.status_code == 403
    host = await Person(server, "Hana", role=Role.HOST).connect()
    await host.client.expect("reports", open=2)  # a moderator who was away sees the count on arrival

    muted = await host.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": first["id"], "action": "mute", "seconds": 600}
    )
    assert muted.status_code == 200, muted.text
    moderation = await ada.client.expect("moderation", action="mute")
    assert moderation["room"] == "plenary" and moderation["user"] == ada.id
    banned = await host.http(
        "POST",
        "/api/reports/close",
        json={"room": "plenary", "message": second["id"], "action": "ban", "reason": "insults"},
    )
    assert banned.status_code == 200, banned.text
    assert (await ada.client.expect("left"))["reason"] == "banned"
    await host.client.expect("reports", open=0)
    bad_action = await host.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": first["id"], "action": "shout"}
    )
    assert bad_action.status_code == 400 and bad_action.json()["field"] == "action"
    assert (await host.http("GET", "/api/reports", params={"cursor": "nope"})).status_code == 400
    assert (await host.http("GET", "/api/reports", params={"limit": "0"})).status_code == 400


async def test_a_reported_message_deleted_in_its_room_closes_its_reports(make_server):
    server = await make_server(limits=FAST)
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "en"))
    moderator = await Person(server, "Mo", role=Role.MODERATOR).connect()
    for person in (ada, bo, moderator):
        await person.client.join("plenary")
    said = await ada.client.say("plenary", "rude words")
    assert (await report(bo, "plenary", said["id"]))["type"] == "ack"
    await moderator.client.expect("reports", open=1)
    assert (await moderator.ask({"type": "delete", "room": "plenary", "id": said["id"]}))["type"] == "ack"
    await moderator.client.expect("reports", open=0)
    [closed] = (await moderator.http("GET", "/api/reports")).json()["reports"]
    assert closed["state"] == "actioned" and closed["closed"]["action"] == "delete"
    assert closed["closed"]["by"]["id"] == moderator.id


async def test_fresh_identities_flooding_reports_do_not_bury_the_real_one(make_server):
    """The attack of the issue: 21 fresh identities file 210 reports at once. The per-person rate
    refuses most of them (`rate_limited`, saying how long to wait), the rest group by message, and
    the real report stays listed, in the inbox and in the paged list."""
    server = await make_server(limits=FAST)
    ada, bo, cy = await people(server, ("Ada", "en"), ("Bo", "en"), ("Cy", "en"))
    for person in (ada, bo, cy):
        await person.client.join("plenary")
    innocent = [await ada.client.say("plenary", f"Agenda item {n}") for n in range(10)]
    real = await bo.client.say("plenary", "Send me your passport number in a private message")
    moderator = await Person(server, "Mo", role=Role.MODERATOR).connect()
    await moderator.client.expect("reports", open=0)
    the_report = await report(cy, "plenary", real["id"], "phishing")
    assert the_report["type"] == "ack"
    assert (await report(cy, "plenary", real["id"], "phishing"))["id"] == the_report["id"]

    attackers = [await Person(server, f"Troll{n}", "en").connect() for n in range(21)]
    for troll in attackers:
        await troll.client.join("plenary")

    async def flood(troll: Person) -> list[dict[str, Any]]:
        for n, message in enumerate(innocent):  # ten frames at once, then the answers
            await troll.client.send({"type": "report", "room": "plenary", "id": message["id"], "ref": f"f{n}"})
        return [await troll._answer(f"f{n}") for n in range(len(innocent))]

    answers = [answer for each in await asyncio.gather(*(flood(t) for t in attackers)) for answer in each]
    assert len(answers) == 210
    acked = [a for a in answers if a["type"] == "ack"]
    limited = [a for a in answers if a.get("code") == "rate_limited"]
    assert len(acked) == 21 * 5 and len(limited) == 21 * 5  # [conversations] report_burst = 5 each
    # the wait, in seconds: at most one token's time (3600 s / 20 reports an hour)
    assert all(0 < a["retry_after"] <= 180 and f"again in {a['retry_after']} s" in a["message"] for a in limited)

    await moderator.client.expect("reports", open=1 + 105, timeout=15)
    counts = [f for f in moderator.client.seen if f["type"] == "reports"]
    assert len(counts) < 106  # counts coalesced per node, not one frame per report
    inbox = (await moderator.http("GET", "/api/reports/inbox")).json()
    assert inbox["open"] == 106
    groups = {g["message"]["id"]: g for g in inbox["groups"]}
    assert groups[real["id"]]["reporters"] == 1 and groups[real["id"]]["reasons"] == ["phishing"]
    assert sorted(g["reporters"] for g in inbox["groups"]) == [1] + [21] * 5  # 106 reports, 6 lines
    listed = await all_reports(moderator, limit=25)
    assert len(listed) == 106 and the_report["id"] in {r["id"] for r in listed}


@pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")
async def test_the_inbox_shows_the_reported_text_in_the_moderators_language(make_server):
    server = await make_server(limits=FAST, translation={"engines": ("apertium",)})
    ada, bo = await people(server, ("Ada", "en"), ("Bo", "es"))
    for person in (ada, bo):
        await person.client.join("plenary")
    said = await ada.client.say("plenary", "Good morning everyone, the session starts in ten minutes")
    spanish = await bo.client.expect("translation", id=said["id"])
    assert (await report(bo, "plenary", said["id"], "spam"))["type"] == "ack"
    moderator = await Person(server, "Mo", "es", role=Role.MODERATOR).connect()
    inbox = (await moderator.http("GET", "/api/reports/inbox")).json()
    assert inbox["lang"] == "es"
    [group] = inbox["groups"]
    assert group["message"]["text"] == "Good morning everyone, the session starts in ten minutes"
    assert group["message"]["tr"] == {"lang": "es", "text": spanish["text"]} and "Buenos días" in spanish["text"]
    english = (await moderator.http("GET", "/api/reports/inbox", params={"lang": "en"})).json()
    assert "tr" not in english["groups"][0]["message"]  # the original is the English reader's text


@redis_only
async def test_a_dismiss_on_node_a_closes_the_report_for_the_moderator_on_node_b(make_server):
    a, b = await make_server(limits=FAST), await make_server(limits=FAST)
    [ada] = await people(a, ("Ada", "en"))
    [bo] = await people(b, ("Bo", "en"))
    for person in (ada, bo):
        await person.client.join("plenary")
    said = await ada.client.say("plenary", "Something rude")
    on_a = await Person(a, "Mo", role=Role.MODERATOR).connect()
    on_b = await Person(b, "Hana", role=Role.HOST).connect()
    for moderator in (on_a, on_b):
        await moderator.client.expect("reports", open=0)
    assert (await report(bo, "plenary", said["id"]))["type"] == "ack"  # filed on node b
    for moderator in (on_a, on_b):
        await moderator.client.expect("reports", open=1, timeout=10)
    assert [g["reporters"] for g in (await on_b.http("GET", "/api/reports/inbox")).json()["groups"]] == [1]
    dismissed = await on_a.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": said["id"], "action": "dismiss"}
    )
    assert dismissed.status_code == 200
    await on_b.client.expect("reports", open=0, timeout=10)  # closed for the moderator on the other node
    assert (await on_b.http("GET", "/api/reports/inbox")).json()["groups"] == []
    [closed] = (await on_b.http("GET", "/api/reports")).json()["reports"]
    assert closed["state"] == "dismissed" and closed["closed"]["by"] == {"id": on_a.id, "name": "Mo"}
    again = await on_b.http(
        "POST", "/api/reports/close", json={"room": "plenary", "message": said["id"], "action": "dismiss"}
    )
    assert again.status_code == 404
