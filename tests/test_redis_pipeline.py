"""chat/backend/redis/pipeline.py (issue 27): the scripts' one pipelined connection answers every
call with its own reply, fails the calls in flight when the connection breaks and connects again on
the next call, gives up on a reply that does not come, and raises Redis' errors as redis-py does.
Needs the test Redis (database 15); what would disturb other users of that Redis (a script flush,
a stopped or killed server, a password) happens on a redis-server of the test's own."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
import uvloop
from redis.typing import EncodableT

from chat.backend.redis.calls import write_call
from chat.backend.redis.connection import LeanConnection, LeanPool, LeanRedis
from chat.backend.redis.pipeline import PipelinedRedis
from chat.backend.redis.scripts import LeanScript
from rooms.stores import BackendUnavailable
from tests.conftest import REDIS_TEST_DB, REDIS_URL, checked_backend
from tests.nodes import RedisServer

pytestmark = pytest.mark.redis


def pipelined_for(url: str, name: str, **options: Any) -> PipelinedRedis:
    """A pipelined connection made from a pool as the backend makes its own."""
    pool = LeanPool.from_url(url, decode_responses=True, client_name=name, socket_connect_timeout=2, **options)
    pool.connection_class = LeanConnection
    pipelined = PipelinedRedis.for_pool(pool)
    assert pipelined is not None
    return pipelined


class Calls:
    """Calls through the pipelined connection as the backend makes them: Redis trouble becomes
    BackendUnavailable."""

    def __init__(self, pipelined: PipelinedRedis) -> None:
        self.pipelined = pipelined
        self._slots = asyncio.Semaphore(64)

    @write_call
    async def run(self, *args: Any) -> Any:
        return await self.pipelined.execute(*args)


@pytest.fixture
async def shared() -> AsyncIterator[tuple[PipelinedRedis, str]]:
    """A pipelined connection to the test Redis, with a name and keys of its own."""
    checked_backend("redis")
    name = f"brtest-pipe-{uuid.uuid4().hex[:8]}"
    pipelined = pipelined_for(f"{REDIS_URL}/{REDIS_TEST_DB}", name)
    yield pipelined, name
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}") as admin:
        await admin.delete(f"{name}:count", f"{name}:list", f"{name}:hash")
    await pipelined.aclose()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", persistent=False)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:  # a test that stopped it lets it go on
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


async def connections_named(name: str) -> list[dict[str, Any]]:
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}", decode_responses=True) as admin:
        return [client for client in await admin.client_list() if client["name"] == name]


async def test_calls_in_flight_together_each_get_their_own_reply_on_one_connection(
    shared: tuple[PipelinedRedis, str],
) -> None:
    pipelined, name = shared
    echoes = await asyncio.gather(*(pipelined.execute("ECHO", f"call {i}") for i in range(300)))
    assert echoes == [f"call {i}" for i in range(300)]
    counts = await asyncio.gather(*(pipelined.execute("INCR", f"{name}:count") for _ in range(300)))
    assert counts == list(range(1, 301))  # run in the order they were written
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}", decode_responses=True) as admin:
        assert await admin.get(f"{name}:count") == "300"  # the URL's database
    assert len(await connections_named(name)) == 1


async def test_error_replies_are_raised_as_redis_py_raises_them_and_the_next_reply_is_the_right_one(
    shared: tuple[PipelinedRedis, str],
) -> None:
    pipelined, name = shared
    pool = LeanPool.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}", decode_responses=True)
    pool.connection_class = LeanConnection
    plain = LeanRedis(connection_pool=pool)
    await plain.rpush(f"{name}:list", "x")
    failing: list[tuple[Any, ...]] = [
        ("HGET", f"{name}:list", "field"),  # WRONGTYPE
        ("EVALSHA", "0" * 40, 0),  # NOSCRIPT
        ("EVAL", "return redis.error_reply('BUSY not now')", 0),
        ("EVAL", "return {1, redis.error_reply('ERR inside')}", 0),  # an error inside a reply is a value
        ("NOSUCHCOMMAND",),
    ]
    try:
        for args in failing:
            expected: Any
            try:
                expected = await plain.execute_command(*args)
            except redis.exceptions.RedisError as exc:
                expected = exc
            replies = await asyncio.gather(
                pipelined.execute(*args), pipelined.execute("ECHO", "after"), return_exceptions=True
            )
            if isinstance(expected, Exception):
                assert type(replies[0]) is type(expected) and str(replies[0]) == str(expected)
            else:
                assert repr(replies[0]) == repr(expected)
            assert replies[1] == "after"
    finally:
        await plain.aclose()


async def test_a_call_whose_caller_gave_up_leaves_the_replies_in_step(shared: tuple[PipelinedRedis, str]) -> None:
    pipelined, name = shared
    assert await pipelined.execute("ECHO", "connected") == "connected"
    given_up = asyncio.ensure_future(pipelined.execute("INCR", f"{name}:count"))
    await asyncio.sleep(0)  # written; its reply not read yet
    given_up.cancel()
    assert await asyncio.gather(*(pipelined.execute("ECHO", str(i)) for i in range(10))) == [str(i) for i in range(10)]
    assert await pipelined.execute("INCR", f"{name}:count") == 2  # the cancelled one ran: Redis had it
    assert given_up.cancelled()


async def test_a_connection_killed_with_calls_in_flight_fails_them_and_the_next_call_connects_again(
    shared: tuple[PipelinedRedis, str],
) -> None:
    pipelined, name = shared
    calls = Calls(pipelined)
    first = await calls.run("CLIENT", "ID")
    blocked = asyncio.ensure_future(calls.run("BLPOP", f"{name}:list", 0))  # answered when a value comes: never
    behind = asyncio.ensure_future(calls.run("ECHO", "behind"))  # its reply would come after BLPOP's

    async def blocked_in_redis() -> bool:
        return any(client["cmd"] == "blpop" for client in await connections_named(name))

    await async_wait_until(blocked_in_redis)
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}") as admin:
        assert await admin.client_kill_filter(_id=str(first)) == 1
    for call in (blocked, behind):
        with pytest.raises(BackendUnavailable):
            await call
    assert await calls.run("ECHO", "again") == "again"
    assert await calls.run("CLIENT", "ID") != first
    assert len(await connections_named(name)) == 1


async def test_a_reply_slower_than_the_timeout_fails_the_call_and_drops_the_connection(
    shared: tuple[PipelinedRedis, str],
) -> None:
    _, name = shared
    pipelined = pipelined_for(f"{REDIS_URL}/{REDIS_TEST_DB}", name, socket_timeout=0.5)
    try:
        first = await pipelined.execute("CLIENT", "ID")
        slow = asyncio.ensure_future(pipelined.execute("BLPOP", f"{name}:list", 0))
        behind = asyncio.ensure_future(pipelined.execute("ECHO", "behind"))
        with pytest.raises(redis.exceptions.TimeoutError):
            await slow
        with pytest.raises(redis.exceptions.ConnectionError):  # its reply would have been BLPOP's
            await behind
        assert await pipelined.execute("ECHO", "again") == "again"
        assert await pipelined.execute("CLIENT", "ID") != first
        await wait_until_async_count(name, 1)  # the dropped connection is gone from Redis too
    finally:
        await pipelined.aclose()


async def test_a_redis_killed_and_started_again_fails_the_calls_then_serves_them(
    private_redis: RedisServer,
) -> None:
    calls = Calls(pipelined_for(private_redis.url, "brtest-pipe-restart"))
    assert await calls.run("SET", "k", "before") == "OK"
    blocked = asyncio.ensure_future(calls.run("BLPOP", "list", 0))
    await asyncio.sleep(0)
    private_redis.kill()
    with pytest.raises(BackendUnavailable):
        await blocked
    with pytest.raises(BackendUnavailable):  # nobody listens: connection refused
        await calls.run("ECHO", "nobody")
    private_redis.start()
    assert await calls.run("ECHO", "back") == "back"
    await calls.pipelined.aclose()


async def test_a_script_flushed_from_redis_is_loaded_again_and_run(private_redis: RedisServer) -> None:
    pipelined = pipelined_for(private_redis.url, "brtest-pipe-scripts")
    client = redis.asyncio.Redis.from_url(private_redis.url, decode_responses=True)
    script = LeanScript(client, "return {KEYS[1], ARGV[1]}", pipelined)
    try:
        assert await script(keys=["k"], args=["first"]) == ["k", "first"]  # never loaded: loaded now
        await client.script_flush()
        replies = await asyncio.gather(*(script(keys=["k"], args=[str(i)]) for i in range(20)))
        assert replies == [["k", str(i)] for i in range(20)]
        assert await client.script_exists(script.sha) == [True]
    finally:
        await client.aclose()
        await pipelined.aclose()


async def test_a_call_with_keys_packed_once_is_the_plain_call(private_redis: RedisServer) -> None:
    """LeanScript.call_keyed (the send's keys packed once per room and sender): the same command as the
    plain call, with more keys or none, str, bytes, int and float arguments, and a script Redis lost."""
    pipelined = pipelined_for(private_redis.url, "brtest-pipe-keyed")
    client = redis.asyncio.Redis.from_url(private_redis.url, decode_responses=True)
    source = "return {#KEYS, KEYS[1], KEYS[#KEYS], #ARGV, ARGV[1], ARGV[#ARGV]}"
    script = LeanScript(client, source, pipelined)
    plain = LeanScript(client, source)  # the pool's way: redis-py packs the whole command
    try:
        fixed = script.pack_keys(tuple(f"key:{n}:ü" for n in range(12)))
        calls: list[tuple[tuple[str, ...], list[EncodableT]]] = [
            ((), ["only"]),
            (("key:extra",), ["1", b"bytes", 12, 0.25, "texte ü 中文"]),
            ((), [f"arg{n}" for n in range(40)]),
        ]
        for more, args in calls:
            expected = await plain(keys=[*fixed.keys, *more], args=args)
            assert await script.call_keyed(fixed, more, args) == expected
        assert await script.call_keyed(fixed, (), ["1", b"bytes", 12, 0.25]) == [
            12,
            "key:0:ü",
            "key:11:ü",
            4,
            "1",
            "0.25",
        ]
        await client.script_flush()  # a new or restarted Redis: loaded, then run
        assert (await script.call_keyed(fixed, ("key:13",), ["again"]))[:3] == [13, "key:0:ü", "key:13"]
        unpiped = LeanScript(client, source)  # no pipelined connection (TLS, a Unix socket): the plain way
        assert await unpiped.call_keyed(unpiped.pack_keys(fixed.keys), (), ["x"]) == [
            12,
            "key:0:ü",
            "key:11:ü",
            1,
            "x",
            "x",
        ]
    finally:
        await client.aclose()
        await pipelined.aclose()


async def test_the_url_password_and_database_are_used(private_redis: RedisServer) -> None:
    async with redis.asyncio.Redis.from_url(private_redis.url, decode_responses=True) as admin:
        await admin.config_set("requirepass", "s3cret")
    where = f"127.0.0.1:{private_redis.port}"
    right = pipelined_for(f"redis://:s3cret@{where}/3", "brtest-pipe-auth")
    wrong = pipelined_for(f"redis://:wrong@{where}/3", "brtest-pipe-auth")
    try:
        assert await right.execute("SET", "k", "in three") == "OK"
        async with redis.asyncio.Redis.from_url(f"redis://:s3cret@{where}/3", decode_responses=True) as db3:
            assert await db3.get("k") == "in three"
            assert {client["name"] for client in await db3.client_list()} >= {"brtest-pipe-auth"}
        with pytest.raises(BackendUnavailable):
            await Calls(wrong).run("ECHO", "refused")
    finally:
        await right.aclose()
        await wrong.aclose()


async def test_a_command_redis_does_not_take_in_time_fails_as_a_write_timeout(private_redis: RedisServer) -> None:
    pipelined = pipelined_for(private_redis.url, "brtest-pipe-full", socket_timeout=0.5)
    assert await pipelined.execute("ECHO", "up") == "up"
    assert private_redis.process is not None
    os.kill(private_redis.process.pid, signal.SIGSTOP)  # reads nothing: the socket's buffers fill
    try:
        with pytest.raises(redis.exceptions.TimeoutError):  # writing, or the reply's: the same deadline
            await pipelined.execute("SET", "big", "x" * 64_000_000)
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    assert await pipelined.execute("ECHO", "again") == "again"
    await pipelined.aclose()


def test_calls_under_uvloop_as_nodes_run_them() -> None:
    """Nodes run on uvloop, whose transports are not asyncio's."""
    checked_backend("redis")

    async def in_flight_together() -> list[Any]:
        pipelined = pipelined_for(f"{REDIS_URL}/{REDIS_TEST_DB}", f"brtest-pipe-{uuid.uuid4().hex[:8]}")
        try:
            return await asyncio.gather(*(pipelined.execute("ECHO", str(i)) for i in range(50)))
        finally:
            await pipelined.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(in_flight_together()) == [str(i) for i in range(50)]


@pytest.mark.parametrize("url", ["unix:///tmp/redis.sock", "rediss://127.0.0.1:6379/0"])
def test_connections_other_than_plain_tcp_keep_the_pool(url: str) -> None:
    pool = LeanPool.from_url(url)
    if pool.connection_class is redis.asyncio.Connection:
        pool.connection_class = LeanConnection  # as the backend does: only for plain TCP
    assert PipelinedRedis.for_pool(pool) is None


async def async_wait_until(condition: Callable[[], Coroutine[Any, Any, bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def wait_until_async_count(name: str, count: int) -> None:
    async def counted() -> bool:
        return len(await connections_named(name)) == count

    await async_wait_until(counted)
