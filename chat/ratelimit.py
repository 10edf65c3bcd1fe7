"""A token bucket: `rate` tokens per second, holding at most `burst`."""
from __future__ import annotations

import time


class TokenBucket:
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
