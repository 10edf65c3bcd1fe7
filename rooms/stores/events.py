"""What crosses the Broker: one msgspec Struct per event, the only place each is defined.

A room's events (`Broker.publish`) and node-wide ones (`Broker.broadcast`) travel between nodes as
the JSON encoding of these Structs (`"type"` tells them apart) and reach each node's hub as the
Structs again (`decode_event`). Most of them are also server frames as they are — the hub encodes
them once and writes the same bytes to every reader (chat/frames.py re-exports them as frames).
Three are not frames:
- `NewMessage`: a message as a store published it; the hub builds the `message` frame from it
  (chat/frames.py `live_message`). Its encoding is what lua/append.lua publishes on Redis (from
  parts chat/backend/redis/history.py cuts out of this Struct's own encoding).
- `Direct`: an envelope for some users' connections wherever they are (chat/conversations.py).
- `Glossary`: the glossary a host changed on some node.

Optional fields default to None (or empty) and are left out of the encoding when so
(`omit_defaults`): an absent field stays absent on the wire.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec

from rooms.models import Role
from rooms.stores.messages import Author, MeetingStep, Quote

__all__ = [
    "ContactRequestFrame",
    "Conversation",
    "Deleted",
    "Direct",
    "Edited",
    "Event",
    "Glossary",
    "MeetingChanged",
    "Mention",
    "Moderated",
    "NewMessage",
    "PresenceChanged",
    "Reaction",
    "Relang",
    "Report",
    "ReportsChanged",
    "RoleChanged",
    "RoomChanged",
    "Translation",
    "TranslationFailed",
    "Typing",
    "UnreadChanged",
    "decode_event",
    "encode_event",
]


class Tagged(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    """Every event and frame: a JSON object whose "type" names it."""


class NewMessage(Tagged, tag="message"):
    """A message just stored (Broker.append_message); `translating`: the languages a `translation`
    will follow for. Not stored itself: history keeps the message (rooms.stores.messages.StoredMessage)."""

    room: str
    id: str
    ts: int  # ms since the epoch
    user: Author
    lang: str
    text: str
    translating: list[str] = msgspec.field(default_factory=list)
    deleted: bool = False  # only when a node replays what it missed (redis catch-up): deleted meanwhile
    reply_to: Quote | None = None  # the message this one answers (with its translations: each reader gets theirs)
    mentions: list[str] = msgspec.field(default_factory=list)  # the user ids it mentions
    meeting: MeetingStep | None = None  # the meeting step it records (issue 26)


class Translation(Tagged, tag="translation"):
    room: str
    id: str
    lang: str
    text: str
    confidence: float | None = None  # 0-1, the engine's confidence (docs/protocol.md)


class TranslationFailed(Tagged, tag="translation_failed"):
    room: str
    id: str
    lang: str


class Relang(Tagged, tag="relang"):
    """The sender corrected a message's language; `translating` as in NewMessage (always sent)."""

    room: str
    id: str
    lang: str
    translating: list[str]


class Reaction(Tagged, tag="reaction"):
    """Someone added or took back a reaction: `count` is how many people now react with `emoji`
    (0: none), `user` who changed it. Hubs coalesce them (chat/hub.py): the latest count wins."""

    room: str
    id: str
    emoji: str
    count: int
    user: str


class Edited(Tagged, tag="edited"):
    """The sender replaced a message's text: its translations were dropped, `translating` as in
    NewMessage (always sent)."""

    room: str
    id: str
    text: str
    lang: str
    translating: list[str]


class Mention(Tagged, tag="mention"):
    """Someone mentioned the reader in a message (sent to the reader's connections on every node,
    in the room or not)."""

    room: str
    id: str
    by: dict[str, str]  # {id, name}


class UnreadChanged(Tagged, tag="unread"):
    """A person's read position or unread count in a room changed (issue 25): to every connection
    of theirs, on every node, joined to the room or not. After their `read` (another device of
    theirs read: `read` is the new position), or when a message came in a private conversation of
    theirs (`id` and `by` name it, so a client that shows none of that conversation may still
    count it and notify)."""

    room: str
    unread: int  # messages from others after it (at most 200 counted)
    read: str | None = None  # their read position (absent: they never marked one there)
    id: str | None = None  # the new message that changed the count
    by: dict[str, str] | None = None  # {id, name}: its author


class Typing(Tagged, tag="typing"):
    """A member of a private conversation is typing (not stored; never sent back to the typist)."""

    room: str
    user: dict[str, str]  # {id, name}


class PresenceChanged(Tagged, tag="presence"):
    room: str
    event: str  # join | leave | update
    user: dict[str, str]  # {id, name, lang, role?}


