"""Presence and heartbeats: who is in a room, on which live node process.

One hash per room of connection records, each naming its node process (instance); an instance
counts in a room while the room's alive hash says so (a stamp presence_ttl ahead, refreshed by
its heartbeat every ttl/3: a key of the room, so every presence script touches one slot on Redis
Cluster). The heartbeat also reaps the records of processes that died, announcing their users'
`leave` once; its own key (node:<instance>) tells a node that Redis lost its data.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable

import redis.asyncio
import redis.exceptions
from redis.typing import EncodableT

from chat.backend.redis.calls import REDIS_DOWN, read_call, write_call
from chat.backend.redis.keys import Keys
from chat.backend.redis.rows import member, member_of, presence_event
from chat.backend.redis.scripts import LeanScript
from chat.frames import encode
from rooms.stores import BackendUnavailable, Event, Member, Presence

log = logging.getLogger("babelroom.backend.redis")

# failures the heartbeat waits out: the subscriber logs the outage and restores presence after it;
# on Redis Cluster a slot moving between masters (TRYAGAIN, redirections running out) or a failover
_PASSING: tuple[type[Exception], ...] = (
    *REDIS_DOWN,
    BackendUnavailable,
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
)
Announce = Callable[[str, Event], Awaitable[None]]

#: Rooms the heartbeat reaps in one script call on one Redis: each costs a few Redis calls and its
#: members' records, and the script holds Redis while it runs.
REAP_CHUNK = 50


class RedisPresence(Presence):
    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        scripts: dict[str, LeanScript],
        slots: asyncio.Semaphore,
        *,
        instance: str,
        node_id: str,
        ttl: int,
        announce: Announce,
        rooms: Callable[[], Iterable[str]],
        on_lost: Callable[[], Awaitable[None]],
        rooms_per_reap: int = 1,
    ) -> None:
        """`announce` publishes a presence event; `rooms` are the rooms to reap (this node's);
        `on_lost` runs after Redis lost this node's records (it seeds the rooms again);
        `rooms_per_reap`: rooms the heartbeat reaps in one script call (1 on Redis Cluster, where
        each room's keys are in a slot of their own; REAP_CHUNK on one Redis)."""
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._slots = slots
        # Records name this process (a hex id), not the node id: a node restarted under the same
        # id must not revive the records its previous life left behind.
        self._instance = instance
        self._node_id = node_id
        self._ttl = ttl
        self._announce = announce
        self._rooms = rooms
        self._on_lost = on_lost
        self._rooms_per_reap = max(1, rooms_per_reap)
        self._local: dict[str, dict[str, Member]] = {}  # this node's presence, rewritten after a loss
        self._unremoved: dict[str, dict[str, Member]] = {}  # connections that left while Redis was away
        self._connections: dict[str, str] = {}  # connection -> user, counted by open_connection
        self._uncounted: dict[str, str] = {}  # connection -> user, closed while Redis was away
        self._heartbeat: asyncio.Task[None] | None = None

    # the interface ---------------------------------------------------------------
    @write_call
    async def add_member(self, room: str, member: Member) -> bool:
        self._local.setdefault(room, {})[member.conn] = member
        self._unremoved.get(room, {}).pop(member.conn, None)
        return await self._register(room, member)

    @write_call
    async def remove_member(self, room: str, member: Member) -> bool:
        # Forget locally first: a connection that is gone must not be rewritten after a reconnect.
        local = self._local.get(room, {})
        local.pop(member.conn, None)
        if not local:
            self._local.pop(room, None)
        try:
            return await self._unregister(room, member)
        except REDIS_DOWN:
            # This node is alive, so the record would never expire: remove it once Redis is back.
            self._unremoved.setdefault(room, {})[member.conn] = member
            raise

    @read_call
    async def census(self, room: str) -> dict[str, int]:
        counts = await self._redis.hgetall(self._keys.presence(room)[2])
        return {str(lang): int(n) for lang, n in sorted(counts.items()) if int(n) > 0}

    @read_call
    async def members(self, room: str) -> list[Member]:
        records = await self._scripts["members"](keys=self._keys.presence(room), args=[])
        return [member_of(record) for record in json.loads(records)]

    @write_call
    async def open_connection(self, user: str, conn: str, most: int) -> bool:
        counted = await self._scripts["open_connection"](
            keys=[self._keys.connections(user), self._keys.instances], args=[self._instance, self._field(conn), most]
        )
        if counted:
            self._connections[conn] = user
        return bool(counted)

    @write_call
    async def close_connection(self, user: str, conn: str) -> None:
        if self._connections.pop(conn, None) is None:
            return
        try:
            await self._redis.hdel(self._keys.connections(user), self._field(conn))
        except REDIS_DOWN:
            # This node is alive, so the field would keep counting: remove it once Redis is back.
            self._uncounted[conn] = user
            raise

    # records -------------------------------------------------------------------------
    def _field(self, conn: str) -> str:
        """A connection's field in a room's presence hash: the scripts read its instance from it."""
        return f"{self._instance} {conn}"

    async def _register(self, room: str, member: Member) -> bool:
        record = encode({"conn": member.conn, **member.public()})
        first = await self._scripts["add_member"](
            keys=self._keys.presence(room),
            args=[self._instance, self._field(member.conn), member.id, record, self._ttl * 1000],
        )
        return bool(first)

    async def _unregister(self, room: str, member: Member) -> bool:
        last = await self._scripts["remove_member"](
            keys=self._keys.presence(room), args=[self._instance, self._field(member.conn), member.id]
        )
        return bool(last)

    async def remove_unremoved(self) -> None:
        """Remove the records of connections that closed while Redis was away, announcing leaves."""
        for conn, user in list(self._uncounted.items()):
            await self._redis.hdel(self._keys.connections(user), self._field(conn))
            self._uncounted.pop(conn, None)
        for room, members in list(self._unremoved.items()):
            for conn, gone in list(members.items()):
                if await self._unregister(room, gone):
                    await self._announce(room, presence_event(room, "leave", gone))
                members.pop(conn, None)
            if not members:
                self._unremoved.pop(room, None)

    async def forget_all(self) -> None:
        """A clean shutdown: this node's records go now instead of when its heartbeat expires."""
        for records in (self._local, self._unremoved):
            for room, members in list(records.items()):
                for gone in list(members.values()):
                    await self._unregister(room, gone)
                await self._redis.hdel(self._keys.room(room, "alive"), self._instance)
        for conn, user in [*self._connections.items(), *self._uncounted.items()]:
            await self._redis.hdel(self._keys.connections(user), self._field(conn))
        await self._redis.hdel(self._keys.instances, self._instance)
        await self._redis.delete(self._keys.heartbeat_prefix + self._instance)

    # heartbeat -----------------------------------------------------------------------
    def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="redis-heartbeat")

    async def stop(self) -> None:
        if self._heartbeat:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)

    async def _heartbeat_loop(self) -> None:
        """Keep this node's presence alive, and clear the records of nodes that died."""
        interval = self._ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.beat()
                await self.remove_unremoved()
                await self._reap()
            except _PASSING:
                pass
            except Exception:  # the heartbeat must outlive any one failure
                log.exception("presence heartbeat failed")

    async def beat(self) -> None:
        """Refresh the heartbeat. If it had vanished, Redis lost its data (or this node stalled past
        the TTL and other nodes dropped its records): write this node's presence and the
        configured rooms again."""
        previous = await self._redis.set(
            self._keys.heartbeat_prefix + self._instance, self._node_id, ex=self._ttl, get=True
        )
        await self._scripts["beat"](keys=[self._keys.instances], args=[self._instance, self._ttl * 1000])
        if previous is None:
            await self._rewrite()
            await self._on_lost()

    async def _rewrite(self) -> None:
        for conn, user in list(self._connections.items()):  # counted again: Redis lost the count
            await self._redis.hset(self._keys.connections(user), self._field(conn), 1)
        for room, members in list(self._local.items()):
            for present in list(members.values()):
                if await self._register(room, present):
                    # other nodes may have announced this user's leave when its records vanished
                    await self._announce(room, presence_event(room, "join", present))

    async def _reap(self) -> None:
        # a room where this node has members is refreshed even before it is subscribed to
        rooms = sorted({*self._rooms(), *self._local})
        args: list[EncodableT] = [self._instance, self._ttl * 1000]
        for start in range(0, len(rooms), self._rooms_per_reap):
            chunk = rooms[start : start + self._rooms_per_reap]
            if len(chunk) == 1:
                reaped = [await self._scripts["reap"](keys=self._keys.presence(chunk[0]), args=args)]
            else:  # one call for the chunk: a node in 500 rooms made 100 calls a second doing nothing (issue 27)
                keys = [key for room in chunk for key in self._keys.presence(room)]
                reaped = await self._scripts["reap_rooms"](keys=keys, args=args)
            for room, gone in zip(chunk, reaped, strict=True):
                for raw in gone:
                    left = member(raw)
                    log.info("room %s: %s left with a node that stopped answering", room, left.id)
                    await self._announce(room, presence_event(room, "leave", left))
