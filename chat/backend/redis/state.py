"""Room and moderation state: small keys read and written directly (RoomStore, ModerationStore)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from chat.backend.redis.calls import RedisParts, SharedRedis, read_call, write_call
from chat.frames import encode
from rooms import Role, Room
from rooms.conversations import EVENT_WIDE
from rooms.stores import ModerationEntry, ModerationStore, Mute, RoomStore, Standing, now_ms
from rooms.stores.events import RoomSaved, encode_event

MODERATION_LOG_MAX = 1000  # entries kept per room


class RedisRooms(RedisParts, RoomStore):
    """The rooms, and this node's copy of those it read (the send path reads a room per message).

    A copy is only used while the pub/sub connection is up: every save publishes RoomSaved on
    the node channel in the same transaction, and each node drops its copy when that arrives
    (`forget_room`); a reconnect drops them all, since notices may have been missed meanwhile.
    Redis sends the notice before it answers the save, so a node sees another's save as soon as
    it has read its pub/sub connection, and its own saves at once."""

    def __init__(self, shared: SharedRedis, copies_valid: Callable[[], bool]) -> None:
        super().__init__(shared)
        self._room_copies_valid = copies_valid  # True while every save's notice reaches this node (pub/sub is up)
        self._configured_rooms: tuple[Room, ...] = ()
        self._room_copies: dict[str, Room] = {}
        self._room_generation = 0  # bumped by every forget: a read that began before one caches nothing

    def forget_room(self, room: str | None) -> None:
        """Drop this node's copy of a room (of every room when None): it was saved somewhere."""
        self._room_generation += 1
        if room is None:
            self._room_copies.clear()
        else:
            self._room_copies.pop(room, None)

    @write_call
    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        self._configured_rooms = tuple(rooms)  # seeded again after a reconnect: Redis may have lost them
        await self._seed(self._configured_rooms)

    async def seed_again(self) -> None:
        """Seed the configured rooms again (after a reconnect, or when the presence records were
        lost): Redis may have restarted empty."""
        await self._seed(self._configured_rooms)

    async def _seed(self, rooms: tuple[Room, ...]) -> None:
        if not rooms:
            return
        self.forget_room(None)  # Redis may have lost what the copies were read from
        async with self._redis.pipeline(transaction=True) as pipe:
            for position, room in enumerate(rooms):
                pipe.hsetnx(self._keys.rooms, room.id, encode(room.to_dict()))
                # configured rooms list first, in config order; rooms opened later follow by time
                pipe.zadd(self._keys.rooms_order, {room.id: position}, nx=True)
            await pipe.execute()

    @read_call
    async def list_rooms(self) -> list[Room]:
        stored, order = await self._room_records()
        if any(room.id not in stored for room in self._configured_rooms):
            # Redis lost its data (an empty restart) and the heartbeat has not re-seeded yet
            await self._seed(self._configured_rooms)
            stored, order = await self._room_records()
        ordered = [room for room in order if room in stored] + sorted(set(stored) - set(order))
        return [Room.from_dict(json.loads(stored[room])) for room in ordered]

    async def _room_records(self) -> tuple[dict[str, str], list[str]]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.rooms)
            pipe.zrange(self._keys.rooms_order, 0, -1)
            stored, order = await pipe.execute()
        return stored, order

    async def get_room(self, room: str) -> Room | None:
        copy = self._room_copies.get(room)
        if copy is not None and self._room_copies_valid():
            return copy
        generation = self._room_generation
        found = await self._read_room(room)
        if found is not None and generation == self._room_generation and self._room_copies_valid():
            self._room_copies[room] = found
        return found

    @read_call
    async def _read_room(self, room: str) -> Room | None:
        raw = await self._redis.hget(self._keys.rooms, room)
        if not raw and any(configured.id == room for configured in self._configured_rooms):
            # a configured room always exists: missing means Redis restarted empty moments ago
            await self._seed(self._configured_rooms)
            raw = await self._redis.hget(self._keys.rooms, room)
        return Room.from_dict(json.loads(raw)) if raw else None

    @write_call
    async def save_room(self, room: Room) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.rooms, room.id, encode(room.to_dict()))
            pipe.zadd(self._keys.rooms_order, {room.id: time.time() * 1000}, nx=True)
            if not self._keys.cluster:
                pipe.publish(self._keys.node_channel, encode_event(RoomSaved(id=room.id)))
            await pipe.execute()
        if self._keys.cluster:  # a cluster transaction holds keyed commands only: the notice follows it
            await self._redis.publish(self._keys.node_channel, encode_event(RoomSaved(id=room.id)))
        self.forget_room(room.id)

    @read_call
    async def get_glossary(self) -> list[str] | None:
        raw = await self._redis.get(self._keys.glossary)
        return [str(term) for term in json.loads(raw)] if raw else None

    @write_call
    async def set_glossary(self, terms: list[str]) -> None:
        await self._redis.set(self._keys.glossary, json.dumps(list(terms), ensure_ascii=False))


