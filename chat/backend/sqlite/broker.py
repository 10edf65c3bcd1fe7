"""The broker (rooms/stores/broker.py) in the sqlite file: each room's history (table `messages`,
its head in `histories`, reactions in `reactions`, idempotency keys in `sent`: schema.py), with
the same ids and epochs as `memory` ("<epoch>.<position>"). Live fan-out is this process's own
(LocalBroker): one file serves one node.

Every database call runs on the database thread (db.Database); the event loop only waits for it.
A message or translation is published, and its sender acked, after its transaction commits.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import msgspec
from msgspec.structs import replace

from chat.backend.ids import make_id, new_epoch, parse_sequence_id
from chat.backend.local import LocalBroker
from chat.backend.sqlite.db import Database, decode_row
from rooms.stores import Appended, Reacted, Replay, now_ms
from rooms.stores.events import NewMessage, Translation
from rooms.stores.messages import CONFIDENCE_KEY, Author, MeetingStep, Quote, StoredMessage, split_confidence

MESSAGE_COLUMNS = "position, ts, user, lang, text, tr, deleted, edited, reply, mentions, meeting"


class SqliteBroker(LocalBroker):
    def __init__(self, db: Database, *, history_max: int, idempotency_ttl: int) -> None:
        super().__init__()
        self._db = db
        self._history_max = max(1, history_max)
        self._idempotency_ttl = idempotency_ttl

    # messages ----------------------------------------------------------------
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
        author = Author(user["id"], user["name"])
        reply = None if reply_to is None else msgspec.json.encode(reply_to).decode()
        mentioned = json.dumps(mentions) if mentions else None
        step = None if meeting is None else msgspec.json.encode(meeting).decode()

        def store(db: sqlite3.Connection) -> Appended:
            now = now_ms()
            if cid:
                row = db.execute(
                    "SELECT message_id FROM sent WHERE room = ? AND user = ? AND cid = ? AND expires > ?",
                    (room, user["id"], cid, now),
                ).fetchone()
                if row and (stored := _find(db, room, row[0])) is not None:
                    return Appended(stored, created=False)
            head = db.execute("SELECT epoch, next_position FROM histories WHERE room = ?", (room,)).fetchone()
            epoch, position = head if head else (new_epoch(), 1)
            db.execute(
                f"INSERT INTO messages ({MESSAGE_COLUMNS}, room) VALUES (?, ?, ?, ?, ?, '{{}}', 0, 0, ?, ?, ?, ?)",
                (position, now, json.dumps(user), lang, text, reply, mentioned, step, room),
            )
            db.execute(
                "INSERT INTO histories (room, epoch, next_position) VALUES (?, ?, ?) "
                "ON CONFLICT (room) DO UPDATE SET next_position = excluded.next_position",
                (room, epoch, position + 1),
            )
            db.execute("DELETE FROM messages WHERE room = ? AND position <= ?", (room, position - self._history_max))
            db.execute("DELETE FROM reactions WHERE room = ? AND position <= ?", (room, position - self._history_max))
            message_id = make_id(epoch, str(position))
            if cid:
                db.execute(
                    "INSERT OR REPLACE INTO sent (room, user, cid, message_id, expires) VALUES (?, ?, ?, ?, ?)",
                    (room, user["id"], cid, message_id, now + self._idempotency_ttl * 1000),
                )
            return Appended(
                StoredMessage(
                    room=room,
                    id=message_id,
                    ts=now,
                    user=author,
                    lang=lang,
                    text=text,
                    reply_to=reply_to,
                    mentions=list(mentions or ()),
                    meeting=meeting,
                ),
                created=True,
            )

        def publish(appended: Appended) -> None:
            if appended.created:
                message = appended.message
                self._deliver(
                    room,
                    NewMessage(
                        room=room,
                        id=message.id,
                        ts=message.ts,
                        user=author,
                        lang=lang,
                        text=text,
                        translating=list(translating or ()),
                        reply_to=reply_to,
                        mentions=list(mentions or ()),
                        meeting=meeting,
                    ),
                )

        return await self._db.write(store, then=publish)

    async def history(self, room: str, *, before: str | None, limit: int) -> list[StoredMessage]:
        def read(db: sqlite3.Connection) -> list[StoredMessage]:
            head = _head(db, room)
            if head is None or limit <= 0:
                return []
            epoch, next_position = head
            end: int | None = next_position
            if before is not None:
                end = _position(before, epoch)
                if end is None:
                    return []
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ? AND position < ? "
                "ORDER BY position DESC LIMIT ?",
                (room, end, limit),
            ).fetchall()
            return _with_reactions(db, room, [_message(room, epoch, row) for row in reversed(rows)])

        return await self._db.read(read)

    async def since(self, room: str, since: str, *, limit: int, most: int | None = None) -> Replay:
        def read(db: sqlite3.Connection) -> Replay | None:
            head = _head(db, room)
            if head is None:
                return Replay([], recovered=False)
            epoch, next_position = head
            position = _position(since, epoch)
            first = db.execute("SELECT min(position) FROM messages WHERE room = ?", (room,)).fetchone()[0]
            first = next_position if first is None else first
            if position is None or position >= next_position or position < first - 1:
                return None
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ? AND position > ? ORDER BY position LIMIT ?",
                (room, position, -1 if most is None else most),
            ).fetchall()
            return Replay(_with_reactions(db, room, [_message(room, epoch, row) for row in rows]), recovered=True)

        replay = await self._db.read(read)
        if replay is None:
            return Replay(await self.history(room, before=None, limit=limit), recovered=False)
        return replay

    async def add_translation(
        self, room: str, message_id: str, lang: str, text: str, *, confidence: float | None = None
    ) -> None:
        def store(db: sqlite3.Connection) -> bool:
            found = _locate(db, room, message_id)
            if found is None:
                return False
            row = db.execute(
                "SELECT tr FROM messages WHERE room = ? AND position = ? AND deleted = 0", (room, found)
            ).fetchone()
            if row is None:
                return False
            translations = json.loads(row[0])
            if lang in translations:  # stored once: a retry (or a second node's race) publishes nothing
                return False
            translations[lang] = text
            translations.pop(CONFIDENCE_KEY + lang, None)
            if confidence is not None:  # beside the text, in the same JSON (split_confidence reads it)
                translations[CONFIDENCE_KEY + lang] = confidence
            db.execute(
                "UPDATE messages SET tr = ? WHERE room = ? AND position = ?",
                (json.dumps(translations, ensure_ascii=False), room, found),
            )
            return True

        def publish(stored: bool) -> None:
            if stored:
                self._deliver(room, Translation(room=room, id=message_id, lang=lang, text=text, confidence=confidence))

        await self._db.write(store, then=publish)

    async def relabel_message(self, room: str, message_id: str, lang: str, *, author: str) -> StoredMessage | None:
        def store(db: sqlite3.Connection) -> StoredMessage | None:
            message = _find(db, room, message_id)
            if message is None or message.deleted or message.user.id != author:
                return None
            position = _locate(db, room, message_id)
            db.execute(
                "UPDATE messages SET lang = ?, tr = '{}' WHERE room = ? AND position = ?", (lang, room, position)
            )
            return replace(message, lang=lang, tr={}, confidence={})

        return await self._db.write(store)

    async def edit_message(
        self, room: str, message_id: str, text: str, lang: str, *, author: str
    ) -> StoredMessage | None:
        def store(db: sqlite3.Connection) -> StoredMessage | None:
            message = _find(db, room, message_id)
            if message is None or message.deleted or message.user.id != author:
                return None
            db.execute(
                "UPDATE messages SET text = ?, lang = ?, tr = '{}', edited = 1 WHERE room = ? AND position = ?",
                (text, lang, room, _locate(db, room, message_id)),
            )
            return replace(message, text=text, lang=lang, tr={}, confidence={}, edited=True)

        return await self._db.write(store)

    async def toggle_reaction(self, room: str, message_id: str, emoji: str, user: str) -> Reacted | None:
        def store(db: sqlite3.Connection) -> Reacted | None:
            message = _find(db, room, message_id)
            position = _locate(db, room, message_id)
            if message is None or message.deleted or position is None:
                return None
            key = (room, position, emoji, user)
            added = (
                db.execute(
                    "DELETE FROM reactions WHERE room = ? AND position = ? AND emoji = ? AND user = ?", key
                ).rowcount
                == 0
            )
            if added:
                db.execute("INSERT INTO reactions (room, position, emoji, user) VALUES (?, ?, ?, ?)", key)
            count = db.execute(
                "SELECT count(*) FROM reactions WHERE room = ? AND position = ? AND emoji = ?", key[:3]
            ).fetchone()[0]
            return Reacted(added=added, count=int(count))

        return await self._db.write(store)

    async def reactors(self, room: str, message_id: str) -> dict[str, list[str]] | None:
        def read(db: sqlite3.Connection) -> dict[str, list[str]] | None:
            message = _find(db, room, message_id)
            position = _locate(db, room, message_id)
            if message is None or message.deleted or position is None:
                return None
            who: dict[str, list[str]] = {}
            for emoji, user in db.execute(
                "SELECT emoji, user FROM reactions WHERE room = ? AND position = ? ORDER BY emoji, user",
                (room, position),
            ):
                who.setdefault(emoji, []).append(user)
            return who

        return await self._db.read(read)

    async def message(self, room: str, message_id: str) -> StoredMessage | None:
        def read(db: sqlite3.Connection) -> StoredMessage | None:
            message = _find(db, room, message_id)
            return None if message is None or message.deleted else message

        return await self._db.read(read)

    async def delete_message(self, room: str, message_id: str) -> bool:
        def store(db: sqlite3.Connection) -> bool:
            found = _locate(db, room, message_id)
            if found is None:
                return False
            db.execute("DELETE FROM reactions WHERE room = ? AND position = ?", (room, found))
            return (
                db.execute(
                    "UPDATE messages SET text = '', tr = '{}', deleted = 1, reply = NULL, mentions = NULL, "
                    "meeting = NULL "
                    "WHERE room = ? AND position = ? AND deleted = 0",
                    (room, found),
                ).rowcount
                > 0
            )

        return await self._db.write(store)


# rows -> messages --------------------------------------------------------------------
def _head(db: sqlite3.Connection, room: str) -> tuple[str, int] | None:
    """(epoch, next position) of a room's history, or None when it has none yet."""
    row = db.execute("SELECT epoch, next_position FROM histories WHERE room = ?", (room,)).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def _position(message_id: str, epoch: str) -> int | None:
    """The position of one of this history's ids, or None."""
    parts = parse_sequence_id(message_id)
    if parts is None or parts[0] != epoch:
        return None
    return parts[1]


