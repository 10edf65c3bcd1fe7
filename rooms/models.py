"""Rooms, their states and the roles users hold in them."""
from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

ROOM_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class RoomState(str, enum.Enum):
    OPEN = "open"
    READ_ONLY = "read_only"
    CLOSED = "closed"


class Role(str, enum.Enum):
    HOST = "host"
    MODERATOR = "moderator"
    DELEGATE = "delegate"

    @property
    def rank(self) -> int:
        """Delegates 0, moderators 1, hosts 2: who outranks whom."""
        return _RANK[self]


_RANK = {Role.DELEGATE: 0, Role.MODERATOR: 1, Role.HOST: 2}


def is_room_id(value: object) -> bool:
    """Room ids are lowercase slugs: letters, digits and inner hyphens, 1-40 chars."""
    return isinstance(value, str) and bool(ROOM_ID.match(value))


@dataclass(frozen=True)
class Room:
    id: str
    title: str
    forum: str = ""
    state: RoomState = RoomState.OPEN
    slow_mode: int = 0  # seconds between two messages of one delegate; 0 = off

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Room:
        return cls(
            id=data["id"],
            title=data["title"],
            forum=data.get("forum", ""),
            state=RoomState(data.get("state", "open")),
            slow_mode=int(data.get("slow_mode", 0)),
        )

    def updated(self, **changes: Any) -> Room:
        return replace(self, **changes)
