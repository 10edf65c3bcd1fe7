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
    connections:<user>  Hash: "<instance> <connection id>" -> 1, the user's open sockets ([limits]
                        connections_per_user); a dead instance's fields are dropped when counted
    cache:<key>         shared translation cache, TTL 7 days
    limit:bucket:<user>         Hash t (tokens left), s (ms of the last refill); expires once refilled
    limit:slow:<room>:<user>    exists while the user must wait under slow mode; its PTTL is the wait
    chan:room:<id>, chan:node   pub/sub channels

A message id is "<epoch>.<stream id>"; ts is the stream id's milliseconds (Redis' clock).
Scripts reach heartbeat keys they were not passed, so this needs one Redis (or a primary with
replicas), not Redis Cluster.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from chat.backend.ids import parse_stream_id

StreamKey = tuple[int, int]


def stream_key(stream_id: str) -> StreamKey:
    """A stream id as numbers, which order correctly (the strings do not)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


def parse_id(message_id: str | None) -> tuple[str, str] | None:
    """(epoch, stream id) of one of our message ids, or None (chat.backend.ids has the exact shape)."""
    return parse_stream_id(message_id)


@dataclass(frozen=True)
class Keys:
    """Every key and channel name, all under the configured prefix."""

    prefix: str

    def room(self, room: str, part: str) -> str:
        return f"{self.prefix}room:{room}:{part}"

    def history(self, room: str) -> list[str]:
        """The keys the history scripts take, in their order: log, meta, extra, gone."""
        return [self.room(room, part) for part in ("log", "meta", "extra", "gone")]

    def presence(self, room: str) -> list[str]:
        """The keys the presence scripts take, in their order: presence, users, census."""
        return [self.room(room, "presence"), self.room(room, "users"), self.room(room, "census")]

    def idempotency(self, room: str, user: str, cid: str) -> str:
        digest = hashlib.sha256(json.dumps([user, cid]).encode()).hexdigest()[:32]
        return self.room(room, f"cid:{digest}")

    @property
    def room_channel_prefix(self) -> str:
        return f"{self.prefix}chan:room:"

    def channel(self, room: str) -> str:
        return self.room_channel_prefix + room

    @property
    def node_channel(self) -> str:
        return f"{self.prefix}chan:node"

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

    def connections(self, user: str) -> str:
        return f"{self.prefix}connections:{user}"

    def limit_bucket(self, user: str) -> str:
        return f"{self.prefix}limit:bucket:{user}"

    def limit_slow(self, room: str, user: str) -> str:
        return f"{self.prefix}limit:slow:{room}:{user}"
