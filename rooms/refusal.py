"""A rule's "no": the one exception the domain core raises, which each edge maps to its answer
(an `error` frame with the same code over WebSocket, an HTTP status in web/errors.py)."""

from __future__ import annotations


class Refused(Exception):
    """`code` is a protocol error code (not_found, room_closed, banned, forbidden, muted,
    rate_limited); `message` tells the user what to do; `retry_after`, when the refusal ends by
    itself, in how many seconds (a wait, a cooldown, a timed mute) — clients word it for people."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