def _locate(db: sqlite3.Connection, room: str, message_id: str) -> int | None:
    head = _head(db, room)
    return None if head is None else _position(message_id, head[0])


def _find(db: sqlite3.Connection, room: str, message_id: str) -> StoredMessage | None:
    head = _head(db, room)
    position = None if head is None else _position(message_id, head[0])
    if head is None or position is None:
        return None
    row = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ? AND position = ?", (room, position)
    ).fetchone()
    return _with_reactions(db, room, [_message(room, head[0], row)])[0] if row else None


def _message(room: str, epoch: str, row: tuple[Any, ...]) -> StoredMessage:
    """A `messages` row (MESSAGE_COLUMNS) as the stored message: the one place sqlite builds one from a row."""
    position, ts, user, lang, text, tr, deleted, edited, reply, mentioned, step = row

    def decode() -> StoredMessage:
        sender = json.loads(user)
        stored = json.loads(tr)
        if not isinstance(stored, dict):
            raise TypeError(f"tr holds {type(stored).__name__}, not an object")
        translations, confidence = split_confidence(stored)  # "@c:<lang>": add_translation
        return StoredMessage(
            room=room,
            id=make_id(epoch, str(position)),
            ts=ts,
            user=Author(str(sender["id"]), str(sender["name"])),
            lang=lang,
            text=text,
            tr=translations,
            confidence=confidence,
            deleted=bool(deleted),
            edited=bool(edited),
            reply_to=None if reply is None else msgspec.json.decode(reply, type=Quote),
            mentions=[] if mentioned is None else msgspec.json.decode(mentioned, type=list[str]),
            meeting=None if step is None else msgspec.json.decode(step, type=MeetingStep),
        )

    return decode_row(f"messages: room {room!r}, position {position}", decode)


def _with_reactions(db: sqlite3.Connection, room: str, messages: list[StoredMessage]) -> list[StoredMessage]:
    """The messages with their reaction counts (one query for the lot)."""
    live = {message.id.rpartition(".")[2]: index for index, message in enumerate(messages) if not message.deleted}
    if not live:
        return messages
    positions = [int(position) for position in live]
    counts: dict[int, dict[str, int]] = {}
    for position, emoji, count in db.execute(
        "SELECT position, emoji, count(*) FROM reactions WHERE room = ? AND position BETWEEN ? AND ? "
        "GROUP BY position, emoji",
        (room, min(positions), max(positions)),
    ):
        counts.setdefault(int(position), {})[str(emoji)] = int(count)
    for position, reactions in counts.items():
        index = live.get(str(position))
        if index is not None:
            messages[index] = replace(messages[index], reactions=reactions)
    return messages
