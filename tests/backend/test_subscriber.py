"""The pub/sub connection itself (chat/backend/redis/subscriber.py), on a redis-server of each test's own:
frames read in batches keep their order, and a Redis that falls silent is given up and come back from."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from chat.backend.redis.subscriber import Subscriber
from tests.backend.support import wait_until
from tests.nodes import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", persistent=False)
    server.start()
    yield server
    if server.process is not None:  # a test that stopped it lets it go on, so it can end
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


class Listener:
    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.connected = 0

    def on_message(self, channel: str, payload: str) -> None:
        self.received.append((channel, payload))

    async def on_connected(self) -> None:
        self.connected += 1


async def start(server: RedisServer, listener: Listener, channels: set[str], ping_interval: float = 5.0) -> Subscriber:
    pool = redis.asyncio.ConnectionPool.from_url(
        server.url, decode_responses=True, socket_connect_timeout=1, socket_timeout=1
    )
    subscriber = Subscriber(
        pool.make_connection(),
        where="test",
        on_message=listener.on_message,
        on_connected=listener.on_connected,
        ping_interval=ping_interval,
    )
    await subscriber.start(channels, timeout=5)
    return subscriber


async def test_a_burst_larger_than_one_read_arrives_whole_and_in_order(private_redis: RedisServer) -> None:
    """Thousands of messages in one write of Redis': frames cut across socket reads are put together."""
    listener = Listener()
    subscriber = await start(private_redis, listener, {"one", "two"})
    publisher = redis.asyncio.Redis.from_url(private_redis.url)
    try:
        sent = [("one" if seq % 3 else "two", f"message {seq} " + "é" * (seq % 200)) for seq in range(3000)]
        async with publisher.pipeline(transaction=False) as pipe:
            for channel, payload in sent:
                pipe.publish(channel, payload)
            await pipe.execute()
        await wait_until(lambda: len(listener.received) >= len(sent))
        assert listener.received == sent
    finally:
        await publisher.aclose()
        await subscriber.close()


async def test_a_silent_redis_is_pinged_given_up_and_come_back_from(private_redis: RedisServer) -> None:
    """Redis stops answering without closing the connection (SIGSTOP: a hung server, a dead peer
    behind a NAT): the subscriber PINGs, gives the connection up, and once Redis answers again it
    is subscribed again and delivers what is published then."""
    assert private_redis.process is not None
    listener = Listener()
    subscriber = await start(private_redis, listener, {"room"}, ping_interval=0.2)
    publisher = redis.asyncio.Redis.from_url(private_redis.url)
    try:
        assert subscriber.up and listener.connected == 1
        os.kill(private_redis.process.pid, signal.SIGSTOP)
        await wait_until(lambda: not subscriber.up)  # nothing else tells it: the socket stays open
        os.kill(private_redis.process.pid, signal.SIGCONT)
        await wait_until(lambda: subscriber.up, timeout=15)
        assert listener.connected == 2
        await publisher.publish("room", "after")
        await wait_until(lambda: listener.received == [("room", "after")])
    finally:
        await publisher.aclose()
        await subscriber.close()
