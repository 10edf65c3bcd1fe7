"""Server frames: one msgspec Struct per frame the server sends, and the one encoder.

The frames that are also Broker events (translation, presence, moderation, ...) are defined once,
in rooms/stores/events.py, and re-exported here; the rest are built only by the edge. A `message`
is built only here: `message_frame` from a stored message (history, `joined`), `live_message`
from the event a store published. Optional fields default to None (or empty) and stay off the wire
when so, so an absent field is absent. Client frames are decoded in chat/protocol.py.

`python -m chat.frames --schema` prints the JSON Schema of every server frame and event
(docs/protocol.schema.json; tests/test_frames.py checks the committed file is current).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import msgspec

from chat.protocol import AnyClientFrame
from rooms.stores.events import (
    ContactRequestFrame,
    Conversation,
    Deleted,
    Edited,
    Event,
    MeetingChanged,
    Mention,
    Moderated,
    NewMessage,
    PresenceChanged,
    Reaction,
    Relang,
    Report,
    RoleChanged,
    RoomChanged,
    RoomFields,
    Tagged,
    Translation,
    TranslationFailed,
    Typing,
    UnreadChanged,
)
from rooms.stores.messages import Author, MeetingStep, Quote, StoredMessage

__all__ = [
    "Ack",
    "ContactRequestFrame",
    "Conversation",
    "Deleted",
    "Edited",
    "Error",
    "History",
    "Joined",
    "Left",
    "MeetingChanged",
    "Mention",
    "MessageFrame",
    "Moderated",
    "Pong",
    "PresenceChanged",
    "Reaction",
    "Reactors",
    "Ready",
    "Relang",
    "ReplyQuote",
    "Report",
    "Reports",
    "RoleChanged",
    "RoomChanged",
    "ServerFrame",
    "Translation",
    "TranslationFailed",
    "Typing",
    "UnreadChanged",
    "encode",
    "encode_bytes",
    "error",
    "live_message",
    "message_frame",
    "schema",
]


class ReaderTranslation(msgspec.Struct, omit_defaults=True):
    """A message's translation into the reader's language."""

    lang: str
    text: str
    confidence: float | None = None  # 0-1, the engine's confidence; absent when unknown


class ReplyQuote(msgspec.Struct, omit_defaults=True):
    """What a reply quotes of the message it answers: its id, author and the start of its text;
    `tr`: the quote in the reader's language where the quoted message has that translation (live:
    when the reply was sent; history: now); `deleted`: the quoted message is gone (text empty)."""

    id: str
    user: Author
    text: str
    tr: ReaderTranslation | None = None
    deleted: bool = False


class MessageFrame(Tagged, tag="message"):
    room: str
    id: str
    ts: int  # ms since the epoch
    user: Author
    lang: str  # the detected source language
    text: str  # the original (the sender's latest text, once edited)
    deleted: bool = False
    tr: ReaderTranslation | None = None
    translating: list[str] = msgspec.field(default_factory=list)
    reply_to: ReplyQuote | None = None  # the message this one answers
    reactions: dict[str, int] = msgspec.field(default_factory=dict)  # emoji -> people (history; absent: none)
    edited: bool = False  # the sender edited the text (history)
    mentions: list[str] = msgspec.field(default_factory=list)  # the user ids it mentions
    meeting: MeetingStep | None = None  # the meeting step it records: a card in the conversation (issue 26)


class Reactors(Tagged, tag="reactors"):
    """Who reacts to a message with each emoji (rooms/messages.py REACTORS_SHOWN at most each, by
    name): the answer to a client's `reactors`."""

    room: str
    id: str
    reactors: dict[str, list[Author]]
    ref: str | None = None


class Ready(Tagged, tag="ready"):
    user: dict[str, Any]  # {id, name, role}
    lang: str
    languages: list[str]
    translates: list[str]
    routes: dict[str, list[str]]
    node: str
    protocol: int
    min_confidence: float | None = None  # below it, clients show the original first ([translation])


class Joined(Tagged, tag="joined"):
    room: RoomFields  # with `languages` (the census) and `writers`
    members: list[dict[str, str]]
    messages: list[MessageFrame]
    you: dict[str, Any]  # {role, muted_until?}
    recovered: bool | None = None  # only with `since`
    more: bool | None = None  # a `since` replay longer than one page: ask `history` with `after` for the rest


class Left(Tagged, tag="left"):
    room: str
    reason: str  # left | kicked | banned | closed


class History(Tagged, tag="history"):
    room: str
    messages: list[MessageFrame]
    ref: str | None = None
    more: bool | None = None  # only with `after`: later messages remain, ask again after the last one
    recovered: bool | None = None  # only with `after`: false when history no longer reaches back to it


class Ack(Tagged, tag="ack"):
    ref: str | None = None
    cid: str | None = None
    id: str | None = None
    room: str | None = None  # the conversation an accepted request opened


class Error(Tagged, tag="error"):
    code: str
    message: str  # what went wrong and what to do (English, for developers; clients word `code`)
    ref: str | None = None
    retry_after: int | None = None  # seconds until the refusal passes by itself (a wait, cooldown, timed mute)


