"""The translation tier (`[translation] mode = "workers"`): real `babelroom serve` nodes that load
no model, real `babelroom translate-worker` processes with Apertium (eng-spa), a private Redis.

A worker killed mid-burst loses no translation and none is delivered twice; a job retried after
a worker restart is not stored twice; a job no worker finishes becomes `translation_failed`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from chat.config import BackendSettings
from chat.translation_tier import job_keys
from tests.client import Client
from tests.nodes import NodeProcess, RedisServer, WorkerProcess, start_together
from translation.jobs import GROUP

pytestmark = pytest.mark.redis

ROOM = "plenary"
PREFIX = "tw:"
KEYS = job_keys(BackendSettings(kind="redis", key_prefix=PREFIX))
APERTIUM = {"BABELROOM_TRANSLATION_ENGINES": "apertium"}
NODE_ENV = {
    **APERTIUM,
    "BABELROOM_TRANSLATION_MODE": "workers",
    "BABELROOM_TRANSLATION_CLAIM_IDLE": "1",
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
}
WORKER_ENV = {**APERTIUM, "BABELROOM_TRANSLATION_CLAIM_IDLE": "1"}


@dataclass
class Tier:
    server: RedisServer
    workdir: Path
    nodes: list[NodeProcess]
    workers: list[WorkerProcess]

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.server.port, decode_responses=True)

    def worker(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(
            name, self.workdir, redis_url=self.server.url, key_prefix=PREFIX, env=WORKER_ENV, pairs="en-es,en-fr"
        )  # en-fr in two hops, through Spanish
        worker.start()
        self.workers.append(worker)
        return worker

    async def advertised(self, *names: str) -> None:
        """Wait until these workers say what they serve (their engines have started)."""
        with self.client() as client:
            await until(
                lambda: set(names) <= set(client.hkeys(KEYS.workers)),
                60,
                f"workers {names} advertised (logs: {[w.log()[-800:] for w in self.workers]})",
            )


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def tier(tmp_path: Path) -> AsyncIterator[Tier]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    made = Tier(server, tmp_path, [], [])
    try:
        yield made
    finally:
        for worker in made.workers:
            worker.kill()
        for node in made.nodes:
            node.stop()
        server.stop()


async def start_nodes(tier: Tier, *, deadline: float = 60, metrics_token: str = "") -> tuple[NodeProcess, NodeProcess]:
    env = {
        **NODE_ENV,
        "BABELROOM_TRANSLATION_JOB_DEADLINE": str(deadline),
        "BABELROOM_SERVER_METRICS_TOKEN": metrics_token,
    }
    nodes = [
        NodeProcess(name, tier.workdir, redis_url=tier.server.url, key_prefix=PREFIX, env=env) for name in ("a", "b")
    ]
    tier.nodes += nodes  # stopped by the tier, also when one fails to start
    await asyncio.to_thread(start_together, *nodes)
    return nodes[0], nodes[1]


async def join(node: NodeProcess, name: str, lang: str) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=f"u_{name.lower()}", lang=lang))
    await client.join(ROOM)
    return client


async def frames_until(client: Client, kinds: set[str], count: int, timeout: float) -> list[dict[str, Any]]:
    """Frames of these kinds until `count` distinct message ids have one (or the time runs out)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len({frame["id"] for frame in got}) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            frame = await client.next(timeout=left)
        except TimeoutError:
            break
        if frame["type"] in kinds:
            got.append(frame)
    return got


