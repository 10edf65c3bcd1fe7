"""The broker (rooms/stores/broker.py) in one process: each room's kept messages in a deque, live
events handed to this node's hub by a function call (LocalBroker); all lost on exit."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from msgspec.structs import replace

from chat.backend.ids import make_id, new_epoch, parse_sequence_id
from chat.backend.local import LocalBroker
from rooms.stores import Appended, Reacted, Replay, now_ms
from rooms.stores.events import NewMessage, Translation
from rooms.stores.messages import Author, MeetingStep, Quote, StoredMessage


@dataclass
class _History:
    """One room's kept messages: positions first..first+len-1, contiguous."""

    epoch: str
    kept: deque[StoredMessage]  # frozen: a change replaces the message, so one handed out never changes
    next_position: int = 1
    # (user id, cid) -> (message id, expiry), oldest first: an entry lives while its TTL runs and
    # its message is kept, so there are never more than history_max of them per room.
    cids: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    # message id -> emoji -> who reacted; kept messages only (trimmed and deleted ones lose theirs)
    reactors: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def remember(self, key: tuple[str, str], message_id: str, ttl: float) -> None:
        now = time.monotonic()
        self.cids.pop(key, None)
        self.cids[key] = (message_id, now + ttl)
        while self.cids:
            oldest_key, (_, expires) = next(iter(self.cids.items()))
            if expires > now and len(self.cids) <= (self.kept.maxlen or len(self.cids)):
                break
            del self.cids[oldest_key]

    def remembered(self, key: tuple[str, str]) -> str | None:
        entry = self.cids.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    @property
    def first_position(self) -> int:
        return self.next_position - len(self.kept)

    def position_of(self, message_id: str) -> int | None:
        parts = parse_sequence_id(message_id)
        if parts is None or parts[0] != self.epoch:
            return None
        return parts[1]

    def index_of(self, message_id: str) -> int | None:
        """Where a kept message is in `kept`, or None."""
        position = self.position_of(message_id)
        if position is None or not self.first_position <= position < self.next_position:
            return None
        return position - self.first_position

    def find(self, message_id: str) -> StoredMessage | None:
        index = self.index_of(message_id)
        return None if index is None else self.kept[index]

    def live(self, message_id: str) -> tuple[int, StoredMessage] | None:
        """A kept, not deleted message and its index, or None."""
        index = self.index_of(message_id)
        if index is None or self.kept[index].deleted:
            return None
        return index, self.kept[index]


