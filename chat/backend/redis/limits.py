"""Send limits in Redis (LimitStore): one token bucket per user and one slow-mode stamp per
(room, user), shared by every node, each updated by one atomic script on Redis' own clock."""
from __future__ import annotations

from chat.backend.redis.calls import RedisParts, write_call


class RedisLimits(RedisParts):
    @write_call
    async def take_token(self, user: str, rate: float, burst: int) -> float:
        wait = float(await self._scripts["take_token"](keys=[self._keys.limit_bucket(user)], args=[rate, burst]))
        return float("inf") if wait < 0 else wait

    @write_call
    async def slow_mode_wait(self, room: str, user: str, seconds: int) -> float:
        left = await self._scripts["slow_mode"](keys=[self._keys.limit_slow(room, user)],
                                                args=[int(seconds * 1000)])
        return int(left) / 1000
