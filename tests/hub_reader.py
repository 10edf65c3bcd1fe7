"""A stand-in for a connected session that records the frames the hub pushes to it (the hub tests)."""

from __future__ import annotations

import json
from typing import Any

from chat.wire import payload_of


class RecordingReader:
    lang = "en"
    moderates_event = False

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.user_id = "u_reader"

    def push(self, frame: bytes) -> None:
        self.frames.append(json.loads(payload_of(frame)))

    def push_all(self, frames: list[bytes], size: int) -> None:
        for frame in frames:
            self.push(frame)

    def removed_from(self, room: str, reason: str) -> None:
        pass

    def role_changed(self, room: str) -> None:
        pass

    @property
    def session_id(self) -> str:
        return ""

    def signed_out(self) -> None:
        pass

    def reactions(self, emoji: str) -> list[int]:
        return [int(f["count"]) for f in self.frames if f["type"] == "reaction" and f["emoji"] == emoji]

    def summaries(self) -> list[tuple[str, str, int]]:
        return [(f["event"], f["room"]["id"], f["room"]["members"]) for f in self.frames if f["type"] == "room"]
