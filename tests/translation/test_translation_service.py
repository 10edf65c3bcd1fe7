"""TranslationService on tiny real packages (random weights: the text is
meaningless, so these tests check routing, batching, caching and metrics)."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from translation import TranslationService
from translation.engine import ArgosEngine

MESSAGE = "Guten Morgen zusammen. Wann beginnt der nächste Vortrag?"


def metric(service: TranslationService, name: str, **labels: str) -> float:
    """Read one sample from the Prometheus text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{wanted}}}" if labels else "")) + r" (\S+)$"
    for line in service.render_metrics().splitlines():
        m = re.match(pattern, line)
        if m:
            return float(m.group(1))
    return 0.0


async def test_languages_and_routes(service: TranslationService) -> None:
    assert service.languages() == ["de", "en", "es"]
    assert service.has_route("de", "en")
    assert service.has_route("de", "es")  # through English
    assert not service.has_route("es", "de")  # no es->en package
    assert not service.has_route("en", "en")
    assert set(service.reading_languages()) >= {"de", "en", "es", "fr", "ja", "ar"}
    assert "de->es (via en)" in service.pairs()


async def test_reachable_is_what_has_route_says(service: TranslationService) -> None:
    for source in ["de", "en", "es", "fr"]:
        assert service.reachable(source) == {t for t in service.reading_languages() if service.has_route(source, t)}
    assert service.reachable("de") == {"en", "es"}  # es through English


async def test_a_translator_that_overrides_has_route_changes_reachable_too(installed_dir, settings_for) -> None:
    """As the screenshots' phrasebook translator does: the send path asks `reachable`, the relay
    `has_route`; overriding one must be enough."""

    class Phrasebook(TranslationService):
        def languages(self) -> list[str]:
            return sorted({*super().languages(), "zh"})

        def has_route(self, source: str, target: str) -> bool:
            return (target == "zh" and source != "zh") or super().has_route(source, target)

    svc = Phrasebook(settings_for(installed_dir))
    await svc.start()
    try:
        assert svc.reachable("de") == {"en", "es", "zh"}
        assert svc.reachable("zh") == set()
    finally:
        await svc.close()


async def test_start_logs_the_pairs_served(installed_dir, settings_for, caplog) -> None:
    caplog.set_level(logging.INFO, logger="babelroom.translation")
    svc = TranslationService(settings_for(installed_dir))
    await svc.start()
    await svc.close()
    served = [r.getMessage() for r in caplog.records if "serving" in r.getMessage()]
    assert served and "de->en" in served[0] and "de->es (via en)" in served[0]


async def test_direct_translation(service: TranslationService) -> None:
    result = await service.translate(MESSAGE, "de", "en")
    assert isinstance(result, str) and result and result != MESSAGE
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="model") == 1


async def test_no_route_gives_none_without_error(service: TranslationService) -> None:
    assert await service.translate(MESSAGE, "es", "de") is None
    assert await service.translate(MESSAGE, "de", "de") is None
    assert await service.translate(MESSAGE, "de", "xx") is None
    assert await service.translate_many([MESSAGE, "x"], "fr", "de") == [None, None]
    assert metric(service, "babelroom_translation_batches_total", pair="de-en") == 0


async def test_pivot_runs_both_legs_through_english(service: TranslationService) -> None:
    pivoted = await service.translate(MESSAGE, "de", "es")
    english = await service.translate(MESSAGE, "de", "en")  # the first leg, now cached
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="cache") == 1
    assert english is not None
    direct_second_leg = await service.translate(english, "en", "es")
    assert pivoted == direct_second_leg
    assert metric(service, "babelroom_translations_total", source="de", target="es", via="model") == 1


async def test_concurrent_messages_share_model_batches(service: TranslationService) -> None:
    messages = [f"Nachricht Nummer {i}" for i in range(20)]  # one sentence each
    results = await asyncio.gather(*(service.translate(m, "de", "en") for m in messages))
    assert all(isinstance(r, str) for r in results)
    assert metric(service, "babelroom_translation_sentences_total", pair="de-en") == 20
    assert metric(service, "babelroom_translation_batches_total", pair="de-en") == 1
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="model") == 20


