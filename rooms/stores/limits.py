"""The limit store: send limits held with the shared state, so they bind a user on every node.

Guarantees (tests/backend/test_limits.py):
- One token bucket per user (a sustained `rate` per second with a `burst`), wherever the user is
  connected: a user with tabs on two nodes of a cluster gets one allowance, not one per node.
- Slow mode is one message per `seconds` per (room, user), likewise shared.
- A refused call answers how long to wait and spends nothing.
"""
from __future__ import annotations

import abc


class LimitStore(abc.ABC):
    @abc.abstractmethod
    async def take_token(self, user: str, rate: float, burst: int) -> float:
        """Spend one of the user's tokens: 0.0 when allowed, else the seconds until one is back."""

    @abc.abstractmethod
    async def slow_mode_wait(self, room: str, user: str, seconds: int) -> float:
        """0.0 when the user may send in the room under slow mode (the send is then recorded),
        else the seconds left to wait."""
