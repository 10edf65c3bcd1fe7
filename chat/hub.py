"""Fan-out on one node: which local sessions are in which room, and who gets which event.

Each event is encoded once (once per language for translations) and the same text is queued
for every reader it concerns. While a session is joining a room its live events are held
back, then released after the replay with the replayed messages dropped: no gap, no duplicate.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from chat.backend import Backend, Event
from chat.protocol import encode

log = logging.getLogger("babelroom.hub")


class Reader(Protocol):
    """What the hub needs of a session."""

    lang: str
    user_id: str

    def push(self, text: str) -> None: ...

    def removed(self, room: str, reason: str) -> None: ...


Pending = list[tuple[str | None, str]]  # (message id or None, encoded frame)


class Hub:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._rooms: dict[str, dict[Reader, Pending | None]] = {}
        self._readers: set[Reader] = set()
        self._room_locks: dict[str, asyncio.Lock] = {}

    # sessions ----------------------------------------------------------------
    def connect(self, reader: Reader) -> None:
        self._readers.add(reader)

    def disconnect(self, reader: Reader) -> None:
        self._readers.discard(reader)

    @property
    def connections(self) -> int:
        return len(self._readers)

    def local_rooms(self) -> list[str]:
        return list(self._rooms)

    async def attach(self, room: str, reader: Reader) -> None:
        """Add a reader to a room, holding its live events until `release`."""
        async with self._lock(room):
            members = self._rooms.get(room)
            if members is None:
                await self._backend.subscribe(room)
                members = self._rooms[room] = {}
            members[reader] = []

    def release(self, room: str, reader: Reader, replayed: set[str]) -> None:
        """Deliver what was held back during the join, minus the messages already replayed."""
        members = self._rooms.get(room)
        if members is None or members.get(reader) is None:
            return
        pending = members[reader] or []
        members[reader] = None
        for message_id, text in pending:
            if message_id is None or message_id not in replayed:
                reader.push(text)

    async def detach(self, room: str, reader: Reader) -> None:
        async with self._lock(room):
            members = self._rooms.get(room)
            if members is None or members.pop(reader, 0) == 0:
                return
            if not members:
                del self._rooms[room]
                await self._backend.unsubscribe(room)

    def local_members(self, room: str) -> list[Reader]:
        return list(self._rooms.get(room, ()))

    def _lock(self, room: str) -> asyncio.Lock:
        return self._room_locks.setdefault(room, asyncio.Lock())

    # events ------------------------------------------------------------------
    def on_event(self, room: str | None, event: Event) -> None:
        """Backend callback: route one event to the local readers it concerns."""
        try:
            if room is None:
                self._node_event(event)
            else:
                self._room_event(room, event)
        except Exception:  # one bad event must never stop delivery of the next
            log.exception("could not deliver a %s event", event.get("type"))

    def _room_event(self, room: str, event: Event) -> None:
        members = self._rooms.get(room)
        if not members:
            return
        kind = event.get("type")
        text = encode(event)
        message_id = event.get("id") if kind == "message" else None
        lang = event.get("lang") if kind == "translation" else None
        # A user's own presence is already in its `joined.members`.
        subject = event["user"]["id"] if kind == "presence" else None
        for reader, pending in list(members.items()):
            if (lang is not None and reader.lang != lang) or reader.user_id == subject:
                continue
            if pending is not None:
                pending.append((message_id, text))
            else:
                reader.push(text)
        if kind == "moderation" and event.get("action") in ("kick", "ban"):
            self._remove_user(room, event["user"], "kicked" if event["action"] == "kick" else "banned")

    def _node_event(self, event: Event) -> None:
        if event.get("type") != "room":
            return
        text = encode(event)
        for reader in list(self._readers):
            reader.push(text)
        if event.get("event") == "closed":
            room = event["room"]["id"]
            for reader in self.local_members(room):
                reader.removed(room, "closed")

    def _remove_user(self, room: str, user_id: Any, reason: str) -> None:
        for reader in self.local_members(room):
            if reader.user_id == user_id:
                reader.removed(room, reason)
