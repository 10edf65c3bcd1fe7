"""Transcript export for hosts: GET /api/rooms/{room}/transcript?lang=&format=md|csv|json.

Real tiny Argos packages translate en<->de, so the German translation a reader received is
the one the transcript carries; each format is read back with its own parser.
"""

from __future__ import annotations

import csv
import io

import pytest

from rooms import Role

ENGLISH = "Good morning, the plenary session starts in ten minutes in the main hall."
GERMAN = "Guten Morgen"


@pytest.fixture
async def server(make_server, translation_packages):
    return await make_server(translation={"packages_dir": str(translation_packages)})


async def conversation(server) -> dict[str, str]:
    """Ada (en) and Dieter (de) talk in the plenary; returns {message id: Dieter's German translation}."""
    ada = await server.client("Ada", lang="en", user_id="u-ada")
    dieter = await server.client("Dieter", lang="de", user_id="u-dieter")
    for client in (ada, dieter):
        await client.join("plenary")
    english = await ada.say("plenary", ENGLISH)
    translation = await dieter.expect("translation", id=english["id"])
    german = await dieter.say("plenary", GERMAN)
    deleted = await ada.say("plenary", "Oops, wrong room")
    host = await server.client("Hanna", role=Role.HOST)
    await host.join("plenary")
    await host.send({"type": "delete", "room": "plenary", "id": deleted["id"], "ref": "d"})
    await host.expect("ack", ref="d")
    return {"english": english["id"], "german": german["id"], "translation": translation["text"]}


async def export(server, fmt: str, lang: str = "de", role: Role = Role.HOST, room: str = "plenary"):
    token = server.token("Hanna", role)
    async with server.http() as http:
        return await http.get(
            f"/api/rooms/{room}/transcript",
            params={"lang": lang, "format": fmt},
            headers={"authorization": f"Bearer {token}"},
        )


async def test_json_transcript_has_time_sender_original_and_the_chosen_translation(server):
    said = await conversation(server)
    response = await export(server, "json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert 'filename="plenary-transcript-de.json"' in response.headers["content-disposition"]
    body = response.json()
    assert body["room"]["id"] == "plenary" and body["lang"] == "de"
    entries = {e["id"]: e for e in body["messages"]}
    assert list(entries) == [said["english"], said["german"]]  # oldest first, the deleted one left out
    english = entries[said["english"]]
    assert english["sender"] == "Ada" and english["sender_id"] == "u-ada" and english["lang"] == "en"
    assert english["original"] == ENGLISH and english["translation"] == said["translation"]
    assert english["translation_lang"] == "de" and english["time"].endswith("Z")
    assert entries[said["german"]]["translation"] == GERMAN  # already in the chosen language


async def test_csv_transcript_reads_back_with_a_csv_reader(server):
    said = await conversation(server)
    response = await export(server, "csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [said["english"], said["german"]]
    assert rows[0]["original"] == ENGLISH and rows[0]["translation"] == said["translation"]
    assert rows[0]["sender"] == "Ada" and rows[1]["sender"] == "Dieter"


async def test_markdown_transcript_quotes_original_and_translation(server):
    said = await conversation(server)
    response = await export(server, "md")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# ") and f"> {ENGLISH}" in text and said["translation"] in text
    assert "Oops, wrong room" not in text


async def test_a_translation_nobody_needed_live_is_made_for_the_transcript(server):
    said = await conversation(server)
    rows = (await export(server, "json", lang="es")).json()["messages"]  # nobody read Spanish
    english = next(e for e in rows if e["id"] == said["english"])
    assert english["original"] == ENGLISH and english["translation"] and english["translation_lang"] == "es"


async def test_a_translation_no_route_can_make_is_left_empty(server):
    said = await conversation(server)
    rows = (await export(server, "json", lang="ja")).json()["messages"]  # no package reaches Japanese
    english = next(e for e in rows if e["id"] == said["english"])
    assert english["original"] == ENGLISH and english["translation"] == "" and english["translation_lang"] == ""


@pytest.mark.parametrize("role", [Role.DELEGATE, Role.MODERATOR])
async def test_only_hosts_export(server, role):
    response = await export(server, "json", role=role)
    # a private room is not a host's room at all (404), and refused by kind should it be reached (403)
    assert response.status_code in (403, 404) and response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize("params, field", [({"format": "pdf"}, "format"), ({"lang": "xx"}, "lang")])
async def test_bad_parameters_are_400_naming_the_field(server, params, field):
    query = {"lang": "de", "format": "json", **params}
    response = await export(server, query["format"], lang=query["lang"])
    assert response.status_code == 400 and response.json()["field"] == field


async def test_an_unknown_room_is_404(server):
    response = await export(server, "json", room="nowhere")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_host_validation_errors_name_their_field(server):
    token = server.token("Hanna", Role.HOST)
    headers = {"authorization": f"Bearer {token}"}
    async with server.http() as http:
        bad_id = await http.post("/api/rooms", json={"id": "Bad Id", "title": "x"}, headers=headers)
        bad_slow = await http.patch("/api/rooms/plenary", json={"slow_mode": -1}, headers=headers)
        no_title = await http.post("/api/rooms", json={"id": "fine"}, headers=headers)
        exists = await http.post("/api/rooms", json={"id": "plenary", "title": "Again"}, headers=headers)
    assert bad_id.json()["field"] == "id" and bad_slow.json()["field"] == "slow_mode"
    assert no_title.json()["field"] == "title"
    assert exists.status_code == 409 and exists.json()["code"] == "conflict" and "field" not in exists.json()


async def test_private_conversations_are_never_exported(make_server):
    server = await make_server(conversations={"policy": "open"})
    await server.client("Bea", user_id="u-bea")
    ada = server.token("Ada", user_id="u-ada")
    async with server.http() as http:
        made = await http.post(
            "/api/conversations", json={"with": ["u-bea"]}, headers={"authorization": f"Bearer {ada}"}
        )
        assert made.status_code in (200, 201), made.text
        room = made.json()["room"]["id"]
        response = await http.get(
            f"/api/rooms/{room}/transcript",
            params={"format": "json"},
            headers={"authorization": f"Bearer {server.token('Hanna', Role.HOST)}"},
        )
    # a private room is not a host's room at all (404), and refused by kind should it be reached (403)
    assert response.status_code in (403, 404) and response.json()["code"] in ("forbidden", "not_found")
