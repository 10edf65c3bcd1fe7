"""chat/backend/redis/connection.py LeanPool and LeanRedis (issue 27): commands without redis-py's
per-call wrappers still reuse one connection, and one the server closed is never used again.
Needs the test Redis (database 15)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat.backend.redis.connection import LeanConnection, LeanPool, LeanRedis
from tests.conftest import REDIS_TEST_DB, REDIS_URL, checked_backend


@pytest.fixture
async def lean() -> AsyncIterator[tuple[LeanRedis, str]]:
    """A client built as the backend builds its own, with a name of its own, and a key to use."""
    checked_backend("redis")
    name = f"brtest-lean-{uuid.uuid4().hex[:8]}"
    pool = LeanPool.from_url(
        f"{REDIS_URL}/{REDIS_TEST_DB}", decode_responses=True, client_name=name, retry=Retry(NoBackoff(), 0)
    )
    pool.connection_class = LeanConnection
    client = LeanRedis(connection_pool=pool)
    yield client, name
    await client.delete(f"{name}:key")
    await client.aclose()


async def connections_named(name: str) -> int:
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}") as admin:
        return len([client for client in await admin.client_list() if client["name"] == name])


async def test_commands_one_after_another_share_one_connection(lean: tuple[LeanRedis, str]) -> None:
    client, name = lean
    for value in range(50):
        await client.set(f"{name}:key", value)
        assert await client.get(f"{name}:key") == str(value)
    assert await connections_named(name) == 1


async def test_a_connection_the_server_closed_is_not_used_again(lean: tuple[LeanRedis, str]) -> None:
    client, name = lean
    await client.set(f"{name}:key", "before")
    first = await client.client_id()
    async with redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}") as admin:
        assert await admin.client_kill_filter(_id=str(first)) == 1
    # This write fails when the kill has not reached the client yet (the reply is the closed
    # socket's end); either way the next one goes out on a new connection and is stored.
    with contextlib.suppress(redis.exceptions.ConnectionError):
        await client.set(f"{name}:key", "maybe")
    await client.set(f"{name}:key", "after")
    assert await client.get(f"{name}:key") == "after"
    assert await client.client_id() != first
    assert await connections_named(name) == 1
