"""Translation jobs on Redis Streams (`[translation] mode = "workers"`): what the node puts there,
what workers advertise, and what happens to a job nobody finishes.

Keys (all under the event-wide prefix, one slot on Redis Cluster):
    translate:jobs:<source>:<target>   Stream of jobs of one pair; fields room, id, text (and keep: a
                                       JSON list of spans passed through verbatim, when any). Consumer
                                       group `workers`; a worker XACKs and XDELs a job once its
                                       translation is stored, so what is in a stream is not done.
    translate:streams                  Set of the job streams ever written (the deadline sweep reads them)
    translate:workers                  Hash worker name -> JSON {"routes": {target: [sources]}, "until": ms}

One stream per pair: a worker reads only the pairs it serves, and a job of a pair no live worker
serves stays where the sweep finds it. The node never translates: it asks `has_route` of the
workers' advertised routes, enqueues, and its sweep turns jobs older than `job_deadline` into
`translation_failed` (XDEL decides which node's sweep announces it: only one deletes it).

While no live worker advertises any route (the tier is starting: a worker loads its engines for
longer than a node starts, or every worker is gone, or scaled to zero), the node does not know
what will be served, so it queues into every reading language it offers: the jobs wait in their
streams for the workers to come (and make the queue depth an autoscaler starts them on), and
those no worker takes become `translation_failed` at the deadline. Deciding from the empty
routes instead would leave such a message untranslated with nobody told (no job, no failure).

Storing goes through the backend's add_translation, which stores and publishes a (message,
language) at most once, so a job retried after its worker died is never delivered twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from translation.routing import ReachableByRoute

log = logging.getLogger("babelroom.translation.jobs")

GROUP = "workers"
ADVERT_INTERVAL = 2.0  # seconds between a worker's advertisements (and the node's reads of them)
ADVERT_TTL_MS = 10_000  # a worker that has not advertised for this long serves nothing
SWEEP_BATCH = 200

Failed = Callable[[str, str, str], Awaitable[None]]  # (room, message id, target language)


@dataclass(frozen=True)
class JobKeys:
    prefix: str  # the event-wide prefix (Keys.prefix: one hash tag on a cluster)

    def stream(self, source: str, target: str) -> str:
        return f"{self.prefix}translate:jobs:{source}:{target}"

    def pair_of(self, stream: str) -> tuple[str, str]:
        source, _, target = stream.removeprefix(f"{self.prefix}translate:jobs:").partition(":")
        return source, target

    @property
    def streams(self) -> str:
        return f"{self.prefix}translate:streams"

    @property
    def workers(self) -> str:
        return f"{self.prefix}translate:workers"


@dataclass(frozen=True)
class Job:
    stream: str
    entry: str  # the stream entry id
    room: str
    message_id: str
    text: str
    keep: tuple[str, ...] = ()  # spans the translation passes through verbatim (the message's mentions)


def job_of(stream: str, entry: str, fields: dict[str, str]) -> Job:
    return Job(
        stream, entry, fields.get("room", ""), fields.get("id", ""), fields.get("text", ""), _spans(fields.get("keep"))
    )


def _spans(raw: str | None) -> tuple[str, ...]:
    """A job's `keep` field: a JSON list of strings; anything else keeps nothing."""
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return ()
    return tuple(span for span in value if isinstance(span, str)) if isinstance(value, list) else ()


def now_ms() -> int:
    return int(time.time() * 1000)


async def ensure_group(client: Any, stream: str) -> None:
    """The `workers` group on a stream (made with the stream), reading from its start."""
    try:
        await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):  # BUSYGROUP: it exists
            raise


