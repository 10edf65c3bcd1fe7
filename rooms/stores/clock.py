"""The one clock of stored state: wall-clock milliseconds, the unit of every `ts` and `until`."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return int(time.time() * 1000)