class Moderated(Tagged, tag="moderation"):
    room: str
    action: str  # mute | unmute | kick | ban | unban
    user: str  # the target's id
    by: dict[str, str]  # {id, name}
    until: int | None = None  # ms; a mute without it lasts until unmuted
    reason: str | None = None
    reason_tr: dict[str, str] | None = None  # {lang, text}: the reason in the reader's language (chat/hub.py)


class RoleChanged(Tagged, tag="role"):
    """A host appointed the reader moderator of a room (`role` moderator) or ended the appointment
    (`role` delegate): sent to that user's connections on every node, joined to the room or not.
    It changes the role of a delegate's token only (policy.room_role): a host's or a moderator
    token's role in the room stays what the token gives."""

    room: str
    role: str  # moderator | delegate
    by: dict[str, str]  # {id, name}: the host


class Deleted(Tagged, tag="deleted"):
    room: str
    id: str
    by: dict[str, str]  # {id, name}


#: A room as frames carry it (`joined.room`, `room`): its stored fields and what the edge adds; the
#: schema names `writers`, the roles the room's state lets write now (rooms.policy.writers).
RoomFields = Annotated[
    dict[str, Any],
    msgspec.Meta(
        extra_json_schema={
            "properties": {
                "writers": {
                    "type": "array",
                    "items": {"enum": [role.value for role in Role]},
                    "description": "the roles the room's state lets "
                    "write now: every role when open, host and moderator "
                    "when read_only, none when closed (a mute is the reader's own: `joined.you.muted_until`)",
                }
            }
        }
    ),
]


class RoomChanged(Tagged, tag="room"):
    event: str  # opened | closed | updated
    room: RoomFields  # the room's summary (chat/lobby.py)


class RoomSaved(Tagged, tag="room_saved"):
    """A store's notice on the node channel that a room's record changed: each node drops its copy
    of the room (the redis backend); it never reaches the hub or a reader."""

    id: str


class Glossary(Tagged, tag="glossary"):
    terms: list[str]


class ContactRequestFrame(Tagged, tag="request"):
    """A contact request in one of its states (pending, accepted, declined, withdrawn)."""

    id: str
    sender: dict[str, str] = msgspec.field(name="from")
    to: str
    text: str
    ts: int
    expires: int
    state: str
    room: str | None = None  # the conversation an accepted request opened (or joined)
    group: dict[str, str] | None = None  # an invitation into a group conversation: {id, title}


class Conversation(Tagged, tag="conversation"):
    event: str  # opened | joined (an invitee accepted) | left
    room: dict[str, Any]
    user: dict[str, str] | None = None  # who joined or left


class Report(Tagged, tag="report"):
    """A reported message, for the event's moderators."""

    id: str
    ts: int
    room: dict[str, str]  # {id, kind}
    message: dict[str, Any]
    reporter: dict[str, str]
    reason: str | None = None


class ReportsChanged(Tagged, tag="reports_changed"):
    """The open reports changed (one filed, some closed): each node tells its moderators the new
    count (chat/reports.py). A node event; clients never see it."""


class MeetingChanged(Tagged, tag="meeting"):
    """A meeting changed (issue 26): sent to both people's connections on every node. `event`:
    proposed | countered | booked | declined | cancelled | moved; `meeting` as GET /api/me/meetings
    lists it (for the reader: `with` is the other person)."""

    event: str
    meeting: dict[str, Any]


class Direct(Tagged, tag="direct"):
    """`frame` for these users' connections (and the event's moderators') and/or their removal from
    a room ("*": every room). Each node's hub opens it; clients never see the envelope."""

    users: list[str]
    moderators: bool = False
    frame: (
        ContactRequestFrame
        | Conversation
        | Report
        | Moderated
        | RoleChanged
        | MeetingChanged
        | Mention
        | UnreadChanged
        | None
    ) = None
    remove: dict[str, str] | None = None  # {room, reason}


Event = (
    NewMessage
    | Translation
    | TranslationFailed
    | Relang
    | Reaction
    | Edited
    | Typing
    | PresenceChanged
    | Moderated
    | Deleted
    | RoomChanged
    | RoomSaved
    | Glossary
    | ReportsChanged
    | Direct
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    """An event as it travels between nodes: compact UTF-8 JSON (\\u escapes when it holds a lone
    surrogate, which the edges refuse but data stored before that rule may hold)."""
    try:
        return _encoder.encode(event)
    except UnicodeEncodeError:
        return json.dumps(msgspec.to_builtins(event), ensure_ascii=True, separators=(",", ":")).encode()


def decode_event(payload: bytes | str) -> Event:
    """An event as `encode_event` (or lua/append.lua) wrote it; raises msgspec.ValidationError or
    ValueError for anything else."""
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError:  # msgspec refuses lone surrogates that stdlib json lets through
        event: Event = msgspec.convert(json.loads(payload), Event)
        return event
