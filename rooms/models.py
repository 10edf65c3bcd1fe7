"""Rooms, their states and the roles users hold in them."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

ROOM_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SLOW_MODE_MAX = 3600  # seconds: the longest slow mode a room may have
TITLE_MAX = 80  # characters of a room's title or forum


class RoomState(str, enum.Enum):
    OPEN = "open"
    READ_ONLY = "read_only"
    CLOSED = "closed"


class RoomKind(str, enum.Enum):
    FORUM = "forum"  # listed in lobbies, open to every delegate
    PRIVATE = "private"  # a conversation: only its members may see, join or read it


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


class InvalidRoom(ValueError):
    """A room field that breaks the rules below; `field` names it, the message says what fits."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def room_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The valid room fields among title, forum, state and slow_mode in `data` (the config's
    [[rooms]] and the host API both use this), or InvalidRoom for the first bad one."""
    fields: dict[str, Any] = {}
    for name in ("title", "forum"):
        if name in data:
            value = data[name]
            if not isinstance(value, str) or not value.strip():
                raise InvalidRoom(name, f'"{name}" must be a non-empty string')
            if len(value.strip()) > TITLE_MAX:
                raise InvalidRoom(name, f'"{name}" holds at most {TITLE_MAX} characters')
            fields[name] = value.strip()
    if "state" in data:
        try:
            fields["state"] = RoomState(data["state"])
        except (ValueError, TypeError):
            raise InvalidRoom("state", '"state" must be open, read_only or closed') from None
    if "slow_mode" in data:
        value = data["slow_mode"]
        if isinstance(value, float) and value.is_integer():  # JSON's 240.0 is 240
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SLOW_MODE_MAX:
            raise InvalidRoom("slow_mode", f'"slow_mode" must be 0..{SLOW_MODE_MAX} seconds (0 = off)')
        fields["slow_mode"] = value
    return fields


def new_room(data: Mapping[str, Any]) -> Room:
    """A room from its id, title and other fields, or InvalidRoom."""
    room_id = data.get("id")
    if not isinstance(room_id, str) or not is_room_id(room_id):
        raise InvalidRoom("id", '"id" must be a lowercase slug: a-z, 0-9 and inner hyphens, 1-40 chars')
    fields = room_fields(data)
    if "title" not in fields:
        raise InvalidRoom("title", '"title" must be a non-empty string')
    return Room(id=room_id, **fields)


@dataclass(frozen=True)
class Room:
    id: str
    title: str
    forum: str = ""
    state: RoomState = RoomState.OPEN
    slow_mode: int = 0  # seconds between two messages of one delegate; 0 = off
    kind: RoomKind = RoomKind.FORUM

    @property
    def private(self) -> bool:
        return self.kind is RoomKind.PRIVATE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Room:
        return cls(
            id=data["id"],
            title=data["title"],
            forum=data.get("forum", ""),
            state=RoomState(data.get("state", "open")),
            slow_mode=int(data.get("slow_mode", 0)),
            kind=RoomKind(data.get("kind", "forum")),
        )

    def updated(self, **changes: Any) -> Room:
        return replace(self, **changes)
