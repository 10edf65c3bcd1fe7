"""Moderation frames: mute, unmute, kick, ban, unban, delete."""
from __future__ import annotations

from typing import Any

from chat.protocol import ClientFrame, FrameError


class Moderation:
    def __init__(self, node: Any) -> None:
        self._node = node

    async def apply(self, session: Any, frame: ClientFrame) -> None:
        raise FrameError("forbidden", "moderation is not available on this server yet")
