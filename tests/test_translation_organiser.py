"""Organiser content and records in every language, with real Apertium (Debian's eng-spa).

Room titles and forum names reach a Spanish reader in Spanish (`joined.room.tr`, `room` events
after a rename, `GET /api/rooms?lang=es`), moderation reasons too (`reason_tr`), and a Spanish
transcript of a room where nobody read Spanish has Spanish for every line. Each test runs on
memory, sqlite and redis.
"""

from __future__ import annotations

import pytest

from rooms import Role
from translation.apertium import discover

pytestmark = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")


@pytest.fixture
async def server(make_server):
    return await make_server(translation={"engines": ("apertium",)})


async def test_a_spanish_reader_gets_the_title_and_forum_in_spanish_on_joining(server):
    sofia = await server.client("Sofia", lang="es")
    room = (await sofia.join("plenary"))["room"]
    assert room["title"] == "Plenary" and room["forum"] == "Main hall"  # the original stays
    assert room["tr"] == {"lang": "es", "title": "Pleno", "forum": "Sala principal"}
    ada = await server.client("Ada", lang="en")
    assert "tr" not in (await ada.join("plenary"))["room"]  # already in the content language
    dieter = await server.client("Dieter", lang="de")  # no route en->de here: the original only
    assert "tr" not in (await dieter.join("plenary"))["room"]


async def test_a_rename_reaches_each_reader_in_their_language(server):
    sofia = await server.client("Sofia", lang="es")
    ada = await server.client("Ada", lang="en")
    host = server.token("Hanna", Role.HOST)
    async with server.http() as http:
        answer = await http.patch(
            "/api/rooms/plenary", json={"title": "Workshops"}, headers={"authorization": f"Bearer {host}"}
        )
        assert answer.status_code == 200
    spanish = await sofia.expect("room", event="updated")
    assert spanish["room"]["title"] == "Workshops"
    assert spanish["room"]["tr"] == {"lang": "es", "title": "Talleres", "forum": "Sala principal"}
    english = await ada.expect("room", event="updated")
    assert english["room"]["title"] == "Workshops" and "tr" not in english["room"]


async def test_the_lobby_api_gives_titles_in_the_language_asked(server):
    async with server.http() as http:
        spanish = {r["id"]: r for r in (await http.get("/api/rooms", params={"lang": "es"})).json()["rooms"]}
        plain = {r["id"]: r for r in (await http.get("/api/rooms")).json()["rooms"]}
        unknown = await http.get("/api/rooms", params={"lang": "xx"})
    assert spanish["plenary"]["tr"] == {"lang": "es", "title": "Pleno", "forum": "Sala principal"}
    assert spanish["plenary"]["title"] == "Plenary"
    assert "tr" not in plain["plenary"]
    assert unknown.status_code == 400 and unknown.json()["field"] == "lang"


async def test_a_moderation_reason_reaches_a_spanish_reader_in_spanish(server):
    sofia = await server.client("Sofia", lang="es")
    ada = await server.client("Ada", lang="en")
    tim = await server.client("Tim", lang="en", user_id="u_tim")
    mod = await server.client("Mona", lang="en", role=Role.HOST)
    for client in (sofia, ada, tim, mod):
        await client.join("plenary")
    reason = "Please stay on the subject of the session"
    await mod.send({"type": "kick", "room": "plenary", "user": "u_tim", "reason": reason, "ref": "k"})
    spanish = await sofia.expect("moderation", action="kick")
    assert spanish["reason"] == reason  # the original, a click away
    assert spanish["reason_tr"]["lang"] == "es" and "sesión" in spanish["reason_tr"]["text"]
    english = await ada.expect("moderation", action="kick")
    assert english["reason"] == reason and "reason_tr" not in english
    assert (await tim.expect("left", room="plenary"))["reason"] == "kicked"


async def test_a_spanish_transcript_of_an_english_only_room_has_spanish_for_every_line(server):
    ada = await server.client("Ada", lang="en")
    await ada.join("plenary")
    lines = ["The budget is approved", "We need more time", "Good morning everyone"]
    ids = [(await ada.say("plenary", line))["id"] for line in lines]
    token = server.token("Hanna", Role.HOST)
    async with server.http() as http:
        answer = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "es", "format": "json"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200
    by_id = {m["id"]: m for m in answer.json()["messages"]}
    assert by_id[ids[0]]["translation"] == "El presupuesto está aprobado"
    assert "tiempo" in by_id[ids[1]]["translation"] and "Buenos días" in by_id[ids[2]]["translation"]
    assert all(by_id[i]["translation_lang"] == "es" for i in ids)
    # made once and kept: history has it now, so a Spanish reader joining later gets it with the message
    sofia = await server.client("Sofia", lang="es")
    joined = await sofia.join("plenary")
    shown = {m["id"]: m for m in joined["messages"]}
    assert shown[ids[0]]["tr"]["text"] == "El presupuesto está aprobado"


async def test_a_spanish_transcript_keeps_what_a_spanish_reader_wrote(server):
    sofia = await server.client("Sofia", lang="es")
    await sofia.join("plenary")
    said = await sofia.say("plenary", "Necesitamos más tiempo para el presupuesto")
    token = server.token("Hanna", Role.HOST)
    async with server.http() as http:
        answer = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "es", "format": "json"},
            headers={"authorization": f"Bearer {token}"},
        )
    line = {m["id"]: m for m in answer.json()["messages"]}[said["id"]]
    assert line["lang"] == "es" and line["translation"] == "Necesitamos más tiempo para el presupuesto"


async def test_a_transcript_translates_a_bounded_number_of_lines_per_request_and_says_how_many_remain(
    server, monkeypatch
):
    import web.transcript

    monkeypatch.setattr(web.transcript, "TRANSLATE_MAX", 2)
    ada = await server.client("Ada", lang="en")
    await ada.join("plenary")
    for line in ["The budget is approved", "We need more time", "Good morning everyone"]:
        await ada.say("plenary", line)
    token = server.token("Hanna", Role.HOST)
    async with server.http() as http:
        first = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "es", "format": "json"},
            headers={"authorization": f"Bearer {token}"},
        )
        second = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "es", "format": "csv"},
            headers={"authorization": f"Bearer {token}"},
        )
        third = await http.get(
            "/api/rooms/plenary/transcript",
            params={"lang": "es", "format": "json"},
            headers={"authorization": f"Bearer {token}"},
        )
    made = [m for m in first.json()["messages"] if m["translation"]]
    assert len(made) == 2 and first.json()["untranslated"] == 1
    assert first.headers["x-babelroom-untranslated"] == "1"
    assert "x-babelroom-untranslated" not in second.headers  # the second request made the last one
    assert all(m["translation"] for m in third.json()["messages"]) and "untranslated" not in third.json()
