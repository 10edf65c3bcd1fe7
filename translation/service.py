"""The translation service the chat layer talks to.

Per message and target language there is at most one model translation, however
many readers: results go to an LRU (and the shared Redis cache when there is one),
and a translation already being made is joined rather than made again. Model work
and detection run in thread pools; the event loop only moves futures around.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import sentences
from .batcher import PairBatcher
from .cache import LRUCache, SharedCache, cache_key
from .detect import LanguageDetector
from .engine import PairModel
from .metrics import TranslationMetrics
from .packages import PackageInfo, list_packages
from .routing import Pair, Routes
from .settings import TranslationSettings

log = logging.getLogger("babelroom.translation")

#: How long a shared-cache call may take before we stop waiting and translate.
SHARED_CACHE_TIMEOUT_S = 1.0


class TranslationService:
    """See the package docstring; every public coroutine is safe to call
    concurrently from the event loop."""

    def __init__(self, settings: TranslationSettings,
                 shared_cache: SharedCache | None = None) -> None:
        self.settings = settings
        self._shared = shared_cache
        self._routes = Routes(())
        self._models: dict[Pair, PairModel] = {}
        self._tags: dict[Pair, str] = {}
        self._batchers: dict[Pair, PairBatcher] = {}
        self._lru = LRUCache(settings.cache_size)
        self._inflight: dict[str, asyncio.Task[str]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max(1, settings.inter_threads),
                                            thread_name_prefix="babelroom-model")
        # Detection gets its own thread so it never queues behind a model batch.
        self._detect_executor = ThreadPoolExecutor(1, thread_name_prefix="babelroom-detect")
        self._detector: LanguageDetector | None = None
        self.metrics = TranslationMetrics(
            queue_depth=lambda: sum(b.depth for b in list(self._batchers.values())))

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Load installed packages (off the loop) and log the pairs served."""
        loop = asyncio.get_running_loop()
        if self.settings.enabled:
            models = await loop.run_in_executor(self._executor, self._load_models)
            self._install(models)
            lines = self._routes.describe()
            if lines:
                log.info("translation: serving %d direct pair(s) from %s: %s",
                         len(self._models), self.settings.packages_dir, ", ".join(lines))
            else:
                log.info("translation: no packages in %s; readers get originals only "
                         "(add some with `babelroom languages install`)",
                         self.settings.packages_dir)
        else:
            log.info("translation: disabled; readers get originals only")
        await loop.run_in_executor(self._detect_executor, self._build_detector)

    def _load_models(self) -> dict[Pair, PairModel]:
        # CTranslate2's worker threads are created here and inherit this thread's
        # priority: lowered, so the event loop thread (delivering originals) gets a
        # core first when the model saturates the machine.
        lower_thread_priority(self.settings.model_nice)
        models: dict[Pair, PairModel] = {}
        for info in list_packages(self.settings.packages_dir):
            pair = (info.from_code, info.to_code)
            try:
                model = PairModel(info, self.settings)
                model.translate_batch(["Hello."])  # first call allocates; pay it now
            except Exception:
                log.exception("translation: cannot load package %s; skipping it", info.path)
                continue
            models[pair] = model
        return models

    def _install(self, models: dict[Pair, PairModel]) -> None:
        self._models = models
        self._tags = {pair: _tag(m.info) for pair, m in models.items()}
        self._routes = Routes(models)
        for pair, model in models.items():
            name = f"{pair[0]}-{pair[1]}"
            self._batchers[pair] = PairBatcher(
                name, model.translate_batch, self._executor,
                batch_max=self.settings.batch_max, wait_s=self.settings.batch_wait_ms / 1000,
                max_in_flight=self.settings.inter_threads,
                on_batch=lambda n, name=name: self._count_batch(name, n))

    def _count_batch(self, pair: str, size: int) -> None:
        self.metrics.batches.inc(pair)
        self.metrics.sentences.inc(pair, by=size)

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        for batcher in self._batchers.values():
            await batcher.close()
        if self._background:
            await asyncio.wait(self._background, timeout=SHARED_CACHE_TIMEOUT_S)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._detect_executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ routing

    def languages(self) -> list[str]:
        """Codes a reader can get translations into (pivot included), sorted."""
        return self._routes.targets() if self.settings.enabled else []

    def reading_languages(self) -> list[str]:
        """What a user may pick: the configured languages plus every target."""
        return sorted(set(self.settings.languages) | set(self.languages()))

    def has_route(self, source: str, target: str) -> bool:
        """True when translate() can turn source into target (False if they are equal)."""
        return self._route(source, target) is not None

    def pairs(self) -> list[str]:
        """Human descriptions of the pairs served ("de->en", "de->es (via en)")."""
        return self._routes.describe()

    def _route(self, source: str, target: str) -> list[Pair] | None:
        if not self.settings.enabled:
            return None
        return self._routes.route(source, target)

    # ---------------------------------------------------------- detection

    def _build_detector(self) -> LanguageDetector:
        detector = LanguageDetector(
            self.reading_languages(), backend=self.settings.detector,
            min_chars=self.settings.detect_min_chars, min_prob=self.settings.detect_min_prob)
        detector.warm_up()
        self._detector = detector
        return detector

    def _detect_sync(self, text: str, fallback: str) -> tuple[str, bool]:
        detector = self._detector or self._build_detector()
        return detector.detect(text, fallback)

    async def detect(self, text: str, fallback: str) -> str:
        """The language of text, or fallback (the sender's language) when the text
        is too short or the detector unsure. Runs in a worker thread."""
        if not any(ch.isalpha() for ch in text[:500]):
            self.metrics.detections.inc("fallback")
            return fallback
        loop = asyncio.get_running_loop()
        language, detected = await loop.run_in_executor(
            self._detect_executor, self._detect_sync, text, fallback)
        self.metrics.detections.inc("detected" if detected else "fallback")
        return language

    # -------------------------------------------------------- translation

    async def translate(self, text: str, source: str, target: str) -> str | None:
        """One message into one language; None without a route or when source == target."""
        return (await self.translate_many([text], source, target))[0]

    async def translate_many(self, texts: list[str], source: str,
                             target: str) -> list[str | None]:
        """Several messages (history) into one language, batched together."""
        route = self._route(source, target)
        if route is None:
            return [None] * len(texts)
        return await self._resolve(texts, source, target, route, count=True)

    def _key(self, text: str, source: str, target: str, route: list[Pair]) -> str:
        return cache_key(source, target, text, "+".join(self._tags[p] for p in route))

    async def _resolve(self, texts: list[str], source: str, target: str,
                       route: list[Pair], *, count: bool) -> list[str | None]:
        started = time.perf_counter()
        out: list[str | None] = [None] * len(texts)
        keys = [self._key(t, source, target, route) for t in texts]
        served: dict[int, str] = {}                     # index -> via
        jobs: dict[int, asyncio.Task[str]] = {}
        lookups: list[int] = []
        for i, text in enumerate(texts):
            if not text.strip():
                out[i] = text  # nothing to translate
                continue
            hit = self._lru.get(keys[i])
            if hit is not None:
                out[i], served[i] = hit, "cache"
            else:
                lookups.append(i)
        if lookups and self._shared is not None:
            found = await self._shared_get([keys[i] for i in lookups])
            missing = []
            for i, value in zip(lookups, found):
                if value is None:
                    missing.append(i)
                else:
                    self._lru.put(keys[i], value)
                    out[i], served[i] = value, "cache"
            lookups = missing
        for i in lookups:
            task = self._inflight.get(keys[i])
            if task is not None:
                served[i] = "cache"  # someone is already translating this very message
            else:
                task = asyncio.create_task(self._produce(keys[i], texts[i], route))
                self._inflight[keys[i]] = task
                served[i] = "model"
            jobs[i] = task
        if jobs:
            # shield: a reader leaving must not cancel work other readers wait for.
            results = await asyncio.gather(*(asyncio.shield(t) for t in jobs.values()),
                                           return_exceptions=True)
            for i, result in zip(jobs, results):
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

    async def _produce(self, key: str, text: str, route: list[Pair]) -> str:
        try:
            if len(route) == 2:
                # The first leg is a translation in its own right (source -> en):
                # resolve it through the cache so English readers and the pivot share it.
                (src, mid), _ = route
                pivot = (await self._resolve([text], src, mid, route[:1], count=False))[0]
                if pivot is None:
                    raise RuntimeError(f"pivot leg {src}->{mid} failed")
                result = await self._leg(pivot, route[1])
            else:
                result = await self._leg(text, route[0])
            self._lru.put(key, result)
            self._shared_set({key: result})
            return result
        finally:
            self._inflight.pop(key, None)

    async def _leg(self, text: str, pair: Pair) -> str:
        lead, segments = sentences.split(text)
        outputs = await self._batchers[pair].translate(sentences.translatable(segments))
        return sentences.join(lead, segments, sentences.merge(segments, outputs), pair[1])

    # -------------------------------------------------------- shared cache

    async def _shared_get(self, keys: list[str]) -> list[str | None]:
        assert self._shared is not None
        try:
            values = await asyncio.wait_for(self._shared.get_many(keys), SHARED_CACHE_TIMEOUT_S)
            return list(values)
        except Exception as exc:  # Redis down or slow: translate locally instead
            log.warning("shared translation cache unavailable (%s)", exc)
            return [None] * len(keys)

    def _shared_set(self, items: dict[str, str]) -> None:
        if self._shared is None:
            return

        async def store() -> None:
            try:
                await asyncio.wait_for(self._shared.set_many(items), SHARED_CACHE_TIMEOUT_S)
            except Exception as exc:
                log.warning("could not store translations in the shared cache (%s)", exc)

        # In the background: the reader should not wait for Redis to get its text.
        task = asyncio.create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------- metrics

    def render_metrics(self) -> str:
        """Prometheus text: translations, latency histogram, queue depth, batches."""
        return self.metrics.render()


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (Linux: per thread; threads
    it starts inherit it). Best effort: elsewhere it does nothing."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError as exc:
        log.debug("could not lower model thread priority: %s", exc)


def _tag(info: PackageInfo) -> str:
    """Short identity of a package's version, for cache keys."""
    text = f"{info.name}:{info.version}"
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
