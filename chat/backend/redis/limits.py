"""Send limits in Redis (LimitStore): one token bucket per user and one slow-mode stamp per
(room, user), shared by every node, each updated by one atomic script on Redis' own clock."""

from __future__ import annotations

from chat.backend.redis.calls import RedisParts, write_call
from rooms.stores import LimitStore, SendWait


class RedisLimits(RedisParts, LimitStore):
    @write_call
    async def take_token(self, user: str, rate: float, burst: int) -> float:
        wait = float(await self._scripts["take_token"](keys=[self._keys.limit_bucket(user)], args=[rate, burst]))
        return float("inf") if wait < 0 else wait

    @write_call
    async def slow_mode_wait(self, room: str, user: str, seconds: int) -> float:
        left = await self._scripts["slow_mode"](keys=[self._keys.limit_slow(room, user)], args=[int(seconds * 1000)])
        return int(left) / 1000

    @write_call
    async def take_send(self, user: str, rate: float, burst: int, room: str, slow_seconds: int) -> SendWait:
        token, slow_ms = await self._scripts["take_send"](
            keys=[self._keys.limit_bucket(user), self._keys.limit_slow(room, user)],
            args=[rate, burst, int(slow_seconds * 1000)],
        )
        wait = float(token)
        return SendWait(float("inf") if wait < 0 else wait, int(slow_ms) / 1000)
