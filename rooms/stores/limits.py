"""The limit store: send limits held with the shared state, so they bind a user on every node.

Guarantees (tests/backend/test_limits.py):
- One token bucket per user (a sustained `rate` per second with a `burst`), wherever the user is
  connected: a user with tabs on two nodes of a cluster gets one allowance, not one per node.
- Slow mode is one message per `seconds` per (room, user), likewise shared.
- A refused call answers how long to wait and spends nothing.
- `take_send` takes a token and the slow-mode slot together: both or neither.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendWait:
    """What `take_send` found: seconds to wait for each limit, 0.0 where it allowed the send."""

    token: float  # until the user's next token (inf: never, a zero rate)
    slow: float  # left under the room's slow mode

    @property
    def allowed(self) -> bool:
        return not self.token and not self.slow


class LimitStore(abc.ABC):
    @abc.abstractmethod
    async def take_token(self, user: str, rate: float, burst: int) -> float:
        """Spend one of the user's tokens: 0.0 when allowed, else the seconds until one is back."""

    @abc.abstractmethod
    async def slow_mode_wait(self, room: str, user: str, seconds: int) -> float:
        """0.0 when the user may send in the room under slow mode (the send is then recorded),
        else the seconds left to wait."""

    @abc.abstractmethod
    async def take_send(self, user: str, rate: float, burst: int, room: str, slow_seconds: int) -> SendWait:
        """One send's limits in one step: a token of the user's bucket and, when `slow_seconds` > 0,
        the (room, user) slow-mode slot. When both allow, both are spent and recorded; when either
        refuses, nothing is spent and the answer says how long to wait (0.0 for a limit that
        would have allowed; the slot is not looked at when `slow_seconds` is 0)."""
