"""`babelroom translate-worker`: read translation jobs through the `workers` consumer group,
translate them in batches with the TranslationService, store and publish each result once.

A worker serves the routes of its engines (or the `pairs` it is given), says so every few seconds
in `translate:workers` (the nodes translate only into what some live worker serves), and reads
one stream per pair with XREADGROUP. A job is acknowledged (XACK) and deleted (XDEL) only after
its translation is stored: a worker that dies holding jobs leaves them pending, and after
`claim_idle` seconds another worker takes them over (XAUTOCLAIM). Storing twice is harmless: the
backend's add_translation stores and publishes a (message, language) at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions

from translation.jobs import ADVERT_INTERVAL, ADVERT_TTL_MS, GROUP, Failed, Job, JobKeys, ensure_group, job_of, now_ms
from translation.service import TranslationService

log = logging.getLogger("babelroom.translation.worker")

Store = Callable[[str, str, str, str, float | None], Awaitable[None]]  # (room, message id, target, text, confidence)
READ_BLOCK_MS = 1000


def served_pairs(translator: TranslationService, wanted: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(source, target) of every route the service has, or of `wanted` ("en-es") among them."""
    pairs = sorted(
        (source, target) for target, sources in translator.routes().items() for source in sources if source != target
    )
    if wanted:
        asked = {tuple(pair.split("-", 1)) for pair in wanted}
        missing = sorted(f"{s}-{t}" for s, t in asked if (s, t) not in pairs)
        if missing:
            log.warning("translate-worker: no engine here serves %s; serving the rest", ", ".join(missing))
        pairs = [pair for pair in pairs if pair in asked]
    return pairs


class TranslateWorker:
    def __init__(
        self,
        client: Any,
        keys: JobKeys,
        translator: TranslationService,
        *,
        name: str,
        store: Store,
        failed: Failed,
        pairs: list[tuple[str, str]],
        claim_idle: float,
        batch_max: int,
    ) -> None:
        self._client = client
        self._keys = keys
        self._translator = translator
        self.name = name
        self._store = store
        self._failed = failed
        self._pairs = pairs
        self._claim_idle_ms = int(claim_idle * 1000)
        self._batch_max = max(1, batch_max)
        self.done = 0  # jobs finished by this worker

    @property
    def streams(self) -> list[str]:
        return [self._keys.stream(source, target) for source, target in self._pairs]

    async def advertise(self) -> None:
        routes: dict[str, list[str]] = defaultdict(list)
        for source, target in self._pairs:
            routes[target].append(source)
        await self._client.hset(
            self._keys.workers, self.name, json.dumps({"routes": routes, "until": now_ms() + ADVERT_TTL_MS})
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; then say this worker serves nothing any more."""
        for stream in self.streams:
            await ensure_group(self._client, stream)
        log.info(
            "translate-worker %s: serving %s", self.name, ", ".join(f"{s}->{t}" for s, t in self._pairs) or "nothing"
        )
        next_advert = next_claim = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                if loop.time() >= next_advert:
                    await self.advertise()
                    next_advert = loop.time() + ADVERT_INTERVAL
                if loop.time() >= next_claim:
                    await self.claim_abandoned()
                    next_claim = loop.time() + max(0.2, self._claim_idle_ms / 2000)
                if not self._pairs:
                    await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=READ_BLOCK_MS / 1000)
                    continue
                replies = await self._client.xreadgroup(
                    GROUP, self.name, dict.fromkeys(self.streams, ">"), count=self._batch_max, block=READ_BLOCK_MS
                )
                jobs = [
                    job_of(stream, entry, fields)
                    for stream, entries in _streams(replies)
                    for entry, fields in entries
                    if fields
                ]
                if jobs:
                    await self.process(jobs)
        finally:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):  # Redis away: the advert expires
                await self._client.hdel(self._keys.workers, self.name)

    async def claim_abandoned(self) -> None:
        """Take over the jobs another worker has held for claim_idle without finishing them."""
        for stream in self.streams:
            reply = await self._client.xautoclaim(
                stream, GROUP, self.name, self._claim_idle_ms, start_id="0-0", count=self._batch_max
            )
            claimed = reply[1] if len(reply) > 1 else []
            jobs = [job_of(stream, entry, fields) for entry, fields in claimed if fields]
            if jobs:
                log.info("translate-worker %s: claimed %d abandoned job(s) of %s", self.name, len(jobs), stream)
                await self.process(jobs)

    async def process(self, jobs: list[Job]) -> None:
        """Translate a batch (one call per pair), store each result, then acknowledge the jobs."""
        by_stream: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            by_stream[job.stream].append(job)
        for stream, group in by_stream.items():
            source, target = self._keys.pair_of(stream)
            made = await self._translator.translate_many_scored(
                [job.text for job in group], source, target, [job.keep for job in group]
            )
            for job, translated in zip(group, made, strict=True):
                if translated is None:
                    await self._failed(job.room, job.message_id, target)
                else:
                    await self._store(job.room, job.message_id, target, translated.text, translated.confidence)
            async with self._client.pipeline(transaction=False) as pipe:
                entries = [job.entry for job in group]
                pipe.xack(stream, GROUP, *entries)
                pipe.xdel(stream, *entries)
                await pipe.execute()
            self.done += len(group)


def _streams(replies: Any) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """XREADGROUP's answer (RESP2: [[stream, [[entry, fields], ...]], ...]) as (stream, entries)."""
    return [(stream, entries) for stream, entries in replies or []]
