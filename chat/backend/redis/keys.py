"""The key schema: every key and channel name, all under the configured prefix, and message ids.

    room:<id>:log       Stream of messages; entry fields u (user JSON), l (source language), t (text)
    room:<id>:meta      Hash: epoch (this life of the stream), last (newest stream id ever added),
                        trimmed (newest stream id removed by MAXLEN; `since` older than it is lost)
    room:<id>:extra     Hash: stream id -> JSON of the message's translations {lang: text}, or, for a
                        deleted message, its tombstone {"u": user JSON, "l": lang}
    room:<id>:gone      Sorted set of deleted stream ids (score = the id's milliseconds): deleted
                        messages leave the stream (XDEL, so their text is really gone) but keep
                        their place in history as `deleted` placeholders
    room:<id>:cid:<digest>  a (user, cid) seen -> message id; expires (idempotency_ttl)
    room:<id>:presence  Hash: "<instance> <connection id>" -> JSON {conn, id, name, lang, role}
    room:<id>:users     Hash: user id -> JSON array of that user's presence fields
    room:<id>:mutes / :bans / :moderators   hash user -> until ms ('' = until unmuted) / set / set
    room:<id>:roles     Hash: user id -> the highest role the user was seen with in the room
    room:<id>:modlog    Stream of moderation entries, capped
    rooms, rooms:order  hash id -> room JSON; zset id -> listing position
    glossary            JSON array of the terms a host set last (absent: the configured list applies)
    node:<instance>     heartbeat (value: the node id), TTL presence_ttl
    instances           Hash: node instance -> ms until which it counts (the user connection counts read it)
    connections:<user>  Hash: "<instance> <connection id>" -> 1, the user's open sockets ([limits]
                        connections_per_user); a dead instance's fields are dropped when counted
    cache:<key>         shared translation cache, TTL 7 days
    limit:bucket:<user>         Hash t (tokens left), s (ms of the last refill); expires once refilled
    limit:slow:<room>:<user>    exists while the user must wait under slow mode; its PTTL is the wait
    chan:room:<id>, chan:node   pub/sub channels

    room:<id>:alive     Hash: node instance -> ms (Redis' clock) until which its records in this room count

A message id is "<epoch>.<stream id>"; ts is the stream id's milliseconds (Redis' clock).

On Redis Cluster (`[backend] redis_cluster`) the names carry hash tags so that every script
touches one slot: every key and the channel of a room share the tag {<room>}
(`<prefix>room:{<id>}:log`, `<prefix>chan:room:{<id>}`); a user's send limits share {<digest of user>}
(`<prefix>limit:{<digest of user>}:bucket`, `<prefix>limit:{<digest of user>}:slow:<room>`); every event-wide key
(rooms, glossary, conversations, profiles, the shared cache, event-wide sanctions) shares the
prefix's tag `{<prefix>}`. Rooms spread over the shards; the event-wide keys live on one.
On one Redis the names stay as listed above (no braces): an existing database keeps its data.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from chat.backend.ids import parse_stream_id

StreamKey = tuple[int, int]
EVENT_WIDE_ROOM = "*"  # rooms.conversations.EVENT_WIDE: the "room" of event-wide mutes and bans


def stream_key(stream_id: str) -> StreamKey:
    """A stream id as numbers, which order correctly (the strings do not)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


def parse_id(message_id: str | None) -> tuple[str, str] | None:
    """(epoch, stream id) of one of our message ids, or None (chat.backend.ids has the exact shape)."""
    return parse_stream_id(message_id)


def _digest(user: str) -> str:
    """A user id as a hash tag: ids may hold braces, which would end the tag early."""
    return hashlib.sha256(user.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Keys:
    """Every key and channel name, all under the configured prefix."""

    raw_prefix: str
    cluster: bool = False

    @property
    def prefix(self) -> str:
        """The prefix of every event-wide key: on a cluster it carries one hash tag, so that the
        event-wide transactions (rooms and their order, conversations) stay in one slot."""
        return f"{{{self.raw_prefix}}}" if self.cluster else self.raw_prefix

    def _tag(self, name: str) -> str:
        return f"{{{name}}}" if self.cluster else name

    def room(self, room: str, part: str) -> str:
        if room == EVENT_WIDE_ROOM:  # event-wide sanctions live with the other event-wide keys
            return f"{self.prefix}room:{room}:{part}"
        return f"{self.raw_prefix}room:{self._tag(room)}:{part}"

    def history(self, room: str) -> list[str]:
        """The keys the history scripts take, in their order: log, meta, extra, gone."""
        return [self.room(room, part) for part in ("log", "meta", "extra", "gone")]

    def presence(self, room: str) -> list[str]:
        """The keys the presence scripts take, in their order: presence, users, census."""
        return [
            self.room(room, "presence"),
            self.room(room, "users"),
            self.room(room, "census"),
            self.room(room, "alive"),
        ]

    def room_keys(self, room: str) -> list[str]:
        """Every fixed key of a room (the idempotency keys too share its slot): what must hash together."""
        parts = (
            "log",
            "meta",
            "extra",
            "gone",
            "presence",
            "users",
            "census",
            "alive",
            "mutes",
            "bans",
            "moderators",
            "roles",
            "modlog",
        )
        return [self.room(room, part) for part in parts] + [self.idempotency(room, "u", "c")]

    def idempotency(self, room: str, user: str, cid: str) -> str:
        digest = hashlib.sha256(json.dumps([user, cid]).encode()).hexdigest()[:32]
        return self.room(room, f"cid:{digest}")

    @functools.cached_property  # read for every pub/sub message: made once
    def room_channel_prefix(self) -> str:
        return f"{self.raw_prefix}chan:room:"

    def channel(self, room: str) -> str:
        return self.room_channel_prefix + self._tag(room)

    def room_of_channel(self, channel: str) -> str | None:
        """The room a room channel carries, None for any other channel."""
        if not channel.startswith(self.room_channel_prefix):
            return None
        room = channel.removeprefix(self.room_channel_prefix)
        return room[1:-1] if self.cluster and room.startswith("{") and room.endswith("}") else room

    @functools.cached_property  # read for every pub/sub message: made once
    def node_channel(self) -> str:
        return f"{self.raw_prefix}chan:node"

    @property
    def heartbeat_prefix(self) -> str:
        return f"{self.prefix}node:"

    @property
    def rooms(self) -> str:
        return f"{self.prefix}rooms"

    @property
    def rooms_order(self) -> str:
        return f"{self.prefix}rooms:order"

    @property
    def glossary(self) -> str:
        return f"{self.prefix}glossary"

    def cache(self, key: str) -> str:
        return f"{self.prefix}cache:{key}"

    @property
    def instances(self) -> str:
        """Hash instance -> ms (Redis' clock) until which the node process counts (open_connection.lua)."""
        return f"{self.prefix}instances"

    def connections(self, user: str) -> str:
        return f"{self.prefix}connections:{user}"

    def limit_bucket(self, user: str) -> str:
        if self.cluster:
            return f"{self.raw_prefix}limit:{{{_digest(user)}}}:bucket"
        return f"{self.prefix}limit:bucket:{user}"

    def limit_slow(self, room: str, user: str) -> str:
        if self.cluster:  # with the user's bucket: take_send.lua takes both in one step
            return f"{self.raw_prefix}limit:{{{_digest(user)}}}:slow:{room}"
        return f"{self.prefix}limit:slow:{room}:{user}"
