"""The backend interface: per-room pub/sub, history with ordered ids, presence, shared room state.

Two implementations pass the same contract tests (tests/contract): `memory` (one process) and
`redis` (many nodes). Sessions and the hub speak only to this interface.

Delivery guarantees:
- `append_message` stores, then publishes, as one atomic step: every subscriber of a room sees
  messages in history order. The stored message is the record; pub/sub is at-most-once.
- `since` replays exactly the stored messages after an id, or says it cannot (`recovered=False`)
  when history was trimmed past it or lost (each room's history has an epoch; ids carry it).
"""
from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from typing import Any, Callable

from rooms import Room
from translation import SharedCache

def now_ms() -> int:
    """Wall-clock milliseconds since the epoch: the unit of every `ts` and `until`."""
    return int(time.time() * 1000)


# Events are server frames (message, translation, presence, moderation, deleted, room):
# the hub encodes each one once and hands the text to the readers it concerns.
Event = dict[str, Any]
# (room id or None for node-wide events, event). Called on the event loop, in publish order.
EventHandler = Callable[[str | None, Event], None]


class BackendUnavailable(Exception):
    """The backend cannot be reached right now; the client should retry (`unavailable`)."""


@dataclass(frozen=True)
class Member:
    """One connection's presence in a room."""

    conn: str  # connection id, unique cluster-wide
    id: str
    name: str
    lang: str
    role: str

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "lang": self.lang, "role": self.role}


@dataclass(frozen=True)
class Appended:
    message: dict[str, Any]
    created: bool  # False when (user, cid) was seen before: the stored original is returned


@dataclass(frozen=True)
class Replay:
    messages: list[dict[str, Any]]
    recovered: bool


@dataclass(frozen=True)
class Mute:
    until: int | None  # ms since epoch; None = until unmuted


class Backend(abc.ABC):
    """Shared state and live fan-out for one node."""

    node_id: str

    # lifecycle ---------------------------------------------------------------
    @abc.abstractmethod
    async def start(self, on_event: EventHandler) -> None:
        """Connect, and deliver every event of subscribed rooms and node-wide events to on_event."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # pub/sub -----------------------------------------------------------------
    @abc.abstractmethod
    async def subscribe(self, room: str) -> None:
        """Start receiving the room's events on this node (called for its first local member)."""

    @abc.abstractmethod
    async def unsubscribe(self, room: str) -> None:
        """Stop receiving the room's events (called after its last local member left)."""

    @abc.abstractmethod
    async def publish(self, room: str, event: Event) -> None:
        """Send an event to every node subscribed to the room."""

    @abc.abstractmethod
    async def broadcast(self, event: Event) -> None:
        """Send an event to every node (room opened/closed, user-targeted actions)."""

    # messages ----------------------------------------------------------------
    @abc.abstractmethod
    async def append_message(self, room: str, *, user: dict[str, str], text: str, lang: str,
                             cid: str | None) -> Appended:
        """Store a message (idempotent on user id + cid), assign its id and ts, publish it."""

    @abc.abstractmethod
    async def history(self, room: str, *, before: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` stored messages before an id (or the latest), oldest first."""

    @abc.abstractmethod
    async def since(self, room: str, since: str, *, limit: int) -> Replay:
        """Every stored message after `since`, oldest first, or recovered=False with the latest `limit`."""

    @abc.abstractmethod
    async def add_translation(self, room: str, message_id: str, lang: str, text: str) -> None:
        """Store a message's translation and publish a `translation` event."""

    @abc.abstractmethod
    async def delete_message(self, room: str, message_id: str) -> bool:
        """Remove a message's text from history (True when it existed)."""

    # presence ----------------------------------------------------------------
    @abc.abstractmethod
    async def add_member(self, room: str, member: Member) -> bool:
        """Record a connection in a room; True when its user was not present before."""

    @abc.abstractmethod
    async def remove_member(self, room: str, member: Member) -> bool:
        """Forget a connection; True when its user has no connection left in the room."""

    @abc.abstractmethod
    async def members(self, room: str) -> list[Member]:
        """Connections present in the room on every live node."""

    # rooms -------------------------------------------------------------------
    @abc.abstractmethod
    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        """Create the configured rooms that do not exist yet."""

    @abc.abstractmethod
    async def list_rooms(self) -> list[Room]: ...

    @abc.abstractmethod
    async def get_room(self, room: str) -> Room | None: ...

    @abc.abstractmethod
    async def save_room(self, room: Room) -> None: ...

    # moderation state ----------------------------------------------------------
    @abc.abstractmethod
    async def get_mute(self, room: str, user: str) -> Mute | None: ...

    @abc.abstractmethod
    async def set_mute(self, room: str, user: str, until: int | None) -> None: ...

    @abc.abstractmethod
    async def clear_mute(self, room: str, user: str) -> bool: ...

    @abc.abstractmethod
    async def is_banned(self, room: str, user: str) -> bool: ...

    @abc.abstractmethod
    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        """Ban or unban; True when that changed anything."""

    @abc.abstractmethod
    async def moderators(self, room: str) -> set[str]: ...

    @abc.abstractmethod
    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        """Appoint or remove a room moderator; True when that changed anything."""

    @abc.abstractmethod
    async def record_moderation(self, room: str, entry: dict[str, Any]) -> None:
        """Append an action to the room's moderation log."""

    @abc.abstractmethod
    async def moderation_log(self, room: str, limit: int = 200) -> list[dict[str, Any]]: ...

    # translation ---------------------------------------------------------------
    def shared_cache(self) -> SharedCache | None:
        """A cache shared by every node, when the backend has one."""
        return None

    # health -------------------------------------------------------------------
    def healthy(self) -> bool:
        return True

