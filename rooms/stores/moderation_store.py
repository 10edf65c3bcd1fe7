"""The moderation store: mutes, bans, appointed moderators, known roles and the moderation log.

Guarantees (tests/backend/test_moderation_store.py):
- State is per room and shared by every node at once: a ban written on one node refuses a join
  on any other.
- A mute with an end (`until`, ms since the epoch) is gone once that time passed; one without
  holds until cleared.
- The setters answer whether they changed anything, so a repeated action can be refused.
- `remember_role` keeps the highest role a user was ever seen with in a room (host > moderator >
  delegate), so a rule can protect a host who is not in the room right now.
- The log keeps entries in the order they were recorded (the newest `limit`).
- `standing` answers what `moderators`, `is_banned` and `get_mute` would answer for one user in
  one room and event-wide, read together (one round trip where the store is remote): the rules
  on the send path ask it once instead of five questions.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from rooms.models import Role

ModerationEntry = dict[str, Any]  # {ts, action, by: {id, name}, user? | id?, until?, reason?}


@dataclass(frozen=True)
class Mute:
    until: int | None  # ms since epoch; None = until unmuted


@dataclass(frozen=True, slots=True)
class Standing:
    """What moderation says about one user in one room, and event-wide (EVENT_WIDE, "*"), as
    stored: whether a rule binds them (a host is above every ban and mute) is the core's call."""

    appointed: bool  # a host appointed them moderator of this room
    banned: bool  # banned from this room
    banned_event: bool  # banned from every room of the event
    mute: Mute | None  # their current mute in this room
    mute_event: Mute | None  # their current event-wide mute


class ModerationStore(abc.ABC):
    @abc.abstractmethod
    async def standing(self, room: str, user: str) -> Standing:
        """The user's appointment, bans and current mutes in the room and event-wide, read at
        once: the same answers as `moderators`, `is_banned` and `get_mute` for (room, user) and
        (EVENT_WIDE, user), an expired mute forgotten as `get_mute` forgets it."""

    @abc.abstractmethod
    async def get_mute(self, room: str, user: str) -> Mute | None:
        """The user's current mute in the room, or None (an expired mute is forgotten)."""

    @abc.abstractmethod
    async def set_mute(self, room: str, user: str, until: int | None) -> None:
        """Mute until `until` (ms since the epoch), or until cleared when None."""

    @abc.abstractmethod
    async def clear_mute(self, room: str, user: str) -> bool:
        """Unmute; True when the user was muted."""

    @abc.abstractmethod
    async def is_banned(self, room: str, user: str) -> bool: ...

    @abc.abstractmethod
    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        """Ban or unban; True when that changed anything."""

    @abc.abstractmethod
    async def moderators(self, room: str) -> set[str]:
        """The users a host appointed moderators of this room."""

    @abc.abstractmethod
    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        """Appoint or remove a room moderator; True when that changed anything."""

    @abc.abstractmethod
    async def remember_role(self, room: str, user: str, role: Role) -> None:
        """Note a role the user holds in the room; the highest one seen is kept."""

    @abc.abstractmethod
    async def known_role(self, room: str, user: str) -> Role | None:
        """The highest role the user was seen with in the room, or None when never seen."""

    @abc.abstractmethod
    async def record_moderation(self, room: str, entry: ModerationEntry) -> None:
        """Append an action to the room's moderation log."""

    @abc.abstractmethod
    async def moderation_log(self, room: str, limit: int = 200) -> list[ModerationEntry]:
        """The newest `limit` entries, oldest first."""
