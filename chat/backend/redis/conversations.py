"""The conversation store (rooms/stores/conversation_store.py) on Redis: every node sees the same
profiles, members, requests and blocks.

Keys, all under `key_prefix`:
    people, people:hidden          hash user -> profile JSON; set of users hidden from the directory
    online                         zset user -> ms until which some node counts them online
    conv:pair:<pair>               the room id of a 1:1 (SET NX: one per pair, even when two nodes race)
    conv:<room>:members            set of member ids
    user:<id>:convs, user:<id>:read   set of conversation ids; hash room -> read position (message id)
    requests, user:<id>:requests   hash request id -> JSON; set of the ids a user sent or received
    user:<id>:strangers            zset request id -> expiry (ms): requests waiting from people not talked to
    contacts                       set of pair keys of people who accepted a request
    cooldown:<pair of sender, target>   expiring key: no new request until it expires
    blocks:<id>                    set of users this user blocks
    reports                        list of report JSON, capped
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from chat.backend.redis.calls import RedisParts, read_call, write_call
from chat.frames import encode
from rooms.conversations import ContactRequest, Profile, pair_key
from rooms.stores import ConversationStore, now_ms
from rooms.stores.conversation_store import REPORTS_MAX


class RedisConversations(RedisParts, ConversationStore):
    def _key(self, *parts: str) -> str:
        return self._keys.prefix + ":".join(parts)

    # The client decodes responses (decode_responses=True): these say so to the type checker.
    async def _members(self, key: str) -> set[str]:
        members: set[str] = await self._redis.smembers(key)  # type: ignore[assignment]
        return members

    async def _text(self, key: str) -> str | None:
        value: str | None = await self._redis.get(key)  # type: ignore[assignment]
        return value

    # profiles -----------------------------------------------------------------------
    @write_call
    async def save_profile(self, profile: Profile) -> None:
        data = profile.to_dict()
        data.pop("hidden")
        await self._redis.hset(self._key("people"), profile.id, encode(data))

    @read_call
    async def profiles(self, ids: list[str] | None = None) -> list[Profile]:
        if ids is not None and not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            if ids is None:
                pipe.hvals(self._key("people"))
            else:
                pipe.hmget(self._key("people"), ids)
            pipe.smembers(self._key("people", "hidden"))
            raw, hidden = await pipe.execute()
        profiles = [Profile.from_dict(json.loads(item)) for item in raw if item]
        return [profile.updated(hidden=profile.id in hidden) for profile in profiles]

    @write_call
    async def set_hidden(self, user: str, hidden: bool) -> None:
        key = self._key("people", "hidden")
        await (self._redis.sadd(key, user) if hidden else self._redis.srem(key, user))

    @write_call
    async def mark_online(self, users: set[str], until: int) -> None:
        if not users:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._key("online"), {user: until for user in users}, gt=True)
            pipe.zremrangebyscore(self._key("online"), 0, now_ms() - 60_000)
            await pipe.execute()

    @read_call
    async def online(self, users: list[str]) -> set[str]:
        if not users:
            return set()
        scores = await self._redis.zmscore(self._key("online"), users)
        now = now_ms()
        return {user for user, until in zip(users, scores, strict=False) if until is not None and until > now}

    # conversations --------------------------------------------------------------------
    @write_call
    async def claim_pair(self, pair: str, room: str) -> str:
        key = self._key("conv", "pair", pair)
        if await self._redis.set(key, room, nx=True):
            return room
        return await self._text(key) or room

    @write_call
    async def release_pair(self, pair: str, room: str) -> None:
        key = self._key("conv", "pair", pair)
        if await self._text(key) == room:
            await self._redis.delete(key)

    @write_call
    async def add_conversation_members(self, room: str, users: list[str]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._key("conv", room, "members"), *users)
            for user in users:
                pipe.sadd(self._key("user", user, "convs"), room)
            await pipe.execute()

    @write_call
    async def leave_conversation(self, room: str, user: str) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._key("conv", room, "members"), user)
            pipe.srem(self._key("user", user, "convs"), room)
            pipe.hdel(self._key("user", user, "read"), room)
            pipe.scard(self._key("conv", room, "members"))
            *_, remaining = await pipe.execute()
        return int(remaining)

    @read_call
    async def conversation_members(self, room: str) -> set[str]:
        return await self._members(self._key("conv", room, "members"))

    @read_call
    async def conversations_of(self, user: str) -> list[str]:
        return sorted(await self._members(self._key("user", user, "convs")))

    @write_call
    async def set_read(self, room: str, user: str, message_id: str) -> None:
        await self._redis.hset(self._key("user", user, "read"), room, message_id)

    @read_call
    async def read_positions(self, user: str) -> dict[str, str]:
        positions: dict[str, str] = await self._redis.hgetall(self._key("user", user, "read"))  # type: ignore[assignment]
        return positions

    # requests, contacts, cooldowns --------------------------------------------------------
    @write_call
    async def save_request(self, request: ContactRequest, *, incoming_cap: int | None = None) -> bool:
        keys = [self._key("requests"), self._key("user", request.sender["id"], "requests"),
                self._key("user", request.to, "requests"), self._key("user", request.to, "strangers")]
        stored = await self._scripts["save_request"](keys=keys, args=[
            request.id, encode(request.to_dict()), int(request.stranger),
            -1 if incoming_cap is None else incoming_cap, request.expires, request.ts])
        return bool(stored)

    @read_call
    async def get_request(self, request_id: str) -> ContactRequest | None:
        raw = await self._redis.hget(self._key("requests"), request_id)
        return ContactRequest.from_dict(json.loads(raw)) if raw else None

    @write_call
    async def delete_request(self, request: ContactRequest) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("requests"), request.id)
            for user in (request.sender["id"], request.to):
                pipe.srem(self._key("user", user, "requests"), request.id)
            pipe.zrem(self._key("user", request.to, "strangers"), request.id)
            removed, *_ = await pipe.execute()
        return bool(removed)

    @read_call
    async def requests_of(self, user: str) -> list[ContactRequest]:
        ids = sorted(await self._members(self._key("user", user, "requests")))
        if not ids:
            return []
        raw = await self._redis.hmget(self._key("requests"), ids)
        return [ContactRequest.from_dict(json.loads(item)) for item in raw if item]

    @write_call
    async def add_contact(self, a: str, b: str) -> None:
        await self._redis.sadd(self._key("contacts"), pair_key(a, b))

    @write_call
    async def remove_contact(self, a: str, b: str) -> None:
        await self._redis.srem(self._key("contacts"), pair_key(a, b))

    @read_call
    async def is_contact(self, a: str, b: str) -> bool:
        return bool(await self._redis.sismember(self._key("contacts"), pair_key(a, b)))

    def _cooldown_key(self, sender: str, target: str) -> str:
        return self._key("cooldown", hashlib.sha256(json.dumps([sender, target]).encode()).hexdigest()[:32])

    @write_call
    async def set_cooldown(self, sender: str, target: str, until: int) -> None:
        ttl = until - now_ms()
        if ttl > 0:
            await self._redis.set(self._cooldown_key(sender, target), until, px=ttl)

    @read_call
    async def cooldown(self, sender: str, target: str) -> int | None:
        raw = await self._text(self._cooldown_key(sender, target))
        return int(raw) if raw and int(raw) > now_ms() else None

    # blocks and reports -------------------------------------------------------------------
    @write_call
    async def set_block(self, user: str, other: str, blocked: bool) -> bool:
        key = self._key("blocks", user)
        return bool(await (self._redis.sadd(key, other) if blocked else self._redis.srem(key, other)))

    @read_call
    async def blocked_by(self, user: str) -> set[str]:
        return await self._members(self._key("blocks", user))

    @write_call
    async def add_report(self, report: dict[str, Any]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._key("reports"), encode(report))
            pipe.ltrim(self._key("reports"), -REPORTS_MAX, -1)
            await pipe.execute()

    @read_call
    async def reports(self, limit: int = 200) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        return [json.loads(item) for item in await self._redis.lrange(self._key("reports"), -limit, -1)]