async def test_a_worker_killed_mid_burst_loses_no_translation(tier):
    """Worker w1 is frozen, gets jobs (its blocked XREADGROUP takes them), is killed with SIGKILL:
    w2 claims them after claim_idle, and every message reaches each of its readers (Spanish on
    both nodes, French on one) translated into the reader's language exactly once."""
    w1, w2 = tier.worker("w1"), tier.worker("w2")
    await tier.advertised("w1", "w2")
    a, b = await start_nodes(tier)
    reader = await join(b, "Lucia", "es")
    others = [await join(a, "Pablo", "es"), await join(a, "Marie", "fr")]
    sender = await join(a, "Ada", "en")

    burst = 40
    sent: list[str] = []

    async def say_next() -> None:
        ack = await sender.say(ROOM, f"The meeting starts at nine number {len(sent)}.")
        sent.append(ack["id"])

    with tier.client() as client:

        def w1_holds_jobs() -> bool:
            return any(
                c["name"] == "w1" and c["pending"] > 0
                for stream in client.smembers(KEYS.streams)
                for c in client.xinfo_consumers(stream, GROUP)
            )

        # Frozen while blocked in XREADGROUP, w1 is handed jobs it will never finish. Frozen between
        # two reads (or once its 1 s block has run out) it is handed nothing: then it is let go on
        # and frozen again, a few messages later. Every message sent meanwhile counts in the burst.
        for _ in range(10):
            w1.signal(signal.SIGSTOP)
            for _ in range(3):
                await say_next()
            try:
                await until(w1_holds_jobs, 0.8, "the frozen worker holds jobs")
                break
            except AssertionError:
                w1.signal(signal.SIGCONT)
                await asyncio.sleep(0.05)
        assert w1_holds_jobs(), "w1 was never frozen holding jobs in 10 tries"
    w1.kill()  # SIGKILL, holding jobs
    while len(sent) < burst:
        await say_next()
    listeners = ((reader, "es"), (others[0], "es"), (others[1], "fr"))
    received = [
        await frames_until(listener, {"translation", "translation_failed"}, len(sent), timeout=60)
        for listener, _ in listeners
    ]
    await asyncio.sleep(2.5)  # past claim_idle again: a job claimed twice would show up now (once for all three)
    for (listener, lang), translations in zip(listeners, received, strict=True):
        while True:
            try:
                frame = await listener.next(timeout=0.2)
            except TimeoutError:
                break
            if frame["type"] in ("translation", "translation_failed"):
                translations.append(frame)

        assert [f for f in translations if f["type"] == "translation_failed"] == [], lang
        delivered = Counter((f["id"], f["lang"]) for f in translations)
        assert set(delivered) == {(message_id, lang) for message_id in sent}, f"a translation was lost ({lang})"
        assert max(delivered.values()) == 1, f"a translation was delivered twice ({lang})"
        assert all(f["text"] and "The meeting" not in f["text"] for f in translations)
    assert "claimed" in w2.log()
    with tier.client() as client:  # every job done and gone
        assert sum(client.xlen(stream) for stream in client.smembers(KEYS.streams)) == 0
    for client in (reader, sender, *others):
        await client.close()


async def test_a_job_retried_after_a_worker_restart_is_not_stored_twice(tier):
    worker = tier.worker("w1")
    await tier.advertised("w1")
    a, b = await start_nodes(tier)
    reader = await join(b, "Lucia", "es")
    sender = await join(a, "Ada", "en")
    ack = await sender.say(ROOM, "Good morning, everyone.")
    first = await reader.expect("translation", id=ack["id"], lang="es", timeout=30)

    worker.kill()
    # The same job again, taken by a consumer that then dies without acknowledging it: what a
    # worker killed after storing but before XACK leaves behind.
    stream = KEYS.stream("en", "es")
    with tier.client() as client:
        client.xadd(stream, {"room": ROOM, "id": ack["id"], "text": "Good morning, everyone."})
        client.xreadgroup(GROUP, "ghost", {stream: ">"}, count=10)
        assert client.xpending(stream, GROUP)["pending"] >= 1  # (with the original, when w1 died before its XACK)
    restarted = tier.worker("w1-restarted")
    with tier.client() as client:
        await until(
            lambda: client.xpending(stream, GROUP)["pending"] == 0 and client.xlen(stream) == 0,
            30,
            f"the retried job was done ({restarted.log()[-800:]})",
        )
    await reader.silent("translation", within=1.0)
    history = await reader_history(b)
    [stored] = [m["tr"] for m in history if m["id"] == ack["id"]]
    assert (stored["lang"], stored["text"], stored.get("confidence")) == ("es", first["text"], first.get("confidence"))
    for client in (reader, sender):
        await client.close()


async def reader_history(node: NodeProcess) -> list[dict[str, Any]]:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token("Historian", user_id="u_historian", lang="es"))
    joined = await client.join(ROOM)
    await client.close()
    return list(joined["messages"])


