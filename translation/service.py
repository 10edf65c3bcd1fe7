"""The translation service the chat layer talks to.

Per message and target language there is at most one model translation, however
many readers: results go to an LRU (and the shared Redis cache when there is one),
and a translation already being made is joined rather than made again. Model work
and detection run in thread pools; the event loop only moves futures around.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from translation import sentences
from translation.apertium import ApertiumEngine
from translation.cache import LRUCache, SharedCache, cache_key, decode_value, encode_value
from translation.ct2 import Ct2Engine
from translation.detect import LanguageDetector
from translation.engine import ArgosEngine
from translation.engines import ENGINE_QUALITY, Engine, Pair
from translation.metrics import TranslationMetrics
from translation.protect import Protector, keep_tag
from translation.routing import ReachableByRoute, Routes
from translation.settings import TranslationSettings

log = logging.getLogger("babelroom.translation")

#: How long a shared-cache call may take before we stop waiting and translate.
SHARED_CACHE_TIMEOUT_S = 1.0
DETECT_CHARS = 500  # what detection reads of a text (translation.detect.profile)
#: Marks cache keys of values that carry a confidence (cache.encode_value).
CACHE_FORMAT = "c1"


@dataclass(frozen=True)
class Translated:
    """One message's translation and the confidence in it, 0-1: the engines' sentence
    confidences averaged by sentence length, multiplied across the legs of a two-hop route
    (glossary terms and other protected spans are passed through, so they do not count)."""

    text: str
    confidence: float


class TranslationService(ReachableByRoute):
    """See the package docstring; every public coroutine is safe to call
    concurrently from the event loop."""

    def __init__(self, settings: TranslationSettings, shared_cache: SharedCache | None = None) -> None:
        self.settings = settings
        self._shared = shared_cache
        self._routes = Routes(())
        self.routes_changed()
        self._engines: list[Engine] = []
        self._by_pair: dict[Pair, Engine] = {}
        self._tags: dict[Pair, str] = {}
        self._protector = Protector(settings.glossary)
        self._lru = LRUCache(settings.cache_size)
        self._inflight: dict[str, asyncio.Task[Translated]] = {}
        self._background: set[asyncio.Task[None]] = set()
        # Detection gets its own thread so it never queues behind a model batch.
        self._detect_executor = ThreadPoolExecutor(1, thread_name_prefix="babelroom-detect")
        self._detector: LanguageDetector | None = None
        self.metrics = TranslationMetrics(queue_depth=lambda: sum(e.depth() for e in self._engines))

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the configured engines and log the pairs served, by engine."""
        loop = asyncio.get_running_loop()
        if self.settings.enabled:
            for name in self.settings.engines:
                engine = self._make_engine(name)
                try:
                    await engine.start()
                except Exception:
                    log.exception("translation: engine %s failed to start; going on without it", name)
                    await engine.close()
                    continue
                self._engines.append(engine)
            self._install()
            self._log_pairs()
        else:
            log.info("translation: disabled; readers get originals only")
        await loop.run_in_executor(self._detect_executor, self._build_detector)

    def engine(self, name: str) -> Engine | None:
        """The running engine of that name, if it started."""
        return next((e for e in self._engines if e.name == name), None)

    def _make_engine(self, name: str) -> Engine:
        if name == "argos":
            return ArgosEngine(self.settings, on_batch=self._count_batch)
        if name == "apertium":
            return ApertiumEngine(
                self.settings.apertium_modes_dir, batch_max=self.settings.batch_max, on_batch=self._count_batch
            )
        if name == "ct2":
            return Ct2Engine(self.settings, on_batch=self._count_batch)
        raise ValueError(f"unknown translation engine {name!r}; choose ct2, argos or apertium")

    def _install(self) -> None:
        # Preference: the first engine in settings.engines that serves a pair wins it.
        for engine in self._engines:
            for pair, tag in engine.pairs().items():
                if pair not in self._by_pair:
                    self._by_pair[pair] = engine
                    self._tags[pair] = f"{engine.name}:{tag}"
        self._routes = Routes({pair: ENGINE_QUALITY.get(engine.name, 0.5) for pair, engine in self._by_pair.items()})
        self.routes_changed()

    def _log_pairs(self) -> None:
        if not self._by_pair:
            log.info(
                "translation: no engine serves any pair; readers get originals only "
                "(add CTranslate2 models or Argos packages with `babelroom languages install`, "
                "or Debian's apertium-* packages)"
            )
            return
        parts = []
        for engine in self._engines:
            mine = sorted(f"{s}->{t}" for (s, t), e in self._by_pair.items() if e is engine)
            if mine:
                parts.append(f"{engine.name}: {', '.join(mine)}")
        chained = [line for line in self._routes.describe() if "via" in line]
        if chained:
            parts.append(f"in two hops: {', '.join(chained)}")
        log.info("translation: serving %d direct pair(s); %s", len(self._by_pair), "; ".join(parts))

    def _count_batch(self, pair: str, size: int) -> None:
        self.metrics.batches.inc(pair)
        self.metrics.sentences.inc(pair, by=size)

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        for engine in self._engines:
            await engine.close()
        if self._background:
            await asyncio.wait(self._background, timeout=SHARED_CACHE_TIMEOUT_S)
        self._detect_executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ routing

    def languages(self) -> list[str]:
        """Codes a reader can get translations into (two-hop routes included), sorted."""
        return self._routes.targets() if self.settings.enabled else []

    def reading_languages(self) -> list[str]:
        """What a user may pick: the configured languages plus every target."""
        return sorted(set(self.settings.languages) | set(self.languages()))

    def has_route(self, source: str, target: str) -> bool:
        """True when translate() can turn source into target (False if they are equal)."""
        return self._route(source, target) is not None

    def route_targets(self) -> list[str]:
        """Where `reachable` looks (ReachableByRoute): the languages translated into."""
        return self.languages()

    def routes(self) -> dict[str, list[str]]:
        """{target: [sources]} for every target some source reaches (two-hop routes included)."""
        out: dict[str, list[str]] = {}
        if not self.settings.enabled:
            return out
        codes = self._routes.codes()
        for target in self._routes.targets():
            sources = [s for s in codes if self._routes.route(s, target)]
            if sources:
                out[target] = sources
        return out

    def pairs(self) -> list[str]:
        """Human descriptions of the pairs served ("de->en", "fr->en (via es)")."""
        return self._routes.describe()

    def engine_of(self, source: str, target: str) -> list[str]:
        """The engines a route runs through, in order ([] without a route)."""
        route = self._route(source, target) or []
        return [self._by_pair[pair].name for pair in route]

    def _route(self, source: str, target: str) -> list[Pair] | None:
        if not self.settings.enabled:
            return None
        return self._routes.route(source, target)

    # ----------------------------------------------------------- glossary

    def glossary(self) -> list[str]:
        """The terms never translated, as configured or last set."""
        return list(self._protector.terms)

    def set_glossary(self, terms: list[str]) -> None:
        """Replace the glossary (translations made from now on use it)."""
        self._protector = Protector(terms)

    # ---------------------------------------------------------- detection

    def _build_detector(self) -> LanguageDetector:
        detector = LanguageDetector(
            self.reading_languages(),
            backend=self.settings.detector,
            min_chars=self.settings.detect_min_chars,
            min_prob=self.settings.detect_min_prob,
        )
        detector.warm_up()
        self._detector = detector
        return detector

    def _detect_sync(self, text: str, fallback: str) -> tuple[str, bool]:
        detector = self._detector or self._build_detector()
        return detector.detect(text, fallback)

    async def detect(self, text: str, fallback: str) -> str:
        """The language of text, or fallback (the sender's language) when the text
        is too short or the detector unsure. py3langid runs on the event loop (it reads at most
        DETECT_CHARS characters: 50-170 us, less than the hop to a thread costs); the other
        detectors, and the first call before the detector is built, run in a worker thread."""
        if not any(ch.isalpha() for ch in text[:DETECT_CHARS]):
            self.metrics.detections.inc("fallback")
            return fallback
        detector = self._detector
        if detector is not None and self.settings.detector == "py3langid":
            language, detected = detector.detect(text, fallback)
        else:
            loop = asyncio.get_running_loop()
            language, detected = await loop.run_in_executor(self._detect_executor, self._detect_sync, text, fallback)
        self.metrics.detections.inc("detected" if detected else "fallback")
        return language

    # -------------------------------------------------------- translation

    async def translate(self, text: str, source: str, target: str, *, count: bool = True) -> str | None:
        """One message into one language; None without a route or when source == target.
        count=False: not counted in the message metrics (room titles, moderation reasons)."""
        if not count:
            route = self._route(source, target)
            if route is None:
                return None
            made = (await self._resolve([text], source, target, route, count=False))[0]
            return None if made is None else made.text
        return (await self.translate_many([text], source, target))[0]

    async def translate_many(self, texts: list[str], source: str, target: str) -> list[str | None]:
        """Several messages (history) into one language, batched together."""
        return [None if t is None else t.text for t in await self.translate_many_scored(texts, source, target)]

    async def translate_scored(
        self, text: str, source: str, target: str, keep: Sequence[str] = ()
    ) -> Translated | None:
        """translate(), with the confidence in the translation; `keep`: spans of this text passed
        through verbatim, as glossary terms are (a message's mentions: "@Wei Zhang")."""
        return (await self.translate_many_scored([text], source, target, [keep]))[0]

    async def translate_many_scored(
        self, texts: list[str], source: str, target: str, keeps: Sequence[Sequence[str]] | None = None
    ) -> list[Translated | None]:
        """translate_many(), each with the confidence in it (and its own `keep` spans, when given)."""
        route = self._route(source, target)
        if route is None:
            return [None] * len(texts)
        return await self._resolve(texts, source, target, route, count=True, keeps=keeps)

    def _key(self, text: str, source: str, target: str, route: list[Pair], keep: Sequence[str] = ()) -> str:
        tag = "+".join(self._tags[p] for p in route) + "/" + CACHE_FORMAT
        if self._protector.tag:
            tag += "/g" + self._protector.tag
        if keep:
            tag += "/k" + keep_tag(keep)
        return cache_key(source, target, text, tag)

    async def _resolve(
        self,
        texts: list[str],
        source: str,
        target: str,
        route: list[Pair],
        *,
        count: bool,
        keeps: Sequence[Sequence[str]] | None = None,
    ) -> list[Translated | None]:
        started = time.perf_counter()
        out: list[Translated | None] = [None] * len(texts)
        spans: list[Sequence[str]] = list(keeps) if keeps is not None else [()] * len(texts)
        keys = [self._key(t, source, target, route, keep) for t, keep in zip(texts, spans, strict=True)]
        served: dict[int, str] = {}  # index -> via
        jobs: dict[int, asyncio.Task[Translated]] = {}
        lookups: list[int] = []
        for i, text in enumerate(texts):
            if not text.strip():
                out[i] = Translated(text, 1.0)  # nothing to translate
                continue
            hit = self._lru.get(keys[i])
            if hit is not None:
                out[i], served[i] = Translated(*decode_value(hit)), "cache"
            else:
                lookups.append(i)
        if lookups and self._shared is not None:
            found = await self._shared_get([keys[i] for i in lookups])
            missing = []
            for i, value in zip(lookups, found, strict=False):
                if value is None:
                    missing.append(i)
                else:
                    self._lru.put(keys[i], value)
                    out[i], served[i] = Translated(*decode_value(value)), "cache"
            lookups = missing
        for i in lookups:
            task = self._inflight.get(keys[i])
            if task is not None:
                served[i] = "cache"  # someone is already translating this very message
            else:
                task = asyncio.create_task(self._produce(keys[i], texts[i], route, spans[i]))
                self._inflight[keys[i]] = task
                served[i] = "model"
            jobs[i] = task
        if jobs:
            # shield: a reader leaving must not cancel work other readers wait for.
            results = await asyncio.gather(*(asyncio.shield(t) for t in jobs.values()), return_exceptions=True)
            for i, result in zip(jobs, results, strict=True):
                if isinstance(result, BaseException):
                    # The reader keeps the original; a broken model must not break chat.
                    if count:
                        log.error("translation %s->%s failed: %r", source, target, result)
                        self.metrics.errors.inc(source, target)
                    served.pop(i)
                else:
                    out[i] = result
        if count:
            elapsed = time.perf_counter() - started
            for via in served.values():
                self.metrics.translations.inc(source, target, via)
                self.metrics.latency.observe(elapsed, via)
        return out

    async def _produce(self, key: str, text: str, route: list[Pair], keep: Sequence[str]) -> Translated:
        try:
            if len(route) == 2:
                # The first leg is a translation in its own right (source -> middle):
                # resolve it through the cache so readers of the middle language share it.
                (src, mid), _ = route
                first = (await self._resolve([text], src, mid, route[:1], count=False, keeps=[keep]))[0]
                if first is None:
                    raise RuntimeError(f"first leg {src}->{mid} failed")
                second = await self._leg(first.text, route[1], keep)
                result = Translated(second.text, first.confidence * second.confidence)
            else:
                result = await self._leg(text, route[0], keep)
            # Three decimals, as the caches keep it: a reader gets the same figure from either.
            result = Translated(result.text, round(result.confidence, 3))
            value = encode_value(result.text, result.confidence)
            self._lru.put(key, value)
            self._shared_set({key: value})
            return result
        finally:
            self._inflight.pop(key, None)

    async def _leg(self, text: str, pair: Pair, keep: Sequence[str] = ()) -> Translated:
        # Protected spans (glossary, URLs, mentions, code) never reach the engine:
        # the runs between them are split into sentences and translated together.
        runs = self._protector.split(text, keep)
        plans = [(run, None) if protected else (run, sentences.split(run)) for run, protected in runs]
        batch: list[str] = []
        for _, plan in plans:
            if plan is not None:
                batch.extend(sentences.translatable(plan[1]))
        scored = await self._by_pair[pair].translate_scored(pair, batch) if batch else []
        outputs = iter(text for text, _ in scored)
        out: list[str] = []
        for run, plan in plans:
            if plan is None:
                out.append(run)
                continue
            lead, segments = plan
            mine = [next(outputs) for s in segments if s.translate]
            joined = sentences.join(lead, segments, sentences.merge(segments, mine), pair[1])
            out.append(joined)
        # Longer sentences weigh more: a doubtful "OK." should not sink a long, sure paragraph.
        weights = [max(1, len(sentence)) for sentence in batch]
        confidence = sum(w * c for w, (_, c) in zip(weights, scored, strict=True)) / sum(weights) if scored else 1.0
        return Translated("".join(out), confidence)

    # -------------------------------------------------------- shared cache

    async def _shared_get(self, keys: list[str]) -> list[str | None]:
        assert self._shared is not None
        try:
            values = await asyncio.wait_for(self._shared.get_many(keys), SHARED_CACHE_TIMEOUT_S)
            return list(values)
        except Exception as exc:  # noqa: BLE001 - whatever the cache's client raises, Redis down or slow: translate locally
            log.warning("shared translation cache unavailable (%s)", exc)
            return [None] * len(keys)

    def _shared_set(self, items: dict[str, str]) -> None:
        shared = self._shared
        if shared is None:
            return

        async def store() -> None:
            try:
                await asyncio.wait_for(shared.set_many(items), SHARED_CACHE_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - as in _shared_get: a cache failure never fails a translation
                log.warning("could not store translations in the shared cache (%s)", exc)

        # In the background: the reader should not wait for Redis to get its text.
        task = asyncio.create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------- metrics

    def render_metrics(self) -> str:
        """Prometheus text: translations, latency histogram, queue depth, batches."""
        return self.metrics.render()
