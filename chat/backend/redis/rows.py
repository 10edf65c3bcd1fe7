"""Rows the scripts return, decoded into stored messages and presence members."""

from __future__ import annotations

import json

import msgspec

from chat.backend.ids import make_id
from chat.backend.redis.keys import stream_key
from rooms.stores import Author, MeetingStep, Member, Quote, StoredMessage
from rooms.stores.events import PresenceChanged
from rooms.stores.messages import split_confidence

#: Where react.lua keeps who reacted with an emoji, in a message's extra hash value: "@r:<emoji>".
REACTION_KEY = "@r:"


def live_message(room: str, epoch: str, stream_id: str, fields: list[str], extra: str | None) -> StoredMessage:
    """A stream entry (flat field list) and its translations, as a stored message."""
    entry = dict(zip(fields[::2], fields[1::2], strict=False))
    stored = json.loads(extra) if extra else {}
    lang = stored.pop("@lang", entry["l"])  # a sender's correction (relabel.lua, edit.lua)
    text = stored.pop("@text", entry["t"])  # the sender's edit (edit.lua)
    edited = bool(stored.pop("@edited", False))
    reactions = {
        key[len(REACTION_KEY) :]: len(who)
        for key in list(stored)
        if key.startswith(REACTION_KEY)
        if isinstance(who := stored.pop(key), dict) and who
    }  # react.lua
    translations, confidence = split_confidence(stored)  # "@c:<lang>": add_translation.lua
    quote = entry.get("q")  # a reply's quote (append.lua)
    mentioned = entry.get("m")
    step = entry.get("k")  # the meeting step it records (append.lua)
    return StoredMessage(
        room=room,
        id=make_id(epoch, stream_id),
        ts=stream_key(stream_id)[0],
        user=author(entry["u"]),
        lang=lang,
        text=text,
        tr=translations,
        confidence=confidence,
        edited=edited,
        reactions=reactions,
        reply_to=msgspec.json.decode(quote, type=Quote) if quote else None,
        mentions=msgspec.json.decode(mentioned, type=list[str]) if mentioned else [],
        meeting=msgspec.json.decode(step, type=MeetingStep) if step else None,
    )


def reactors_of(extra: str | None) -> dict[str, list[str]]:
    """Who reacted with each emoji (react.lua's "@r:<emoji>" {user id: 1}), sorted, from a message's
    extra hash value."""
    stored = json.loads(extra) if extra else {}
    return {
        key[len(REACTION_KEY) :]: sorted(who)
        for key, who in stored.items()
        if key.startswith(REACTION_KEY) and isinstance(who, dict) and who
    }


def deleted_message(room: str, epoch: str, stream_id: str, tombstone: str | None) -> StoredMessage:
    """A deleted message's tombstone as its `deleted` placeholder."""
    stone = json.loads(tombstone) if tombstone else {}
    return StoredMessage(
        room=room,
        id=make_id(epoch, stream_id),
        ts=stream_key(stream_id)[0],
        user=author(stone["u"]) if "u" in stone else Author("", ""),
        lang=stone.get("l", ""),
        text="",
        deleted=True,
    )


def author(raw: str) -> Author:
    """A sender as the stream keeps it (the user JSON append.lua stored)."""
    user = json.loads(raw)  # stdlib json: stored data may hold lone surrogates, which msgspec refuses
    return Author(user["id"], user.get("name", ""))


def member(raw: str) -> Member:
    return member_of(json.loads(raw))


def member_of(record: dict[str, str]) -> Member:
    return Member(record["conn"], record["id"], record["name"], record["lang"], record["role"])


def presence_event(room: str, event: str, who: Member) -> PresenceChanged:
    """The `presence` event the backend itself announces (a reaped or restored connection)."""
    return PresenceChanged(room=room, event=event, user={"id": who.id, "name": who.name, "lang": who.lang})