async def test_batch_max_bounds_batch_size(installed_dir, settings_for) -> None:
    svc = TranslationService(settings_for(installed_dir, batch_max=4))
    await svc.start()
    try:
        await asyncio.gather(*(svc.translate(f"Satz {i}", "de", "en") for i in range(10)))
        assert metric(svc, "babelroom_translation_batches_total", pair="de-en") == 3
    finally:
        await svc.close()


async def test_one_model_translation_per_message_and_language(service: TranslationService) -> None:
    # Three readers in English, two in Spanish: de->en runs once, shared by the
    # English readers and the first leg of the Spanish pivot.
    calls = [service.translate(MESSAGE, "de", "en") for _ in range(3)]
    calls += [service.translate(MESSAGE, "de", "es") for _ in range(2)]
    results = await asyncio.gather(*calls)
    assert len(set(results[:3])) == 1 and len(set(results[3:])) == 1
    assert metric(service, "babelroom_translation_sentences_total", pair="de-en") == 2
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="model") == 1
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="cache") == 2


async def test_cache_hits_skip_the_model(service: TranslationService) -> None:
    first = await service.translate(MESSAGE, "de", "en")
    batches = metric(service, "babelroom_translation_batches_total", pair="de-en")
    second = await service.translate(MESSAGE, "de", "en")
    assert second == first
    assert metric(service, "babelroom_translation_batches_total", pair="de-en") == batches
    assert metric(service, "babelroom_translations_total", source="de", target="en", via="cache") == 1


