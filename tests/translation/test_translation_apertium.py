"""The Apertium engine against the Debian pairs installed on this machine (real output)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from translation import TranslationService, TranslationSettings
from translation.apertium import (
    ApertiumEngine,
    Pipeline,
    debian_package,
    discover,
    escape,
    pipeline_commands,
    to_code,
    unescape,
)

pytestmark = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")


def apertium_settings(**overrides) -> TranslationSettings:
    values: dict[str, Any] = dict(packages_dir="/nonexistent", engines=("apertium",))
    values.update(overrides)
    return TranslationSettings(**values)


@pytest.fixture
def eng_spa() -> Iterator[Pipeline]:
    pair = next(p for p in discover() if (p.source, p.target) == ("en", "es"))
    pipeline = Pipeline(pair)
    yield pipeline
    pipeline.stop()


def test_installed_pairs_are_found_with_our_codes() -> None:
    pairs = {(p.source, p.target): p.mode for p in discover()}
    assert pairs[("en", "es")] == "eng-spa"
    assert pairs[("es", "en")] == "spa-eng"
    assert pairs[("fr", "es")] == "fr-es"
    assert to_code("por") == "pt" and to_code("pt_BR") == "pt"


def test_debian_package_names() -> None:
    assert debian_package("en", "es") == "apertium-eng-spa"
    assert debian_package("es", "pt") == "apertium-es-pt"
    assert debian_package("en", "ca") == "apertium-eng-cat"
    assert debian_package("de", "ja") is None


def test_mode_file_becomes_a_null_flush_pipeline() -> None:
    pair = next(p for p in discover() if p.mode == "eng-spa")
    commands = pipeline_commands(pair.path)
    assert all("-z" in command for command in commands)
    assert not any("$1" in " ".join(c) or "$2" in " ".join(c) for c in commands)
    assert any("-g" in command for command in commands if "lt-proc" in command)  # marks kept (confidence)


def test_real_spanish(eng_spa: Pipeline) -> None:
    out = eng_spa.translate(["Good morning everyone, the session starts in ten minutes.", "Hello"])
    assert "Buenos días" in out[0] and "minutos" in out[0] and out[0].endswith(".")
    assert out[1] == "Hola"


def test_stream_markup_in_user_text_cannot_break_the_stream(eng_spa: Pipeline) -> None:
    text = "a [b] c\\d ^e$ f/g <h> {i} @j *k #l +m ~n |o \0 end"
    out = eng_spa.translate([text, "Hello"])
    for piece in ("[b]", "c\\d", "^e$", "f/g", "<h>", "{i}", "@j", "*k", "#l", "+m", "~n", "|o"):
        assert piece in out[0], (piece, out[0])
    assert out[1] == "Hola"  # the next request is still answered in step


def test_escape_round_trip() -> None:
    assert unescape(escape("^x$ [y] \\z ~w")) == "^x$ [y] \\z ~w"


def test_unknown_words_carry_no_marks_but_lower_the_confidence(eng_spa: Pipeline) -> None:
    (text, confidence), (known, sure) = eng_spa.translate_scored(
        ["The zorblaxian committee meets today", "Good morning everyone"]
    )
    assert "*" not in text and "zorblaxian" in text
    assert 0 < confidence < 1 and confidence == 1 - 1 / len(text.split())  # one unknown word of them all
    assert "Buenos días" in known and sure == 1.0


def test_killed_pipeline_is_restarted_and_pending_sentences_retried(eng_spa: Pipeline, caplog) -> None:
    eng_spa.translate(["Hello"])
    os.kill(eng_spa.pids()[len(eng_spa.pids()) // 2], signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="babelroom.translation"):
        out = eng_spa.translate(["Good morning", "See you later"])
    assert out == ["Buenos días", "Hasta luego"]
    assert eng_spa.restarts == 1
    assert len([r for r in caplog.records if "restarted" in r.getMessage()]) == 1


async def test_engine_translates_off_the_loop_and_batches() -> None:
    engine = ApertiumEngine()
    await engine.start()
    try:
        assert ("en", "es") in engine.pairs()
        results = await asyncio.gather(*(engine.translate(("en", "es"), [f"Hello {i}"]) for i in range(10)))
        assert all(r[0].startswith("Hola") for r in results)
    finally:
        await engine.close()


async def test_service_routes_across_pairs_in_two_hops() -> None:
    svc = TranslationService(apertium_settings())
    await svc.start()
    try:
        assert svc.engine_of("en", "es") == ["apertium"]
        assert await svc.translate("Good morning", "en", "es") == "Buenos días"
        # No pair touches French and English together: Spanish is the middle of the graph.
        assert svc.engine_of("fr", "en") == ["apertium", "apertium"]
        assert "fr->en (via es)" in svc.pairs() and "pt->en (via es)" in svc.pairs()
        english = await svc.translate("Bonjour à tous, la session commence dans dix minutes.", "fr", "en")
        assert english is not None and "minutes" in english and "session" in english.lower()
        routes = svc.routes()
        assert {"es", "fr", "pt"} <= set(routes["en"]) and {"en", "es", "pt"} <= set(routes["fr"])
        assert svc.has_route("pt", "fr") and svc.has_route("en", "pt")
        assert not svc.has_route("en", "de")  # nothing reaches German: no route is invented
        assert "de" not in routes
    finally:
        await svc.close()


async def test_glossary_terms_reach_spanish_verbatim() -> None:
    svc = TranslationService(apertium_settings(glossary=("Cargotec", "BMH Technologies")))
    await svc.start()
    try:
        out = await svc.translate("Cargotec and bmh technologies signed the agreement today.", "en", "es")
        assert out is not None
        assert out.startswith("Cargotec") and "bmh technologies" in out
        assert "acuerdo" in out or "hoy" in out
        out = await svc.translate(
            "Write to ada@example.org or see https://example.org/a.b, @grace knows `rm -rf` well", "en", "es"
        )
        assert out is not None
        assert "ada@example.org" in out and "https://example.org/a.b" in out
        assert "@grace" in out and "`rm -rf`" in out
    finally:
        await svc.close()
