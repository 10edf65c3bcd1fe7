"""The conversation store (rooms/stores/conversation_store.py) on Redis: every node sees the same
profiles, members, requests and blocks.

Keys, all under `key_prefix`:
    people, people:hidden          hash user -> profile JSON; set of users hidden from the directory
    people:dir, people:dirkey      the directory index: zset (score 0) of "<name casefolded>\0<id>" of
                                   visible profiles, read in lex order; hash user -> that member
    people:staff, people:anon      set of hosts and moderators; zset anonymous user -> ms last saved or online
    people:find                    hash user -> "<name casefolded>\x1f<organisation casefolded>\x1f<lang>\x1f<country>":
                                   what directory.lua filters by, without decoding profiles
    people:indexed                 set once the index holds the profiles stored before it existed
    online                         zset user -> ms until which some node counts them online
    conv:pair:<pair>               the room id of a 1:1 (SET NX: one per pair, even when two nodes race)
    conv:<room>:members            set of member ids
    user:<id>:convs, user:<id>:read   set of conversation ids; hash room -> read position (message id)
    requests, user:<id>:requests   hash request id -> JSON; set of the ids a user sent or received
    user:<id>:strangers            zset request id -> expiry (ms): requests waiting from people not talked to
    contacts                       set of pair keys of people who accepted a request
    cooldown:<pair of sender, target>   expiring key: no new request until it expires
    blocks:<id>                    set of users this user blocks
    reports:seq                    counter: the `seq` of the last report stored
    reports:data, reports:closed   hash seq -> report JSON; hash seq -> {state, closed} JSON once closed
    reports:all, reports:open      zsets of the kept / the open seqs (score = seq), the paging order
    reports:once, reports:keyof    hash "room\0message\0reporter" -> seq (one report each); its inverse
    reports:msg:<room>\0<message>  set of the seqs of one message's reports (closed together)
    (add_report.lua and close_reports.lua keep them consistent; the list `reports` of versions
    before issue 20 is no longer read)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chat.backend.redis.calls import RedisParts, read_call, write_call
from chat.backend.redis.keys import parse_id
from chat.frames import encode
from rooms.conversations import ContactRequest, DirectoryQuery, Profile, directory_key, pair_key
from rooms.models import Role
from rooms.stores import ConversationStore, now_ms
from rooms.stores.conversation_store import REPORTS_MAX, report_key
from rooms.text import is_scalar_text

DIRECTORY_BUDGET = 5000  # directory entries one script call looks at (Redis runs one script at a time)
EXPIRE_BATCH = 500  # anonymous profiles looked at per script call
UNREAD_BATCH = 100  # stream entries unread.lua reads per XREVRANGE while counting


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
    def _profile_keys(self) -> list[str]:
        return [
            self._key("people"),
            self._key("people", "dirkey"),
            self._key("people", "dir"),
            self._key("people", "hidden"),
            self._key("people", "staff"),
            self._key("people", "anon"),
            self._key("people", "find"),
        ]

    @staticmethod
    def _filtered_by(profile: Profile) -> str:
        """What directory.lua compares: the same fields DirectoryQuery.matches reads."""
        return "\x1f".join((profile.name.casefold(), profile.organization.casefold(), profile.lang, profile.country))

    @staticmethod
    def _listing(profile: Profile) -> str:
        """The profile's member of the directory zset: lex order of these is directory order
        (UTF-8 byte order is code point order, and NUL sorts before every character a name holds)."""
        name, user = directory_key(profile)
        return f"{name}\0{user}"

    async def index_profiles(self) -> int:
        """Build the directory index (people:dir, people:dirkey, people:staff) of the profiles stored
        before it existed, once per Redis (the marker people:indexed); profiles whose text is not
        Unicode (a lone surrogate from a claim older builds accepted) are dropped. How many were indexed."""
        marker = self._key("people", "indexed")
        if await self._redis.exists(marker):
            return 0
        hidden = await self._members(self._key("people", "hidden"))
        indexed = 0
        async with self._redis.pipeline(transaction=False) as pipe:
            async for user, raw in self._redis.hscan_iter(self._key("people"), count=500):
                try:
                    data = json.loads(raw)
                    profile = Profile.from_dict(data)
                    texts = [user, *(value for value in data.values() if isinstance(value, str))]
                except (ValueError, TypeError, KeyError):
                    profile, texts = None, []
                if profile is None or not all(is_scalar_text(text) for text in texts):
                    pipe.hdel(self._key("people"), user)
                    continue
                listing = self._listing(profile)
                pipe.hset(self._key("people", "dirkey"), user, listing)
                pipe.hset(self._key("people", "find"), user, self._filtered_by(profile))
                if user not in hidden:
                    pipe.zadd(self._key("people", "dir"), {listing: 0})
                if profile.role != Role.DELEGATE.value:
                    pipe.sadd(self._key("people", "staff"), user)
                indexed += 1
            pipe.set(marker, 1)
            await pipe.execute()
        return indexed

    @write_call
    async def save_profile(self, profile: Profile) -> None:
        data = profile.to_dict()
        data.pop("hidden")
        await self._scripts["save_profile"](
            keys=self._profile_keys(),
            args=[
                profile.id,
                encode(data),
                self._listing(profile),
                int(profile.role != Role.DELEGATE.value),
                int(profile.anonymous),
                now_ms(),
                self._filtered_by(profile),
            ],
        )

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
        await self._scripts["set_hidden"](
            keys=[self._key("people", "hidden"), self._key("people", "dirkey"), self._key("people", "dir")],
            args=[user, int(hidden)],
        )

    @read_call
    async def directory(self, query: DirectoryQuery, limit: int) -> list[Profile]:
        # directory.lua walks the index (visible profiles in directory order) and filters on people:find
        # inside Redis, at most DIRECTORY_BUDGET entries a call; only the page's profiles are read.
        low = "-" if query.after is None else "(" + "\0".join(query.after)
        page: list[Profile] = []
        while len(page) < limit and low:
            found, low = await self._scripts["directory"](
                keys=[self._key("people", "dir"), self._key("people", "find")],
                args=[low, limit - len(page), query.needle, query.lang, query.country, query.viewer, DIRECTORY_BUDGET],
            )
            if not found:
                continue
            raw = await self._redis.hmget(self._key("people"), [member.partition("\0")[2] for member in found])
            for member, item in zip(found, raw, strict=True):
                profile = Profile.from_dict(json.loads(item)) if item else None
                if profile is not None and self._listing(profile) == member and query.matches(profile):
                    page.append(profile)
        return page

    @read_call
    async def staff(self) -> list[Profile]:
        ids = sorted(await self._members(self._key("people", "staff")))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("people"), ids)
            pipe.smembers(self._key("people", "hidden"))
            raw, hidden = await pipe.execute()
        return [
            Profile.from_dict(json.loads(item)).updated(hidden=user in hidden)
            for user, item in zip(ids, raw, strict=True)
            if item
        ]

    @write_call
    async def expire_profiles(self, before: int) -> list[str]:
        gone: list[str] = []
        while True:
            keys = self._profile_keys()
            batch: list[str] = await self._scripts["expire_profiles"](
                keys=[*keys[:6], self._key("online"), keys[6]], args=[before, now_ms(), EXPIRE_BATCH]
            )
            gone.extend(batch)
            if len(batch) < EXPIRE_BATCH:
                return gone

    @write_call
    async def mark_online(self, users: set[str], until: int) -> None:
        if not users:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._key("online"), {user: until for user in users}, gt=True)
            # an anonymous profile counts as seen while it is online (it expires only without a connection)
            pipe.zadd(self._key("people", "anon"), {user: until for user in users}, xx=True, gt=True)
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

    @read_call
    async def read_position(self, user: str, room: str) -> str | None:
        position: str | None = await self._redis.hget(self._key("user", user, "read"), room)  # type: ignore[assignment]
        return position

    @read_call
    async def unread_count(self, room: str, viewer: str, after: str | None, cap: int) -> int:
        # unread.lua walks the room's stream in Redis and answers only the number (issue 27)
        position = ("", "") if after is None else parse_id(after)
        if position is None:  # not one of our ids: `since` would not recover from it
            return 0
        log, meta, _, _ = self._keys.history(room)
        return int(await self._scripts["unread"](keys=[log, meta], args=[viewer, *position, cap, UNREAD_BATCH]))

    # requests, contacts, cooldowns --------------------------------------------------------
    @write_call
    async def save_request(self, request: ContactRequest, *, incoming_cap: int | None = None) -> bool:
        keys = [
            self._key("requests"),
            self._key("user", request.sender["id"], "requests"),
            self._key("user", request.to, "requests"),
            self._key("user", request.to, "strangers"),
        ]
        stored = await self._scripts["save_request"](
            keys=keys,
            args=[
                request.id,
                encode(request.to_dict()),
                int(request.stranger),
                -1 if incoming_cap is None else incoming_cap,
                request.expires,
                request.ts,
            ],
        )
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

    def _report_keys(self, room: str, message: str) -> list[str]:
        return [self._key("reports", part) for part in ("seq", "data", "all", "open", "once", "keyof", "closed")] + [
            self._key("reports", "msg", f"{room}\0{message}")
        ]

    @write_call
    async def add_report(self, report: dict[str, Any]) -> dict[str, Any]:
        room, message, reporter = report_key(report)
        seq, data, closed = await self._scripts["add_report"](
            keys=self._report_keys(room, message),
            args=[f"{room}\0{message}\0{reporter}", encode(report), REPORTS_MAX, self._key("reports", "msg", "")],
        )
        return _report(int(seq), data, closed)

    @write_call
    async def adopt_old_reports(self) -> int:
        """Reports kept by versions before issue 20 (the capped list `reports`) become reports of the
        keys above, once per reporter and message, and the list goes; how many were adopted. Run at
        start; two nodes starting together adopt each report once (add_report holds one per key)."""
        old = self._key("reports")
        if await self._redis.type(old) != "list":
            return 0
        adopted = 0
        for item in await self._redis.lrange(old, 0, -1):
            try:
                report = json.loads(item)
                report_key(report)
            except (ValueError, KeyError, TypeError):
                continue  # not a report this code can read: left out
            adopted += (await self.add_report(report))["id"] == report.get("id")
        await self._redis.delete(old)
        return adopted

    @read_call
    async def find_report(self, room: str, message_id: str, reporter: str) -> dict[str, Any] | None:
        seq = await self._redis.hget(self._key("reports", "once"), f"{room}\0{message_id}\0{reporter}")
        if seq is None:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key("reports", "data"), seq)
            pipe.hget(self._key("reports", "closed"), seq)
            data, closed = await pipe.execute()
        return None if data is None else _report(int(seq), data, closed)

    @read_call
    async def reports(self, *, after: int = 0, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        seqs: list[str]
        if state in (None, "open"):
            seqs = await self._redis.zrangebyscore(  # type: ignore[assignment]  # decoded strings
                self._key("reports", "all" if state is None else "open"), f"({after}", "+inf", start=0, num=limit
            )
        else:  # closed ones: at most REPORTS_MAX to look through
            seqs = await self._redis.zrangebyscore(  # type: ignore[assignment]  # decoded strings
                self._key("reports", "all"), f"({after}", "+inf"
            )
        if not seqs:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("reports", "data"), seqs)
            pipe.hmget(self._key("reports", "closed"), seqs)
            data, closed = await pipe.execute()
        found = [_report(int(seq), item, shut) for seq, item, shut in zip(seqs, data, closed, strict=True) if item]
        return [report for report in found if state is None or report["state"] == state][:limit]

    @write_call
    async def close_reports(
        self, room: str, message_id: str, state: str, closed: dict[str, Any]
    ) -> list[dict[str, Any]]:
        keys = self._report_keys(room, message_id)
        done = await self._scripts["close_reports"](
            keys=[keys[7], keys[3], keys[6]], args=[encode({"state": state, "closed": closed})]
        )
        if not done:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("reports", "data"), done)
            pipe.hmget(self._key("reports", "closed"), done)
            data, shut = await pipe.execute()
        found = [_report(int(seq), item, info) for seq, item, info in zip(done, data, shut, strict=True) if item]
        return sorted(found, key=lambda report: int(report["seq"]))

    @read_call
    async def open_report_count(self) -> int:
        return int(await self._redis.zcard(self._key("reports", "open")))


def _report(seq: int, data: str, closed: str | None) -> dict[str, Any]:
    """A report as stored: its JSON with `seq`, and `state` (with `closed`) from the closed hash."""
    report: dict[str, Any] = {**json.loads(data), "seq": seq, "state": "open"}
    if closed:
        report.update(json.loads(closed))
    return report
