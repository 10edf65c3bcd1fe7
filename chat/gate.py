"""May this user send in this room now? Room state, bans, mutes, the per-user token bucket, slow mode."""
from __future__ import annotations

import math
import time

from chat.backend import Backend
from chat.config import LimitSettings
from chat.protocol import FrameError
from chat.ratelimit import TokenBucket
from rooms import Role, Room
from rooms.policy import can_moderate, send_refusal


SLOW_MODE_MAX = 3600  # seconds; the host API refuses longer slow modes
PRUNE_AT = 10000  # remembered users / (room, user) pairs before idle ones are forgotten


class SendGate:
    def __init__(self, backend: Backend, limits: LimitSettings) -> None:
        self._backend = backend
        self._limits = limits
        self._buckets: dict[str, TokenBucket] = {}
        self._last_sent: dict[tuple[str, str], float] = {}

    async def check_send(self, room: Room, role: Role, user: str) -> None:
        """Raise the FrameError that refuses this send, or return when it may go."""
        refusal = send_refusal(room, role)
        if refusal:
            raise FrameError(*refusal)
        if await self._backend.is_banned(room.id, user):
            raise FrameError("banned", f"you are banned from room {room.id!r}")
        mute = await self._backend.get_mute(room.id, user)
        if mute is not None:
            until = "until a moderator unmutes you" if mute.until is None else \
                f"for {math.ceil((mute.until / 1000) - time.time())} more seconds"
            raise FrameError("muted", f"you are muted in room {room.id!r} {until}")
        self._take_token(user)
        if room.slow_mode and not can_moderate(role):
            self._slow_mode(room, user)

    def _take_token(self, user: str) -> None:
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= PRUNE_AT:
                self._buckets = {key: kept for key, kept in self._buckets.items() if not kept.full()}
            bucket = self._buckets[user] = TokenBucket(self._limits.rate_per_second, self._limits.rate_burst)
        wait = bucket.take()
        if wait:
            raise FrameError("rate_limited", f"too many messages: wait {wait:.1f} s before sending again")

    def _slow_mode(self, room: Room, user: str) -> None:
        now = time.monotonic()
        key = (room.id, user)
        last = self._last_sent.get(key)
        if last is not None and now - last < room.slow_mode:
            wait = math.ceil(room.slow_mode - (now - last))
            raise FrameError("rate_limited", f"slow mode: one message every {room.slow_mode} s in this room; "
                             f"wait {wait} s")
        if len(self._last_sent) >= PRUNE_AT:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < SLOW_MODE_MAX}
        self._last_sent[key] = now
