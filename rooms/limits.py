"""Per-node send limits: a token bucket per user and slow mode per (room, user), in memory.

Both are kept on the node a user writes through (a reconnect to another node starts afresh);
idle entries are forgotten once PRUNE_AT of them are kept.
"""
from __future__ import annotations

import math
import time

from rooms.models import SLOW_MODE_MAX, Room
from rooms.refusal import Refused

PRUNE_AT = 10000  # remembered users / (room, user) pairs before idle ones are forgotten


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def full(self) -> bool:
        """True when the bucket has refilled: forgetting it changes nothing."""
        return self._tokens + (time.monotonic() - self._stamp) * self.rate >= self.burst

    def take(self) -> float:
        """Spend one token: 0.0 when allowed, else the seconds to wait for the next one."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate if self.rate > 0 else float("inf")


class SendLimits:
    def __init__(self, rate_per_second: float, burst: int) -> None:
        self._rate = rate_per_second
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._last_sent: dict[tuple[str, str], float] = {}

    def take_token(self, user: str) -> None:
        """Spend one of the user's tokens, or raise Refused(rate_limited) saying how long to wait."""
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= PRUNE_AT:
                self._buckets = {key: kept for key, kept in self._buckets.items() if not kept.full()}
            bucket = self._buckets[user] = TokenBucket(self._rate, self._burst)
        wait = bucket.take()
        if wait:
            raise Refused("rate_limited", f"too many messages: wait {wait:.1f} s before sending again")

    def slow_mode(self, room: Room, user: str) -> None:
        """Record a message under the room's slow mode, or raise Refused(rate_limited)."""
        now = time.monotonic()
        key = (room.id, user)
        last = self._last_sent.get(key)
        if last is not None and now - last < room.slow_mode:
            wait = math.ceil(room.slow_mode - (now - last))
            raise Refused("rate_limited", f"slow mode: one message every {room.slow_mode} s in this room; "
                          f"wait {wait} s")
        if len(self._last_sent) >= PRUNE_AT:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < SLOW_MODE_MAX}
        self._last_sent[key] = now
