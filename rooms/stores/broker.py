"""The broker: live fan-out of a room's events to every node, and the room's ordered history.

Guarantees every implementation gives (tests/backend/test_broker.py checks them on each one):
- Order: `append_message` stores, then publishes, as one atomic step, so every subscriber sees a
  room's messages in history order, and history never reorders.
- Positions and epochs: a message id is "<epoch>.<position>" (chat/backend/ids.py). Positions
  grow within one life (epoch) of a room's history; when history is lost the epoch changes.
- Delivery: pub/sub is at most once; the stored message is the record. `since` replays exactly
  the stored messages after an id, or says it cannot (`recovered=False`) when history was trimmed
  past it or lost, and then gives the latest `limit` instead: a client never silently misses one.
- Idempotent append: one (user id, cid) is stored once per `idempotency_ttl`; a retry answers the
  stored original (`created=False`) and publishes nothing.
- Failure: every call may raise BackendUnavailable; nothing is half-done from the reader's view.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

from rooms.stores.events import Event
from rooms.stores.messages import MeetingStep, Quote, StoredMessage

# A stored message (history/since/append) is a Struct: rooms/stores/messages.py; so are events (what
# publish/broadcast carry): rooms/stores/events.py.


@dataclass(frozen=True, slots=True)
class Encoded:
    """A `message` or `translation` event as a store published it, already encoded: nodes route it
    by these fields and hand `payload` (the frame's JSON) to readers without decoding it."""

    type: str  # "message" | "translation" | "translation_failed"
    id: str  # the message id
    lang: str | None  # a translation's language (its only readers)
    payload: bytes
    author: str | None = None  # a message's sender (who never gets its translations back)


# (room id or None for node-wide events, event). Called on the event loop, in publish order.
EventHandler = Callable[[str | None, Event | Encoded], None]


@dataclass(frozen=True)
class Appended:
    """What `append_message` stored."""

    message: StoredMessage
    created: bool  # False when (user, cid) was seen before: the stored original is returned


@dataclass(frozen=True)
class Reacted:
    """What `toggle_reaction` did: whether the user now reacts with the emoji, and how many do."""

    added: bool
    count: int


@dataclass(frozen=True)
class Replay:
    """What `since` found: the messages after the id, and whether that is all of them."""

    messages: list[StoredMessage]
    recovered: bool


class Broker(abc.ABC):
    """Per-room pub/sub plus history with positions and epochs."""

    @abc.abstractmethod
    async def subscribe(self, room: str) -> None:
        """Start receiving the room's events on this node (called for its first local member).

        Returns once subscribed: every event published after that reaches `on_event`."""

    @abc.abstractmethod
    async def unsubscribe(self, room: str) -> None:
        """Stop receiving the room's events (called after its last local member left)."""

    @abc.abstractmethod
    async def publish(self, room: str, event: Event) -> None:
        """Send an event to every node subscribed to the room, at most once, in publish order."""

    @abc.abstractmethod
    async def broadcast(self, event: Event) -> None:
        """Send an event to every node (room opened/closed, user-targeted actions)."""

    @abc.abstractmethod
    async def append_message(
        self,
        room: str,
        *,
        user: dict[str, str],
        text: str,
        lang: str,
        cid: str | None,
        translating: list[str] | None = None,
        reply_to: Quote | None = None,
        mentions: list[str] | None = None,
        meeting: MeetingStep | None = None,
    ) -> Appended:
        """Store a message (idempotent on user id + cid), assign its id and ts, publish it: one step.

        `translating` (the reading languages a `translation` will follow for) goes into the
        published `message` frame only; it is not stored. `reply_to` (the quote of the message this
        one answers) is stored with it and published with it, translations included (each node
        gives each reader the quote in their language).
        `mentions` (user ids) and `meeting` (the meeting step the message records) are stored and
        published as given."""

    @abc.abstractmethod
    async def history(self, room: str, *, before: str | None, limit: int) -> list[StoredMessage]:
        """Up to `limit` stored messages before an id (or the latest), oldest first; an id of
        another epoch gets nothing."""

    @abc.abstractmethod
    async def since(self, room: str, since: str, *, limit: int, most: int | None = None) -> Replay:
        """Every stored message after `since`, oldest first (with `most`: the oldest `most` of them,
        deleted placeholders included, read without the rest), or recovered=False with the latest
        `limit`."""

    @abc.abstractmethod
    async def add_translation(
        self, room: str, message_id: str, lang: str, text: str, *, confidence: float | None = None
    ) -> None:
        """Store a message's translation (and the engine's confidence in it, 0-1, when known:
        history gives it back in `StoredMessage.confidence`) and publish a `translation` event carrying
        both; nothing when the message is gone (trimmed, deleted, or its history lost), and
        nothing when it already has a translation into `lang`: each (message, language) is
        stored and published at most once, however often it is asked (a retried translation
        job, two nodes racing)."""

    @abc.abstractmethod
    async def relabel_message(self, room: str, message_id: str, lang: str, *, author: str) -> StoredMessage | None:
        """Correct a live message's source language and drop its translations (history keeps
        the correction); the message as stored now, or None when there is no live message
        of that id by `author`. Publishes nothing: the caller announces it."""

    @abc.abstractmethod
    async def edit_message(
        self, room: str, message_id: str, text: str, lang: str, *, author: str
    ) -> StoredMessage | None:
        """Replace a live message's text and source language, drop its translations and mark it
        `edited` (reactions and its reply quote stay); the message as stored now, or None when there
        is no live message of that id by `author`. Publishes nothing: the caller announces it."""

    @abc.abstractmethod
    async def toggle_reaction(self, room: str, message_id: str, emoji: str, user: str) -> Reacted | None:
        """Add the user's `emoji` reaction to a live message, or take it back when they had it: one
        atomic step, so concurrent toggles on any node never lose or double one (one reaction per
        person, message and emoji). The new state, or None when there is no live message of that id.
        History shows the counts (`StoredMessage.reactions`, emoji without reactions absent); a deleted
        or trimmed message's reactions go with it. Publishes nothing: the caller announces it."""

    @abc.abstractmethod
    async def reactors(self, room: str, message_id: str) -> dict[str, list[str]] | None:
        """Who reacts to a live message now: emoji -> user ids, sorted (emoji without reactions
        absent), or None when there is no live message of that id."""

    @abc.abstractmethod
    async def message(self, room: str, message_id: str) -> StoredMessage | None:
        """The live message of that id (not deleted, still in history, of the room's current
        epoch), or None: what a rule reads before acting on one message (who wrote it)."""

    @abc.abstractmethod
    async def delete_message(self, room: str, message_id: str) -> bool:
        """Remove a message's text and translations from history, keeping its place as a
        `deleted` placeholder; True when it existed and was not deleted already."""