async def test_a_job_no_worker_finishes_becomes_translation_failed(tier):
    worker = tier.worker("w1")
    await tier.advertised("w1")
    a, b = await start_nodes(tier, deadline=2)
    reader = await join(b, "Lucia", "es")
    sender = await join(a, "Ada", "en")
    worker.kill()  # its advertisement lives on for a few seconds: the nodes still queue Spanish jobs
    ack = await sender.say(ROOM, "Is anyone translating this?")
    message = await reader.expect("message", id=ack["id"])
    assert message.get("translating") == ["es"]
    failed = await reader.expect("translation_failed", id=ack["id"], timeout=30)
    assert failed["lang"] == "es"
    for client in (reader, sender):
        await client.close()


async def test_a_message_sent_before_any_worker_advertised_is_queued_and_translated_once_one_starts(tier):
    """The nodes start before any worker has said what it serves (Compose starts them together, and
    a worker loads its engines for longer than a node starts): the message is promised in Spanish
    and queued anyway, and the worker that starts afterwards translates it."""
    a, b = await start_nodes(tier)
    reader = await join(b, "Lucia", "es")
    sender = await join(a, "Ada", "en")
    with tier.client() as client:
        assert client.hkeys(KEYS.workers) == []  # nobody has advertised: the nodes know no route
    ack = await sender.say(ROOM, "Good morning, everyone.")
    message = await reader.expect("message", id=ack["id"])
    assert message.get("translating") == ["es"]
    with tier.client() as client:
        assert client.xlen(KEYS.stream("en", "es")) == 1  # waiting for a worker
    tier.worker("w1")
    translation = await reader.expect("translation", id=ack["id"], lang="es", timeout=60)
    assert translation["text"] == "Buenos días, todo el mundo."
    for client in (reader, sender):
        await client.close()


async def test_a_message_no_worker_ever_takes_becomes_translation_failed(tier):
    """No worker at all: the job is still queued, and the deadline sweep announces it failed."""
    a, b = await start_nodes(tier, deadline=2)
    reader = await join(b, "Lucia", "es")
    sender = await join(a, "Ada", "en")
    ack = await sender.say(ROOM, "Is anyone translating this?")
    message = await reader.expect("message", id=ack["id"])
    assert message.get("translating") == ["es"]
    failed = await reader.expect("translation_failed", id=ack["id"], timeout=30)
    assert failed["lang"] == "es"
    for client in (reader, sender):
        await client.close()


async def test_a_node_in_workers_mode_reports_queue_depth_and_age(tier):
    a, _ = await start_nodes(tier, metrics_token="t" * 32)
    with tier.client() as client:
        stream = KEYS.stream("en", "es")
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        client.xadd(stream, {"room": ROOM, "id": "x.1-0", "text": "waiting"})
        client.sadd(KEYS.streams, stream)

    def metrics() -> str:
        import urllib.request

        request = urllib.request.Request(f"{a.url}/metrics", headers={"Authorization": f"Bearer {'t' * 32}"})
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.read().decode()

    await until(lambda: 'babelroom_translation_jobs_queued{pair="en-es"} 1.0' in metrics(), 15, "queue depth")
    assert 'babelroom_translation_jobs_oldest_seconds{pair="en-es"}' in metrics()


async def test_a_workers_translation_keeps_the_mentioned_names_verbatim(tier):
    tier.worker("w1")
    await tier.advertised("w1")
    a, b = await start_nodes(tier)
    reader = await join(b, "Lucia", "es")
    sender = await join(a, "Ada", "en")
    bill = await Client.connect(a.ws_url)
    await bill.auth(a.token("Bill Baker", user_id="u_bill", lang="en"))
    await bill.join(ROOM)
    ack = await sender.say(ROOM, "@Bill Baker will open the session", mentions=["u_bill"])
    spanish = (await reader.expect("translation", id=ack["id"], lang="es", timeout=30))["text"]
    assert spanish.startswith("@Bill Baker ") and "Panadero" not in spanish and "sesión" in spanish
    for client in (reader, sender, bill):
        await client.close()