class RedisModeration(RedisParts, ModerationStore):
    @read_call
    async def standing(self, room: str, user: str) -> Standing:
        keys = self._keys
        in_room = [keys.room(room, "moderators"), keys.room(room, "bans")]
        event_wide = [keys.room(EVENT_WIDE, "bans")]
        mutes = [keys.room(room, "mutes"), keys.room(EVENT_WIDE, "mutes")]
        if not keys.cluster:
            appointed, banned, banned_event, mute, mute_event = await self._scripts["standing"](
                keys=[*in_room, *event_wide, *mutes], args=[user, now_ms()]
            )
        else:  # the room's keys and the event-wide ones live in two slots: one step for each, at once
            (appointed, banned, _, mute, _), (_, _, banned_event, _, mute_event) = await asyncio.gather(
                self._scripts["standing"](keys=[*in_room, in_room[1], mutes[0], mutes[0]], args=[user, now_ms()]),
                self._scripts["standing"](
                    keys=[event_wide[0], event_wide[0], event_wide[0], mutes[1], mutes[1]], args=[user, now_ms()]
                ),
            )
        return standing_of([appointed, banned, banned_event, mute, mute_event])

    @read_call
    async def get_mute(self, room: str, user: str) -> Mute | None:
        return _mute(await self._scripts["get_mute"](keys=[self._keys.room(room, "mutes")], args=[user, now_ms()]))

    @write_call
    async def set_mute(self, room: str, user: str, until: int | None) -> None:
        await self._redis.hset(self._keys.room(room, "mutes"), user, "" if until is None else str(until))

    @write_call
    async def clear_mute(self, room: str, user: str) -> bool:
        return bool(await self._redis.hdel(self._keys.room(room, "mutes"), user))

    @read_call
    async def is_banned(self, room: str, user: str) -> bool:
        return bool(await self._redis.sismember(self._keys.room(room, "bans"), user))

    @write_call
    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        key = self._keys.room(room, "bans")
        changed = await (self._redis.sadd(key, user) if banned else self._redis.srem(key, user))
        return bool(changed)

    @read_call
    async def moderators(self, room: str) -> set[str]:
        appointed: set[str] = await self._redis.smembers(self._keys.room(room, "moderators"))  # type: ignore[assignment]
        return set(appointed)

    @write_call
    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        key = self._keys.room(room, "moderators")
        changed = await (self._redis.sadd(key, user) if appointed else self._redis.srem(key, user))
        return bool(changed)

    @write_call
    async def remember_role(self, room: str, user: str, role: Role) -> None:
        await self._scripts["remember_role"](keys=[self._keys.room(room, "roles")], args=[user, role.value])

    @read_call
    async def known_role(self, room: str, user: str) -> Role | None:
        raw = await self._redis.hget(self._keys.room(room, "roles"), user)
        return Role(raw) if raw else None

    @write_call
    async def record_moderation(self, room: str, entry: ModerationEntry) -> None:
        await self._redis.xadd(
            self._keys.room(room, "modlog"), {"e": encode(entry)}, maxlen=MODERATION_LOG_MAX, approximate=False
        )

    @read_call
    async def moderation_log(self, room: str, limit: int = 200) -> list[ModerationEntry]:
        if limit <= 0:
            return []
        entries: list[tuple[str, dict[str, str]]] = await self._redis.xrevrange(  # type: ignore[assignment]
            self._keys.room(room, "modlog"), count=limit
        )
        return [json.loads(fields["e"]) for _, fields in reversed(entries)]


def standing_of(answer: list[Any]) -> Standing:
    """A Standing from standing.lua's five answers (appointed, banned, banned event-wide, mutes)."""
    appointed, banned, banned_event, mute, mute_event = answer
    return Standing(
        appointed=bool(appointed),
        banned=bool(banned),
        banned_event=bool(banned_event),
        mute=_mute(mute),
        mute_event=_mute(mute_event),
    )


def _mute(until: str | bool | None) -> Mute | None:
    """A mute as the scripts answer it: false (none: nil in RESP2), '' (until unmuted) or its end in ms."""
    if until is None or until is False:
        return None
    return Mute(int(until) if until else None)