class JobQueue(ReachableByRoute):
    """The node's side: enqueue, the workers' routes, the deadline sweep, the queue metrics."""

    def __init__(
        self, client: Any, keys: JobKeys, *, deadline: float, on_failed: Failed, languages: Iterable[str]
    ) -> None:
        self._client = client
        self._keys = keys
        self._deadline_ms = int(deadline * 1000)
        self._on_failed = on_failed
        self._languages = frozenset(languages)  # the reading languages: queued into while no worker advertises
        self._routes: dict[str, set[str]] = {}  # target -> sources some live worker serves
        self.routes_changed()
        self._depth: dict[str, int] = {}  # pair "en-es" -> jobs not done
        self._age: dict[str, float] = {}  # pair -> seconds the oldest of them has waited
        self._groups: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    # routes --------------------------------------------------------------------------
    def has_route(self, source: str, target: str) -> bool:
        if source == target:
            return False
        if not self._routes:  # no live worker has said what it serves: queue, the deadline tells
            return target in self._languages
        return source in self._routes.get(target, ())

    def route_targets(self) -> list[str]:
        """Where `reachable` looks (ReachableByRoute): the languages some live worker translates into,
        or every reading language while none advertises (has_route queues into those)."""
        return list(self._routes or self._languages)

    async def read_routes(self) -> None:
        adverts = await self._client.hgetall(self._keys.workers)
        routes: dict[str, set[str]] = {}
        now = now_ms()
        for raw in adverts.values():
            advert = json.loads(raw)
            if int(advert.get("until", 0)) <= now:
                continue
            for target, sources in advert.get("routes", {}).items():
                routes.setdefault(target, set()).update(sources)
        self._routes = routes
        self.routes_changed()

    # jobs --------------------------------------------------------------------------------
    async def enqueue(
        self, room: str, message_id: str, source: str, text: str, targets: Iterable[str], keep: Sequence[str] = ()
    ) -> None:
        """One job per target language (`keep`: spans of the text passed through verbatim)."""
        fields = {"room": room, "id": message_id, "text": text}
        if keep:
            fields["keep"] = json.dumps(list(keep))
        streams = [self._keys.stream(source, target) for target in targets]
        for stream in streams:
            if stream not in self._groups:  # the group first: a worker that starts later still reads it
                await ensure_group(self._client, stream)
                self._groups.add(stream)
        async with self._client.pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.xadd(stream, fields)
            if streams:
                pipe.sadd(self._keys.streams, *streams)
            await pipe.execute()

    async def sweep(self) -> None:
        """Announce the jobs older than the deadline as failed; note each pair's depth and age."""
        streams: set[str] = await self._client.smembers(self._keys.streams)
        now = now_ms()
        depth: dict[str, int] = {}
        age: dict[str, float] = {}
        for stream in sorted(streams):
            source, target = self._keys.pair_of(stream)
            pair = f"{source}-{target}"
            late = await self._client.xrange(stream, "-", str(max(0, now - self._deadline_ms)), count=SWEEP_BATCH)
            for entry, fields in late:
                if await self._client.xdel(stream, entry):  # only the node that deletes it announces it
                    job = job_of(stream, entry, fields)
                    log.warning(
                        "translation job %s -> %s of %s in %s found no worker within the deadline",
                        source,
                        target,
                        job.message_id,
                        job.room,
                    )
                    await self._on_failed(job.room, job.message_id, target)
            depth[pair] = int(await self._client.xlen(stream))
            oldest = await self._client.xrange(stream, "-", "+", count=1)
            age[pair] = max(0.0, (now - int(oldest[0][0].split("-")[0])) / 1000) if oldest else 0.0
        self._depth, self._age = depth, age

    # the node's background loop ------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="translation-jobs")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.read_routes()
                await self.sweep()
            except (redis.exceptions.RedisError, OSError) as exc:  # Redis away: the next round tries again
                log.debug("translation jobs: %s", exc)
            await asyncio.sleep(min(ADVERT_INTERVAL, self._deadline_ms / 4000))

    def collector(self) -> Collector:
        return _QueueCollector(self)


class _QueueCollector(Collector):
    """Queue depth and the oldest job's age per pair: what an autoscaler (KEDA) reads."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "babelroom_translation_jobs_queued",
            "Translation jobs waiting or being worked on, per pair (workers mode).",
            labels=["pair"],
        )
        age = GaugeMetricFamily(
            "babelroom_translation_jobs_oldest_seconds",
            "Seconds the oldest unfinished translation job of a pair has waited.",
            labels=["pair"],
        )
        for pair, count in sorted(self._queue._depth.items()):
            depth.add_metric([pair], count)
            age.add_metric([pair], self._queue._age.get(pair, 0.0))
        yield depth
        yield age