class Pong(Tagged, tag="pong"):
    ref: str | None = None


class Reports(Tagged, tag="reports"):
    """How many reports wait for a moderator (`open`): to hosts and moderators of the whole event
    after `ready` and whenever it changes (coalesced per node); the reports are at GET /api/reports."""

    open: int


ServerFrame = (
    MessageFrame
    | Translation
    | TranslationFailed
    | Relang
    | Reaction
    | Edited
    | Mention
    | PresenceChanged
    | Moderated
    | Deleted
    | RoomChanged
    | ContactRequestFrame
    | Conversation
    | Report
    | Reports
    | RoleChanged
    | MeetingChanged
    | Ready
    | Joined
    | Left
    | History
    | Ack
    | Error
    | Pong
    | Typing
    | Reactors
    | UnreadChanged
)


def message_frame(
    message: StoredMessage, reader_lang: str | None = None, *, translating: list[str] | None = None
) -> MessageFrame:
    """A stored message as the `message` a reader sees, with `tr` when its translation is known."""
    if message.deleted:
        return MessageFrame(
            room=message.room,
            id=message.id,
            ts=message.ts,
            user=message.user,
            lang=message.lang,
            text=message.text,
            deleted=True,
        )
    text = message.tr.get(reader_lang) if reader_lang and reader_lang != message.lang else None
    tr = (
        ReaderTranslation(reader_lang, text, message.confidence.get(reader_lang))
        if reader_lang and text is not None
        else None
    )
    return MessageFrame(
        room=message.room,
        id=message.id,
        ts=message.ts,
        user=message.user,
        lang=message.lang,
        text=message.text,
        tr=tr,
        translating=translating or [],
        reply_to=_reply_quote(message.reply_to, reader_lang),
        reactions=message.reactions,
        edited=message.edited,
        mentions=message.mentions,
        meeting=message.meeting,
    )


def _reply_quote(quote: Quote | None, reader_lang: str | None) -> ReplyQuote | None:
    """A stored quote as one reader sees it: with its translation into the reader's language, if kept."""
    if quote is None:
        return None
    if quote.deleted:
        return ReplyQuote(quote.id, quote.user, "", deleted=True)
    text = quote.tr.get(reader_lang) if reader_lang else None
    tr = ReaderTranslation(reader_lang, text) if reader_lang and text is not None else None
    return ReplyQuote(quote.id, quote.user, quote.text, tr)


def error(code: str, message: str, ref: str | None = None, *, retry_after: int | None = None) -> Error:
    """The `error` answering a frame (`ref`: the frame's own, when it was itself valid; `retry_after`:
    the seconds a refusal that passes by itself still lasts)."""
    return Error(code=code, message=message, ref=ref, retry_after=retry_after)


def live_message(event: NewMessage, reader_lang: str | None = None) -> MessageFrame:
    """The `message` a reader gets when a message was just stored: the same for every reader but
    for a reply's quote, in `reader_lang` where the quoted message had that translation."""
    return MessageFrame(
        room=event.room,
        id=event.id,
        ts=event.ts,
        user=event.user,
        lang=event.lang,
        text=event.text,
        translating=event.translating,
        reply_to=_reply_quote(event.reply_to, reader_lang),
        mentions=event.mentions,
        meeting=event.meeting,
    )


_encoder = msgspec.json.Encoder()


def encode_bytes(frame: Any) -> bytes:
    """One server frame (or any JSON value) as compact UTF-8 JSON.

    Edges refuse lone surrogates, but data stored before that rule (or from elsewhere) may hold
    some: such a frame is written with \\u escapes instead, so no reader's socket ever fails on it.
    """
    try:
        return _encoder.encode(frame)
    except UnicodeEncodeError:
        value = _finite(msgspec.to_builtins(frame))
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _finite(value: Any) -> Any:
    """Non-finite floats as null, the way msgspec writes them (stdlib json would write Infinity, not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def encode(frame: Any) -> str:
    """One server frame as compact JSON text (see encode_bytes)."""
    return encode_bytes(frame).decode()


def schema() -> dict[str, Any]:
    """JSON Schema of every client frame, server frame and Broker event, from the Structs themselves."""
    (client, server, events), components = msgspec.json.schema_components(
        [AnyClientFrame, ServerFrame, Event], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "babelroom wire protocol v1: client and server frames",
        "description": 'Every frame is one JSON object; "type" names it. Generated by `python -m chat.frames '
        "--schema` from chat/protocol.py (`client`: what clients send), chat/frames.py and "
        "rooms/stores/events.py (`server`: what the server sends); `events` are what crosses "
        "the Broker between nodes (not sent to clients as such).",
        "$defs": components,
        "properties": {"client": client, "server": server, "events": events},
    }


def main(argv: list[str]) -> int:
    if argv != ["--schema"]:
        print("usage: python -m chat.frames --schema", file=sys.stderr)
        return 2
    print(json.dumps(schema(), indent=2, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
