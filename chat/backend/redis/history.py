"""History: storing, reading, translating and deleting a room's messages (the Broker's store half).

One Stream per room (exact MAXLEN). Storing and publishing a message is one Lua script
(lua/append.lua), so every node and every reader see history's order. Each stream has an epoch;
ids are "<epoch>.<stream id>" and a `since` from a lost or trimmed history is `recovered: false`.
"""

from __future__ import annotations

from typing import Any

from chat.backend.ids import make_id, new_epoch
from chat.backend.redis.calls import RedisParts, read_call, write_call
from chat.backend.redis.keys import parse_id, stream_key
from chat.backend.redis.rows import deleted_message, live_message, reactors_of
from chat.frames import encode
from rooms.stores import Appended, Author, MeetingStep, Quote, Reacted, Replay, StoredMessage
from rooms.stores.events import NewMessage, Translation, encode_event

# Where append.lua puts the id and ts only it knows, in the encoding of a NewMessage built without them.
_ID_TS = b'"id":"","ts":0'


class RedisHistory(RedisParts):
    @write_call
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
        keys = self._keys.history(room)
        author = Author(user["id"], user["name"])
        if cid:
            keys.append(self._keys.idempotency(room, user["id"], cid))
        # The script publishes the NewMessage event (not a wire frame: chat/hub.py builds that) with
        # the id and ts only it knows, between these two parts of the event's own encoding.
        head, _, tail = encode_event(
            NewMessage(
                room=room,
                id="",
                ts=0,
                user=author,
                lang=lang,
                text=text,
                translating=list(translating or ()),
                reply_to=reply_to,
                mentions=list(mentions or ()),
                meeting=meeting,
            )
        ).partition(_ID_TS)
        reply = await self._scripts["append"](
            keys=keys,
            args=[
                self._keys.channel(room),
                self._settings.history_max,
                new_epoch(),
                encode(author),
                lang,
                text,
                self._settings.idempotency_ttl,
                head,
                tail,
                encode(reply_to) if reply_to else "",
                encode(mentions) if mentions else "",
                encode(meeting) if meeting else "",
            ],
        )
        return appended(reply, room, author, lang, text, reply_to, mentions, meeting)

    @read_call
    async def history(self, room: str, *, before: str | None, limit: int) -> list[StoredMessage]:
        if before is None:
            return (await self._read(room, "page", None, limit)).messages
        if parse_id(before) is None:
            return []
        return (await self._read(room, "page", before, limit)).messages

    @read_call
    async def since(self, room: str, since: str, *, limit: int, most: int | None = None) -> Replay:
        return await self._since(room, since, limit=limit, most=most)

    async def _since(self, room: str, since: str | None, *, limit: int, most: int | None = None) -> Replay:
        return await self._read(room, "since", since if parse_id(since) else None, limit, most)

    async def _read(self, room: str, mode: str, message_id: str | None, limit: int, most: int | None = None) -> Replay:
        """Run the read script and turn its rows into messages, oldest first."""
        epoch_in, stream_in = parse_id(message_id) or ("", "")
        epoch, recovered, live, deleted = await self._scripts["read"](
            keys=self._keys.history(room), args=[mode, epoch_in, stream_in, limit, -1 if most is None else most]
        )
        if not epoch:
            return Replay([], recovered=False)
        messages = [live_message(room, epoch, stream_id, fields, extra) for stream_id, fields, extra in live]
        messages += [deleted_message(room, epoch, stream_id, tombstone) for stream_id, tombstone in deleted]
        messages.sort(key=lambda message: stream_key(message.id.partition(".")[2]))
        if not recovered:  # a page: the newest `limit` of live messages and placeholders
            messages = messages[-limit:] if limit > 0 else []
        elif most is not None:  # the oldest `most` of live messages and placeholders
            messages = messages[:most]
        return Replay(messages, recovered=bool(recovered))

    @write_call
    async def add_translation(
        self, room: str, message_id: str, lang: str, text: str, *, confidence: float | None = None
    ) -> None:
        parts = parse_id(message_id)
        if parts is None:
            return
        event = Translation(room=room, id=message_id, lang=lang, text=text, confidence=confidence)
        log_key, meta, extra, _ = self._keys.history(room)
        await self._scripts["add_translation"](
            keys=[log_key, meta, extra],
            args=[
                parts[0],
                parts[1],
                lang,
                text,
                self._keys.channel(room),
                encode_event(event),
                "" if confidence is None else repr(confidence),
            ],
        )

    @write_call
    async def relabel_message(self, room: str, message_id: str, lang: str, *, author: str) -> StoredMessage | None:
        parts = parse_id(message_id)
        if parts is None:
            return None
        log_key, meta, extra, _ = self._keys.history(room)
        found = await self._scripts["relabel"](keys=[log_key, meta, extra], args=[*parts, lang, author])
        if not found:
            return None
        return live_message(room, parts[0], parts[1], found[0], found[1])

    @write_call
    async def edit_message(
        self, room: str, message_id: str, text: str, lang: str, *, author: str
    ) -> StoredMessage | None:
        parts = parse_id(message_id)
        if parts is None:
            return None
        log_key, meta, extra, _ = self._keys.history(room)
        found = await self._scripts["edit"](keys=[log_key, meta, extra], args=[*parts, text, lang, author])
        if not found:
            return None
        return live_message(room, parts[0], parts[1], found[0], found[1])

    @write_call
    async def toggle_reaction(self, room: str, message_id: str, emoji: str, user: str) -> Reacted | None:
        parts = parse_id(message_id)
        if parts is None:
            return None
        log_key, meta, extra, _ = self._keys.history(room)
        found = await self._scripts["react"](keys=[log_key, meta, extra], args=[*parts, emoji, user])
        if not found:
            return None
        return Reacted(added=bool(int(found[0])), count=int(found[1]))

    @read_call
    async def message(self, room: str, message_id: str) -> StoredMessage | None:
        parts = parse_id(message_id)
        if parts is None:
            return None
        log_key, meta, extra, _ = self._keys.history(room)
        found = await self._scripts["message"](keys=[log_key, meta, extra], args=list(parts))
        if not found:
            return None
        translations = found[1] if len(found) > 1 else None  # HGET's false arrives as None
        return live_message(room, parts[0], parts[1], found[0], translations or None)

    @read_call
    async def reactors(self, room: str, message_id: str) -> dict[str, list[str]] | None:
        parts = parse_id(message_id)
        if parts is None:
            return None
        log_key, meta, extra, _ = self._keys.history(room)
        found = await self._scripts["message"](keys=[log_key, meta, extra], args=list(parts))
        if not found:
            return None
        return reactors_of(found[1] if len(found) > 1 else None)

    @write_call
    async def delete_message(self, room: str, message_id: str) -> bool:
        parts = parse_id(message_id)
        if parts is None:
            return False
        return bool(await self._scripts["delete"](keys=self._keys.history(room), args=list(parts)))


def appended(
    reply: list[Any],
    room: str,
    author: Author,
    lang: str,
    text: str,
    reply_to: Quote | None = None,
    mentions: list[str] | None = None,
    meeting: MeetingStep | None = None,
) -> Appended:
    """What append.lua answered, as the Broker says it: the new message, or the stored original."""
    created, epoch, stream_id = int(reply[0]), reply[1], reply[2]
    if created:
        message = StoredMessage(
            room=room,
            id=make_id(epoch, stream_id),
            ts=stream_key(stream_id)[0],
            user=author,
            lang=lang,
            text=text,
            reply_to=reply_to,
            mentions=list(mentions or ()),
            meeting=meeting,
        )
        return Appended(message, created=True)
    fields, extra = reply[3], reply[4]
    row = (
        live_message(room, epoch, stream_id, fields, extra)
        if fields
        else deleted_message(room, epoch, stream_id, extra)
    )
    return Appended(row, created=False)
