"""The translation cache every node shares: plain strings with a TTL (translation.SharedCache)."""

from __future__ import annotations

import asyncio

import redis.asyncio

from chat.backend.redis.calls import read_call, write_call
from chat.backend.redis.keys import Keys

CACHE_TTL = 7 * 86400  # seconds a shared translation stays cached


class RedisSharedCache:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys, slots: asyncio.Semaphore) -> None:
        self._client = client
        self._keys = keys
        self._slots = slots

    @read_call
    async def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        # (decode_responses: str, not bytes)
        values: list[str | None] = await self._client.mget(  # type: ignore[assignment]
            [self._keys.cache(key) for key in keys]
        )
        return values

    @write_call
    async def set_many(self, items: dict[str, str]) -> None:
        if not items:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._keys.cache(key), value, ex=CACHE_TTL)
            await pipe.execute()
