"""Send limits: a token bucket per user and slow mode per (room, user).

The state lives in the store (rooms/stores/limits.py), so a user connected to two nodes gets
one allowance. TokenBucket is the arithmetic for stores that keep buckets in their own process
(chat/backend/local.py), which forget idle entries once PRUNE_AT of them are kept.
"""

from __future__ import annotations

import math
import time

from rooms.models import Room
from rooms.refusal import Refused
from rooms.stores import LimitStore, SendGate, SendWait

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

    def wait(self) -> float:
        """The seconds until a token is there (0.0: one is), spending nothing."""
        tokens = min(self.burst, self._tokens + (time.monotonic() - self._stamp) * self.rate)
        if tokens >= 1:
            return 0.0
        return (1 - tokens) / self.rate if self.rate > 0 else float("inf")

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
    """The send limits the rules apply, held in the store (LimitStore): one allowance per user
    cluster-wide, however many nodes the user is connected to."""

    def __init__(self, store: LimitStore, rate_per_second: float, burst: int) -> None:
        self._store = store
        self._rate = rate_per_second
        self._burst = burst

    async def take_token(self, user: str) -> None:
        """Spend one of the user's tokens, or raise Refused(rate_limited) saying how long to wait."""
        wait = await self._store.take_token(user, self._rate, self._burst)
        if wait:
            raise Refused("rate_limited", f"too many messages: wait {wait:.1f} s before sending again", math.ceil(wait))

    async def take_send(self, room: Room, user: str, *, slow_mode: bool) -> None:
        """Spend a token and, with `slow_mode`, the room's slow-mode slot, in one store call; or
        raise Refused(rate_limited) for the first limit that refuses (the token's first), spending
        nothing."""
        self.refuse(
            room,
            await self._store.take_send(user, self._rate, self._burst, room.id, room.slow_mode if slow_mode else 0),
        )

    def gate(self, room: Room, user: str, *, slow_mode: bool) -> SendGate:
        """What `take_send` would ask of the store, for a store that takes it with the message
        itself (rooms/stores/sends.py)."""
        return SendGate(user, self._rate, self._burst, room.slow_mode if slow_mode else 0)

    def refuse(self, room: Room, wait: SendWait) -> None:
        """Refused(rate_limited) for the first limit that refused (the token's first), else nothing."""
        if wait.token:
            raise Refused(
                "rate_limited",
                f"too many messages: wait {wait.token:.1f} s before sending again",
                math.ceil(wait.token),
            )
        if wait.slow:
            raise Refused(
                "rate_limited",
                f"slow mode: one message every {room.slow_mode} s in this room; wait {math.ceil(wait.slow)} s",
                math.ceil(wait.slow),
            )
