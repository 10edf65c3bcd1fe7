"""The translation tier (`[translation] mode = "workers"`), wired to the configuration and the
redis backend: the node's job queue, and the `babelroom translate-worker` process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
from typing import Any

import redis.asyncio
import redis.exceptions

from chat.backend.redis.keys import Keys
from chat.config import BackendSettings, Config
from rooms.stores import BackendUnavailable, Broker
from rooms.stores.events import TranslationFailed
from translation import TranslationService
from translation.jobs import JobKeys, JobQueue
from translation.settings import TranslationSettings
from translation.worker import TranslateWorker, served_pairs

log = logging.getLogger("babelroom.translation.worker")


def job_client(settings: BackendSettings) -> Any:
    """A Redis client of the queue's own (RESP2, strings), on one Redis or a cluster."""
    kwargs: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 2, "socket_timeout": 10}
    if settings.redis_cluster:
        return redis.asyncio.RedisCluster.from_url(settings.redis_url, **kwargs)
    return redis.asyncio.Redis.from_url(settings.redis_url, **kwargs)


def job_keys(settings: BackendSettings) -> JobKeys:
    return JobKeys(Keys(settings.key_prefix, cluster=settings.redis_cluster).prefix)


def node_translator_settings(settings: TranslationSettings) -> TranslationSettings:
    """A node in workers mode loads no model: no engines (detection still runs)."""
    return dataclasses.replace(settings, engines=()) if settings.mode == "workers" else settings


def node_job_queue(config: Config, broker: Broker) -> JobQueue | None:
    """The queue a node in workers mode puts its translation jobs on (None: inline mode)."""
    if config.translation.mode != "workers":
        return None

    async def failed(room: str, message_id: str, lang: str) -> None:
        await broker.publish(room, TranslationFailed(room=room, id=message_id, lang=lang))

    # the node's reading languages (it loads no engine, so they are the configured ones)
    return JobQueue(
        job_client(config.backend),
        job_keys(config.backend),
        deadline=config.translation.job_deadline,
        on_failed=failed,
        languages=config.translation.languages,
    )


def run_worker(config: Config, name: str | None, pairs: tuple[str, ...]) -> int:
    """`babelroom translate-worker`: until SIGTERM or SIGINT."""
    if config.backend.kind != "redis":
        print('babelroom: translate-worker needs [backend] kind = "redis"', flush=True)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work(config, name or f"{socket.gethostname()}-{os.getpid()}", pairs))
    return 0


async def _work(config: Config, name: str, pairs: tuple[str, ...]) -> None:
    from chat.backend.redis import RedisBackend

    # the backend is not started (no subscriber, no presence): its broker stores translations and publishes
    backend = RedisBackend(config.backend, f"worker-{name}")
    broker = backend.stores.broker
    translator = TranslationService(config.translation, shared_cache=backend.shared_cache())
    await translator.start()
    client = job_client(config.backend)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def failed(room: str, message_id: str, lang: str) -> None:
        await broker.publish(room, TranslationFailed(room=room, id=message_id, lang=lang))

    async def store(room: str, message_id: str, lang: str, text: str, confidence: float | None) -> None:
        await broker.add_translation(room, message_id, lang, text, confidence=confidence)

    worker = TranslateWorker(
        client,
        job_keys(config.backend),
        translator,
        name=name,
        store=store,
        failed=failed,
        pairs=served_pairs(translator, pairs),
        claim_idle=config.translation.claim_idle,
        batch_max=config.translation.batch_max,
    )
    try:
        while not stop.is_set():
            try:
                await worker.run(stop)
            except (BackendUnavailable, redis.exceptions.RedisError, OSError) as exc:
                # Redis away: the jobs in hand stay pending and are claimed again (by this worker
                # or another) once it is back
                log.warning("translate-worker %s: Redis unavailable (%s); retrying in 1 s", name, exc)
                await asyncio.sleep(1)
    finally:
        log.info("translate-worker %s: stopped after %d job(s)", name, worker.done)
        await translator.close()
        await client.aclose()
        await backend.close()