class MemoryBroker(LocalBroker):
    def __init__(self, *, history_max: int, idempotency_ttl: int) -> None:
        super().__init__()
        self._history_max = history_max
        self._idempotency_ttl = idempotency_ttl
        # per room; the backend's conversation store reads them too (its unread counts)
        self.histories: dict[str, _History] = {}

    def _history(self, room: str) -> _History:
        history = self.histories.get(room)
        if history is None:
            history = self.histories[room] = _History(new_epoch(), deque(maxlen=self._history_max))
        return history

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
        history = self._history(room)
        key = (user["id"], cid) if cid else None
        if key:
            known = history.remembered(key)
            if known and (stored := history.find(known)) is not None:
                return Appended(stored, created=False)
        message_id, ts = make_id(history.epoch, str(history.next_position)), now_ms()
        author = Author(user["id"], user["name"])
        message = StoredMessage(
            room=room,
            id=message_id,
            ts=ts,
            user=author,
            lang=lang,
            text=text,
            reply_to=reply_to,
            mentions=list(mentions or ()),
            meeting=meeting,
        )
        if len(history.kept) == history.kept.maxlen and history.kept:  # the oldest is trimmed: its reactions go
            history.reactors.pop(history.kept[0].id, None)
        history.kept.append(message)
        history.next_position += 1
        if key:
            history.remember(key, message_id, self._idempotency_ttl)
        self._deliver(
            room,
            NewMessage(
                room=room,
                id=message_id,
                ts=ts,
                user=author,
                lang=lang,
                text=text,
                translating=list(translating or ()),
                reply_to=reply_to,
                mentions=list(mentions or ()),
                meeting=meeting,
            ),
        )
        return Appended(message, created=True)

    async def history(self, room: str, *, before: str | None, limit: int) -> list[StoredMessage]:
        history = self._history(room)
        end = len(history.kept)
        if before is not None:
            position = history.position_of(before)
            if position is None:
                return []
            end = max(0, min(end, position - history.first_position))
        start = max(0, end - limit)
        return [history.kept[i] for i in range(start, end)]

    async def since(self, room: str, since: str, *, limit: int, most: int | None = None) -> Replay:
        history = self._history(room)
        position = history.position_of(since)
        if position is None or position >= history.next_position or position < history.first_position - 1:
            return Replay(await self.history(room, before=None, limit=limit), recovered=False)
        start = position + 1 - history.first_position
        end = len(history.kept) if most is None else min(len(history.kept), start + most)
        return Replay([history.kept[i] for i in range(start, end)], recovered=True)

    async def add_translation(
        self, room: str, message_id: str, lang: str, text: str, *, confidence: float | None = None
    ) -> None:
        history = self._history(room)
        found = history.live(message_id)
        if found is None:
            return
        index, message = found
        if lang in message.tr:  # stored once: a retry (or a race) publishes nothing
            return
        confidences = {k: v for k, v in message.confidence.items() if k != lang}
        if confidence is not None:
            confidences[lang] = confidence
        history.kept[index] = replace(message, tr={**message.tr, lang: text}, confidence=confidences)
        self._deliver(room, Translation(room=room, id=message_id, lang=lang, text=text, confidence=confidence))

    async def relabel_message(self, room: str, message_id: str, lang: str, *, author: str) -> StoredMessage | None:
        history = self._history(room)
        found = history.live(message_id)
        if found is None or found[1].user.id != author:
            return None
        index, message = found
        history.kept[index] = relabelled = replace(message, lang=lang, tr={}, confidence={})
        return relabelled

    async def edit_message(
        self, room: str, message_id: str, text: str, lang: str, *, author: str
    ) -> StoredMessage | None:
        history = self._history(room)
        found = history.live(message_id)
        if found is None or found[1].user.id != author:
            return None
        index, message = found
        history.kept[index] = edited = replace(message, text=text, lang=lang, tr={}, confidence={}, edited=True)
        return edited

    async def toggle_reaction(self, room: str, message_id: str, emoji: str, user: str) -> Reacted | None:
        history = self._history(room)
        found = history.live(message_id)
        if found is None:
            return None
        index, message = found
        who = history.reactors.setdefault(message_id, {}).setdefault(emoji, set())
        added = user not in who
        if added:
            who.add(user)
        else:
            who.discard(user)
        counts = {**message.reactions, emoji: len(who)}
        if not who:
            del counts[emoji]
        history.kept[index] = replace(message, reactions=counts)
        return Reacted(added=added, count=len(who))

    async def reactors(self, room: str, message_id: str) -> dict[str, list[str]] | None:
        history = self._history(room)
        if history.live(message_id) is None:
            return None
        return {emoji: sorted(who) for emoji, who in history.reactors.get(message_id, {}).items() if who}

    async def message(self, room: str, message_id: str) -> StoredMessage | None:
        found = self._history(room).live(message_id)
        return None if found is None else found[1]

    async def delete_message(self, room: str, message_id: str) -> bool:
        history = self._history(room)
        found = history.live(message_id)
        if found is None:
            return False
        index, message = found
        history.kept[index] = replace(
            message, text="", tr={}, confidence={}, deleted=True, reactions={}, reply_to=None, mentions=[], meeting=None
        )
        history.reactors.pop(message_id, None)
        return True