class DictCache:
    """A SharedCache like the redis backend's, in memory."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.gets = 0

    async def get_many(self, keys: list[str]) -> list[str | None]:
        self.gets += 1
        return [self.data.get(k) for k in keys]

    async def set_many(self, items: dict[str, str]) -> None:
        self.data.update(items)


async def test_shared_cache_serves_other_nodes(installed_dir, settings_for) -> None:
    shared = DictCache()
    node_a = TranslationService(settings_for(installed_dir), shared)
    await node_a.start()
    made = await node_a.translate_scored(MESSAGE, "de", "es")
    await node_a.close()  # waits for the background write to the shared cache
    assert made is not None
    assert f"{made.confidence:.3f}|{made.text}" in shared.data.values()  # text and confidence

    node_b = TranslationService(settings_for(installed_dir), shared)
    await node_b.start()
    try:
        again = await node_b.translate_scored(MESSAGE, "de", "es")
        assert again is not None and again.text == made.text
        assert again.confidence == pytest.approx(made.confidence, abs=1e-3)
        assert metric(node_b, "babelroom_translations_total", source="de", target="es", via="cache") == 1
        assert metric(node_b, "babelroom_translation_batches_total", pair="de-en") == 0
    finally:
        await node_b.close()


class BrokenCache:
    async def get_many(self, keys):
        raise ConnectionError("redis is down")

    async def set_many(self, items):
        raise ConnectionError("redis is down")


async def test_broken_shared_cache_does_not_stop_translation(installed_dir, settings_for) -> None:
    svc = TranslationService(settings_for(installed_dir), BrokenCache())
    await svc.start()
    try:
        assert isinstance(await svc.translate(MESSAGE, "de", "en"), str)
    finally:
        await svc.close()


async def test_translate_many_batches_history(service: TranslationService) -> None:
    history = [f"Nachricht {i}." for i in range(12)] + ["", "🎉"]
    results = await service.translate_many(history, "de", "en")
    assert len(results) == len(history)
    assert all(isinstance(r, str) and r for r in results[:12])
    assert results[12:] == ["", "🎉"]  # nothing to translate: unchanged
    assert metric(service, "babelroom_translation_batches_total", pair="de-en") == 1


async def test_long_message_becomes_several_batch_items(service: TranslationService) -> None:
    await service.translate("Eins. Zwei! Drei? 你好。Vier", "de", "en")
    assert metric(service, "babelroom_translation_sentences_total", pair="de-en") == 5


async def test_model_failure_gives_none_and_counts_an_error(service: TranslationService) -> None:
    def boom(texts):
        raise RuntimeError("model broke")

    argos = service.engine("argos")
    assert isinstance(argos, ArgosEngine)
    argos.batchers[("de", "en")]._run_batch = boom
    assert await service.translate(MESSAGE, "de", "en") is None
    assert metric(service, "babelroom_translation_errors_total", source="de", target="en") == 1


async def test_metrics_text_format(service: TranslationService) -> None:
    await service.translate(MESSAGE, "de", "en")
    await service.translate(MESSAGE, "de", "en")
    text = service.render_metrics()
    assert "# TYPE babelroom_translations_total counter" in text
    assert 'babelroom_translations_total{source="de",target="en",via="model"} 1' in text
    assert 'babelroom_translations_total{source="de",target="en",via="cache"} 1' in text
    assert "# TYPE babelroom_translation_seconds histogram" in text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("babelroom_translation_seconds_bucket", (("le", "+Inf"), ("via", "model")))] == 1
    assert samples[("babelroom_translation_seconds_count", (("via", "cache"),))] == 1
    assert "# TYPE babelroom_translation_queue_depth gauge" in text
    assert "babelroom_translation_queue_depth 0" in text
    for line in text.splitlines():  # every sample line is "name{labels} number"
        if not line.startswith("#"):
            assert re.fullmatch(r"[a-z_]+(\{[^}]*\})? ([0-9.e+-]+|\+Inf)", line), line


async def test_zero_packages(tmp_path, settings_for) -> None:
    svc = TranslationService(settings_for(tmp_path / "empty"))
    await svc.start()
    try:
        assert svc.languages() == []
        assert svc.reading_languages() == sorted(svc.settings.languages)
        assert not svc.has_route("de", "en")
        assert await svc.translate("Hallo", "de", "en") is None
        assert await svc.detect("Guten Morgen zusammen, wie geht es euch allen?", "en") == "de"
        assert "babelroom_translation_queue_depth 0" in svc.render_metrics()
    finally:
        await svc.close()


async def test_disabled(installed_dir, settings_for) -> None:
    svc = TranslationService(settings_for(installed_dir, enabled=False))
    await svc.start()
    try:
        assert svc.languages() == []
        assert await svc.translate(MESSAGE, "de", "en") is None
    finally:
        await svc.close()


@pytest.mark.parametrize("beam_size", [1, 2])
async def test_output_is_capped_relative_to_input(installed_dir, settings_for, beam_size) -> None:
    # Random weights never emit </s>, so every output runs to the cap.
    svc = TranslationService(settings_for(installed_dir, beam_size=beam_size, max_output_ratio=1.0, max_output_extra=2))
    await svc.start()
    try:
        argos = svc.engine("argos")
        assert isinstance(argos, ArgosEngine)
        model = argos.models[("de", "en")]
        decoded: list[int] = []
        decode = model.tokenizer.decode

        def counting_decode(toks: list[list[str]]) -> list[str]:
            decoded.extend(map(len, toks))
            return decode(toks)

        model.tokenizer.decode = counting_decode  # type: ignore[method-assign,assignment]  # a spy
        await svc.translate("Hallo Welt", "de", "en")
        n_in = len(model.tokenizer.encode(["Hallo Welt"])[0])
        assert decoded and 0 < decoded[0] <= n_in + 2
    finally:
        await svc.close()


async def test_every_translation_carries_a_confidence(service: TranslationService) -> None:
    direct = await service.translate_scored(MESSAGE, "de", "en")
    assert direct is not None and 0 <= direct.confidence <= 1
    assert direct.confidence < 0.5  # random weights: the model is guessing, and says so
    cached = await service.translate_scored(MESSAGE, "de", "en")
    assert cached == direct  # the cache keeps the confidence with the text
    pivoted = await service.translate_scored(MESSAGE, "de", "es")
    second_leg = await service.translate_scored(direct.text, "en", "es")
    assert pivoted is not None and second_leg is not None
    assert pivoted.confidence == pytest.approx(direct.confidence * second_leg.confidence, abs=2e-3)
    assert await service.translate_scored(MESSAGE, "es", "de") is None
