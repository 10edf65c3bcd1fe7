"""Honest translation states end to end, with real Apertium output (Debian's eng-spa, fr-es, es-pt).

Every test runs on each backend: the census, `translating`, the sender rule, relang, the glossary
and a pipeline killed mid-traffic.
"""

from __future__ import annotations

import os
import signal

import pytest

from rooms import Role
from tests.client import Client
from translation.apertium import discover

pytestmark = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")

GOOD_MORNING = "Good morning everyone, the session starts in ten minutes"


@pytest.fixture
async def server(make_server):
    return await make_server(translation={"engines": ("apertium",), "glossary": ("Cargotec", "BMH Technologies")})


async def test_spanish_reader_gets_real_spanish_and_the_sender_nothing(server):
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    dieter = await server.client("Dieter", lang="de")  # no route en->de here
    for client in (ada, sofia, dieter):
        await client.join("plenary")
    ack = await ada.say("plenary", GOOD_MORNING)
    for client in (ada, sofia, dieter):
        message = await client.expect("message", id=ack["id"])
        assert message["lang"] == "en"
        assert message["translating"] == ["es"]  # exactly the languages that will arrive
    spanish = await sofia.expect("translation", id=ack["id"])
    assert spanish["lang"] == "es"
    assert "Buenos días" in spanish["text"] and "minutos" in spanish["text"]
    await ada.silent("translation")
    await dieter.silent("translation")


async def test_census_in_ready_joined_and_rooms(server):
    ada = await server.client("Ada", lang="en", user_id="u_ada")
    ready_routes = await Client.connect(server.ws_url)
    ready = await ready_routes.auth(server.token("Bea"), lang="es")
    assert "en" in ready["routes"]["es"] and "fr" in ready["routes"]["es"]
    assert "es" in ready["routes"]["en"] and "de" not in ready["routes"]
    await ada.join("plenary")
    await ready_routes.join("plenary")
    twin = await server.client("Ada", lang="en", user_id="u_ada")  # Ada's second tab: still one English reader
    joined = await twin.join("plenary")
    assert joined["room"]["languages"] == {"en": 1, "es": 1}
    async with server.http() as http:
        rooms = {r["id"]: r for r in (await http.get("/api/rooms")).json()["rooms"]}
    assert rooms["plenary"]["languages"] == {"en": 1, "es": 1}
    await ready_routes.send({"type": "lang", "lang": "fr"})
    await ready_routes.expect("ready", lang="fr")
    await ready_routes.send({"type": "leave", "room": "plenary"})
    await ready_routes.expect("left")
    joined = await (await server.client("Carl", lang="de")).join("plenary")
    assert joined["room"]["languages"] == {"de": 1, "en": 1}


async def test_a_reader_of_the_senders_language_alone_gets_no_translation_back(server):
    # Sofia reads Spanish but writes English: nobody else reads Spanish, so nothing is made.
    sofia = await server.client("Sofia", lang="es")
    ada = await server.client("Ada", lang="en")
    await sofia.join("plenary")
    await ada.join("plenary")
    ack = await sofia.say("plenary", GOOD_MORNING)
    message = await ada.expect("message", id=ack["id"])
    assert message["lang"] == "en" and not message.get("translating")
    await sofia.silent("translation")
    # With a second Spanish reader the translation is made, but still not sent back to Sofia.
    pablo = await server.client("Pablo", lang="es")
    await pablo.join("plenary")
    ack = await sofia.say("plenary", "See you later")
    assert (await pablo.expect("message", id=ack["id"]))["translating"] == ["es"]
    assert (await pablo.expect("translation", id=ack["id"]))["text"] == "Hasta luego"
    await sofia.silent("translation")


async def test_on_another_node_the_senders_other_tab_gets_no_translation_back(server, make_server, backend_kind):
    # There the message and its translation arrive as published (passed through, not re-encoded):
    # the node still knows whose message it was.
    if backend_kind != "redis":
        pytest.skip("nodes share rooms only through Redis")
    other = await make_server(translation={"engines": ("apertium",)})
    sofia_here = await server.client("Sofia", lang="es", user_id="u_sofia")
    sofia_there = await other.client("Sofia", lang="es", user_id="u_sofia")  # her phone, on the other node
    pablo = await other.client("Pablo", lang="es")
    for client in (sofia_here, sofia_there, pablo):
        await client.join("plenary")
    ack = await sofia_here.say("plenary", "See you later")
    for client in (sofia_there, pablo):
        message = await client.expect("message", id=ack["id"])
        assert message["user"] == {"id": "u_sofia", "name": "Sofia"} and message["translating"] == ["es"]
    assert (await pablo.expect("translation", id=ack["id"]))["text"] == "Hasta luego"
    await sofia_there.silent("translation")
    await sofia_here.silent("translation")


