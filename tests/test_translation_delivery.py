"""Two-phase delivery over a real socket with real (tiny, random-weight) Argos packages.

The packages translate en<->de and en<->es; their output is meaningless but real model output,
so these tests check who gets what, when, and how often the model runs.
"""

from __future__ import annotations

import re

import pytest

from tests.client import Client

ENGLISH = "Good morning, the plenary session starts in ten minutes in the main hall."
GERMAN = "Guten Morgen, die Plenarsitzung beginnt in zehn Minuten im großen Saal."


@pytest.fixture
async def server(make_server, translation_packages):
    return await make_server(translation={"packages_dir": str(translation_packages)})


def model_translations(metrics: str, source: str, target: str) -> float:
    pattern = rf'babelroom_translations_total\{{[^}}]*source="{source}",target="{target}",via="model"[^}}]*\}} (\S+)'
    found = re.search(pattern, metrics)
    return float(found.group(1)) if found else 0.0


async def test_ready_lists_the_languages_the_packages_reach(server):
    client = await Client.connect(server.ws_url)
    ready = await client.auth(server.token("Ada"), lang="de")
    assert {"en", "de", "es", "fr"} <= set(ready["languages"])  # what a reader may choose
    assert set(ready["translates"]) == {"en", "de", "es"}  # what the packages reach


async def test_each_reader_gets_the_original_at_once_then_its_own_translation(server):
    ada = await server.client("Ada", lang="en")
    dieter = await server.client("Dieter", lang="de")
    sofia = await server.client("Sofia", lang="es")
    for client in (ada, dieter, sofia):
        await client.join("plenary")
    ack = await ada.say("plenary", ENGLISH)
    for client in (ada, dieter, sofia):
        message = await client.expect("message", id=ack["id"])
        assert message["text"] == ENGLISH and message["lang"] == "en" and "tr" not in message
    german = await dieter.expect("translation", id=ack["id"])
    spanish = await sofia.expect("translation", id=ack["id"])
    assert german["lang"] == "de" and spanish["lang"] == "es"
    assert german["text"] and spanish["text"]
    await ada.silent("translation")


async def test_one_model_translation_per_language_however_many_readers(server):
    ada = await server.client("Ada", lang="en")
    await ada.join("plenary")
    readers = [await server.client(f"Reader {i}", lang="de") for i in range(4)]
    for reader in readers:
        await reader.join("plenary")
    ack = await ada.say("plenary", ENGLISH)
    for reader in readers:
        await reader.expect("translation", id=ack["id"], lang="de")
    metrics = await server.metrics()
    assert model_translations(metrics, "en", "de") == 1


async def test_translations_are_stored_with_the_message(server):
    ada = await server.client("Ada", lang="en")
    dieter = await server.client("Dieter", lang="de")
    await ada.join("plenary")
    await dieter.join("plenary")
    ack = await ada.say("plenary", ENGLISH)
    translation = await dieter.expect("translation", id=ack["id"])
    later = await server.client("Dora", lang="de")
    joined = await later.join("plenary")
    [message] = joined["messages"]
    assert message["tr"] == {"lang": "de", "text": translation["text"], "confidence": translation["confidence"]}
    await later.send({"type": "history", "room": "plenary"})
    [message] = (await later.expect("history"))["messages"]
    assert message["tr"]["text"] == translation["text"]


async def test_a_new_language_gets_the_history_translated_on_demand(server):
    ada = await server.client("Ada", lang="en")
    await ada.join("plenary")
    ids = [(await ada.say("plenary", f"{ENGLISH} Point {n}."))["id"] for n in range(3)]
    sofia = await server.client("Sofia", lang="es")
    joined = await sofia.join("plenary")
    assert all("tr" not in m for m in joined["messages"])
    translated = {(await sofia.expect("translation", lang="es"))["id"] for _ in ids}
    assert translated == set(ids)


async def test_pivot_through_english_when_no_direct_package(server):
    dieter = await server.client("Dieter", lang="de")
    sofia = await server.client("Sofia", lang="es")
    await dieter.join("plenary")
    await sofia.join("plenary")
    ack = await dieter.say("plenary", GERMAN)
    message = await sofia.expect("message", id=ack["id"])
    assert message["lang"] == "de"
    translation = await sofia.expect("translation", id=ack["id"])
    assert translation["lang"] == "es" and translation["text"]
    metrics = await server.metrics()
    assert 'via="model"' in metrics and model_translations(metrics, "de", "es") == 1


async def test_no_route_means_the_original_only_and_no_error(server):
    ada = await server.client("Ada", lang="en")
    francois = await server.client("François", lang="fr")
    await ada.join("plenary")
    await francois.join("plenary")
    ack = await ada.say("plenary", ENGLISH)
    assert (await francois.expect("message", id=ack["id"]))["text"] == ENGLISH
    await francois.silent("translation", within=0.5)
    await francois.silent("error", within=0.1)


async def test_the_source_language_is_detected_not_assumed(server):
    dieter = await server.client("Dieter", lang="de")
    await dieter.join("plenary")
    ack = await dieter.say("plenary", ENGLISH)
    assert (await dieter.expect("message", id=ack["id"]))["lang"] == "en"
    short = await dieter.say("plenary", "ok!")
    assert (await dieter.expect("message", id=short["id"]))["lang"] == "de"
