"""Pub/sub on Redis Cluster: a room's channel on its shard (sharded pub/sub), node-wide events on one.

A room's channel shares its keys' hash tag, so it lives on the shard that stores the room, and
the scripts SPUBLISH to it there: room traffic spreads over the shards instead of every shard
relaying every message (classic PUBLISH on a cluster goes to every node). A node holds one
sharded subscription connection per shard it has rooms on, and one classic connection, to any
node, for the node-wide channel (rarely used: room saves, event-wide notices).

Each connection is a subscriber.Subscriber: after a break it asks again which node serves its
channels (the cluster's slot map is refreshed first), so a failover, which moves all of a dead
master's slots to its promoted replica, is survived as a Redis restart is: reconnect,
resubscribe, re-register presence, replay what was missed (`on_connected`).

Resharding moves a slot between live masters: the old master drops the slot's channels with an
unasked SUNSUBSCRIBE when the move ends (and answers a SSUBSCRIBE with MOVED), while the room's
scripts already run, and SPUBLISH, on the new one. A dropped channel is subscribed again on the
master the refreshed slot map names (`_move`), its live messages are held back, the owner's
`on_moved` replays what the room missed in between (from history, in order, once), and then
the held messages are released: a reshard costs a room a pause, never a message.

Order holds per channel (a room's events, in stream order); a node-wide event and a room's event
travel on two connections, so they may arrive in either order, as they may from two nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Awaitable, Callable

import redis.asyncio
import redis.exceptions
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import AbstractConnection

from chat.backend.redis.calls import REDIS_DOWN_OR_SLOW
from chat.backend.redis.subscriber import BACKOFF_MAX, BACKOFF_MIN, ChannelMoved, MessageHandler, Subscriber
from rooms.stores import BackendUnavailable

log = logging.getLogger("babelroom.backend.redis")

PLACE_ATTEMPTS = 5  # slot map refreshes a subscription follows (MOVED after MOVED) before giving up
# what may interrupt following a moved channel (Redis away, the slot moving on, a slot no master
# serves for a moment): try again
FOLLOW_FAILED: tuple[type[Exception], ...] = (
    BackendUnavailable,
    *REDIS_DOWN_OR_SLOW,
    redis.exceptions.RedisError,
    redis.exceptions.RedisClusterException,
)
Moved = Callable[[str], Awaitable[None]]  # a channel subscribed again elsewhere -> replay what it missed


class ShardedSubscriber:
    """The Subscriber interface (start, subscribe, unsubscribe, up, close) over a cluster."""

    def __init__(
        self,
        cluster: redis.asyncio.RedisCluster,
        *,
        node_channel: str,
        on_message: MessageHandler,
        on_connected: Callable[[], Awaitable[None]],
        on_moved: Moved,
        ping_interval: float,
    ) -> None:
        self._cluster = cluster
        self._node_channel = node_channel
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_moved = on_moved
        self._ping_interval = ping_interval
        self._shards: dict[str, Subscriber] = {}  # node name at creation -> its sharded subscriber
        self._wanted: set[str] = set()  # the shard channels subscribed to, wherever they are
        self._holding: dict[str, list[str]] = {}  # channel moving to another shard -> its messages meanwhile
        self._moves: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._timeout = 10.0
        self._node_wide = Subscriber(
            self._placeholder(),
            where="Redis Cluster (node-wide channel)",
            on_message=on_message,
            on_connected=on_connected,
            ping_interval=ping_interval,
            connect=self._connect_any,
        )

    @property
    def up(self) -> bool:
        return self._node_wide.up and all(shard.up for shard in self._shards.values() if shard.channels)

    async def start(self, channels: set[str], timeout: float) -> None:
        """The node-wide channel (`channels`), on any node of the cluster."""
        self._timeout = timeout
        await self._cluster.initialize()
        await self._node_wide.start(channels, timeout)

    async def close(self) -> None:
        for task in list(self._moves):
            task.cancel()
        await asyncio.gather(*self._moves, return_exceptions=True)
        for subscriber in [self._node_wide, *self._shards.values()]:
            await subscriber.close()

    async def subscribe(self, channel: str) -> None:
        self._wanted.add(channel)
        try:
            await self._place(channel)
        except BaseException:
            self._wanted.discard(channel)
            raise

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        for shard in self._shards.values():
            if channel in shard.channels:
                await shard.unsubscribe(channel)

    async def _place(self, channel: str) -> None:
        """Subscribe `channel` on the master that serves its slot, following MOVED answers."""
        for attempt in range(PLACE_ATTEMPTS):
            if attempt:
                await self._refresh()
            node = self._cluster.get_node_from_key(channel)
            assert node is not None  # get_node_from_key raises when no node serves the slot
            for other in self._shards.values():  # where it was before a move (nothing is sent there)
                if channel in other.channels and other is not self._shards.get(node.name):
                    await other.unsubscribe(channel)
            try:
                await self._shard_at(node, channel)
                return
            except ChannelMoved:
                continue
        raise BackendUnavailable(f"no master of the Redis Cluster took the subscription to {channel}")

    async def _shard_at(self, node: ClusterNode, channel: str) -> Subscriber:
        """Subscribe `channel` with the subscriber of `node`, started on first use."""
        async with self._lock:
            shard = self._shards.get(node.name)
            if shard is None:
                shard = Subscriber(
                    self._placeholder(),
                    where=f"Redis Cluster shard {node.name}",
                    on_message=self._message,
                    on_connected=self._on_connected,
                    ping_interval=self._ping_interval,
                    sharded=True,
                    on_dropped=self._dropped,
                    connect=functools.partial(self._connect_shard, first=node),
                )
                await shard.start(set(), self._timeout)
                self._shards[node.name] = shard
        await shard.subscribe(channel)  # waits for the confirmation; ChannelMoved when MOVED
        return shard

    # a channel whose slot moved ---------------------------------------------------------
    def _message(self, channel: str, payload: str) -> None:
        held = self._holding.get(channel)
        if held is not None:
            held.append(payload)
        else:
            self._on_message(channel, payload)

    def _dropped(self, channel: str) -> None:
        """A shard connection lost `channel` (its slot moved): follow it, unless it is moving already."""
        if channel not in self._wanted or channel in self._holding:
            return
        self._holding[channel] = []
        task = asyncio.create_task(self._move(channel), name="redis-shard-move")
        self._moves.add(task)
        task.add_done_callback(self._moves.discard)

    async def _move(self, channel: str) -> None:
        """Subscribe again where the slot lives now, replay what the room missed, release what came meanwhile."""
        try:
            delay = BACKOFF_MIN
            while channel in self._wanted:
                try:
                    await self._refresh()
                    await self._place(channel)
                    if channel not in self._wanted:  # the room was left meanwhile
                        await self.unsubscribe(channel)
                        break
                    await self._on_moved(channel)
                    log.info("followed %s to the Redis Cluster master its slot moved to", channel)
                    break
                except FOLLOW_FAILED as exc:
                    log.debug("following %s to its new shard: %s; trying again", channel, exc)
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, BACKOFF_MAX)
        finally:
            held = self._holding.pop(channel, [])
            if channel in self._wanted:
                for payload in held:
                    self._on_message(channel, payload)

    # connections -------------------------------------------------------------------
    @staticmethod
    def _placeholder() -> AbstractConnection:
        """A connection object for the Subscriber to hold until `connect` gives the real one (it
        is never connected: `connect` runs before every attempt)."""
        return redis.asyncio.Connection()

    @staticmethod
    def _connection_to(node: ClusterNode) -> AbstractConnection:
        return node.connection_class(**node.connection_kwargs)

    async def _refresh(self) -> None:
        """Read the slot map again (after a break or a MOVED: a failover or a reshard moved slots)."""
        with contextlib.suppress(*REDIS_DOWN_OR_SLOW, redis.exceptions.RedisClusterException):
            await self._cluster.nodes_manager.initialize()

    async def _connect_shard(self, channels: set[str], first: ClusterNode) -> AbstractConnection:
        """The master of the first channel's slot (the others, if their slots moved elsewhere
        meanwhile, are answered MOVED and follow their slots)."""
        if not channels:
            return self._connection_to(first)
        await self._refresh()
        node = self._cluster.get_node_from_key(sorted(channels)[0])
        return self._connection_to(node or first)

    async def _connect_any(self, channels: set[str]) -> AbstractConnection:
        if self._node_wide.up is False and self._cluster.get_nodes():
            await self._refresh()
        primaries = self._cluster.get_primaries()
        node = random.choice(primaries) if primaries else self._cluster.get_random_node()
        return self._connection_to(node)