async def test_glossary_terms_stay_verbatim_in_spanish(server):
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    await ada.join("plenary")
    await sofia.join("plenary")
    ack = await ada.say("plenary", "Good morning, Cargotec and BMH Technologies signed the agreement")
    spanish = (await sofia.expect("translation", id=ack["id"]))["text"]
    assert "Cargotec" in spanish and "BMH Technologies" in spanish and "Buenos días" in spanish


async def test_glossary_api_for_hosts(server):
    host_token = server.token("Hanna", role=Role.HOST)
    async with server.http() as http:
        assert (await http.get("/api/glossary")).status_code == 401
        delegate = {"Authorization": f"Bearer {server.token('Ada')}"}
        assert (await http.put("/api/glossary", json={"terms": ["X"]}, headers=delegate)).status_code == 403
        host = {"Authorization": f"Bearer {host_token}"}
        bad = await http.put("/api/glossary", json={"terms": "Kone"}, headers=host)
        assert bad.status_code == 400 and "list of strings" in bad.json()["message"]
        put = await http.put("/api/glossary", json={"terms": ["Kone Cranes", "kone cranes", "Hiab"]}, headers=host)
        assert put.status_code == 200 and put.json()["terms"] == ["Kone Cranes", "Hiab"]
        assert (await http.get("/api/glossary", headers=host)).json()["terms"] == ["Kone Cranes", "Hiab"]
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    await ada.join("plenary")
    await sofia.join("plenary")
    ack = await ada.say("plenary", "Hiab has good news")
    assert (await sofia.expect("translation", id=ack["id"]))["text"].startswith("Hiab")


async def test_relang_relabels_and_retranslates(server):
    # Ada reads English but her Spanish line is taken for English? She corrects it either way.
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    await ada.join("plenary")
    await sofia.join("plenary")
    ack = await ada.say("plenary", "Hello")
    await sofia.expect("translation", id=ack["id"])
    await sofia.send({"type": "relang", "room": "plenary", "id": ack["id"], "lang": "es", "ref": "x"})
    await sofia.expect_error("not_found", ref="x")  # only the sender may
    await ada.send({"type": "relang", "room": "plenary", "id": ack["id"], "lang": "es", "ref": "r"})
    await ada.expect("ack", ref="r")
    for client in (ada, sofia):
        event = await client.expect("relang", id=ack["id"])
        assert event["lang"] == "es" and event["translating"] == []  # only Ada reads English
    # Now read as Spanish, the English reader gets it translated (es->en) once someone else reads en.
    bob = await server.client("Bob", lang="en")
    joined = await bob.join("plenary")
    shown = next(m for m in joined["messages"] if m["id"] == ack["id"])
    assert shown["lang"] == "es" and shown["translating"] == ["en"]
    english = await bob.expect("translation", id=ack["id"])
    assert english["lang"] == "en" and english["text"]
    history = await ada.join("plenary", history=10)
    stored = next(m for m in history["messages"] if m["id"] == ack["id"])
    assert stored["lang"] == "es" and not stored.get("translating")  # the sender's own: no translation


async def test_bad_relang_frames_are_refused(server):
    ada = await server.client("Ada", lang="en")
    await ada.join("plenary")
    await ada.send({"type": "relang", "room": "plenary", "id": "0badcafe.1", "ref": "a"})
    await ada.expect_error("bad_frame", ref="a")
    await ada.send({"type": "relang", "room": "plenary", "id": "0badcafe.1", "lang": "qq", "ref": "b"})
    await ada.expect_error("bad_frame", ref="b")


async def test_killing_a_pipeline_mid_traffic_loses_no_translation(server):
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    await ada.join("plenary")
    await sofia.join("plenary")
    first = await ada.say("plenary", "Good morning")
    await sofia.expect("translation", id=first["id"])
    engine = server.node.translator.engine("apertium")
    pipeline = engine.pipelines[("en", "es")]
    acks = []
    for i in range(7):
        acks.append(await ada.say("plenary", f"The session starts in {i + 2} minutes"))
        if i == 2:
            os.kill(pipeline.pids()[len(pipeline.pids()) // 2], signal.SIGKILL)
    for ack in acks:
        spanish = await sofia.expect("translation", id=ack["id"])
        assert "minutos" in spanish["text"]
    await sofia.silent("translation_failed")
    assert pipeline.restarts >= 1
