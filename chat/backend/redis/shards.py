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
Moving slots between live masters (resharding) is not followed while a connection stays up.
Order holds per channel (a room's events, in stream order); a node-wide event and a room's event
travel on two connections, so they may arrive in either order, as they may from two nodes.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Awaitable, Callable

import redis.asyncio
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import AbstractConnection

from chat.backend.redis.calls import REDIS_DOWN_OR_SLOW
from chat.backend.redis.subscriber import MessageHandler, Subscriber


class ShardedSubscriber:
    """The Subscriber interface (start, subscribe, unsubscribe, up, close) over a cluster."""

    def __init__(self, cluster: redis.asyncio.RedisCluster, *, node_channel: str, on_message: MessageHandler,
                 on_connected: Callable[[], Awaitable[None]], ping_interval: float) -> None:
        self._cluster = cluster
        self._node_channel = node_channel
        self._on_message = on_message
        self._on_connected = on_connected
        self._ping_interval = ping_interval
        self._shards: dict[str, Subscriber] = {}  # node name at creation -> its sharded subscriber
        self._lock = asyncio.Lock()
        self._timeout = 10.0
        self._node_wide = Subscriber(self._placeholder(), where="Redis Cluster (node-wide channel)",
                                     on_message=on_message, on_connected=on_connected,
                                     ping_interval=ping_interval, connect=self._connect_any)

    @property
    def up(self) -> bool:
        return self._node_wide.up and all(shard.up for shard in self._shards.values() if shard.channels)

    async def start(self, channels: set[str], timeout: float) -> None:
        """The node-wide channel (`channels`), on any node of the cluster."""
        self._timeout = timeout
        await self._cluster.initialize()
        await self._node_wide.start(channels, timeout)

    async def close(self) -> None:
        for subscriber in [self._node_wide, *self._shards.values()]:
            await subscriber.close()

    async def subscribe(self, channel: str) -> None:
        shard = await self._shard_for(channel)
        await shard.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        for shard in self._shards.values():
            if channel in shard.channels:
                await shard.unsubscribe(channel)

    async def _shard_for(self, channel: str) -> Subscriber:
        """The subscriber of the shard that serves `channel`, started on first use."""
        node = self._cluster.get_node_from_key(channel)
        assert node is not None  # get_node_from_key raises when no node serves the slot
        async with self._lock:
            shard = self._shards.get(node.name)
            if shard is None:
                shard = Subscriber(self._placeholder(), where=f"Redis Cluster shard {node.name}",
                                   on_message=self._on_message, on_connected=self._on_connected,
                                   ping_interval=self._ping_interval, sharded=True,
                                   connect=functools.partial(self._connect_shard, first=node))
                await shard.start({channel}, self._timeout)  # subscribes and waits for the confirmation
                self._shards[node.name] = shard
        return shard

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
        """Read the slot map again (after a break: a failover may have moved the slots)."""
        with contextlib.suppress(*REDIS_DOWN_OR_SLOW, redis.exceptions.RedisClusterException):
            await self._cluster.nodes_manager.initialize()

    async def _connect_shard(self, channels: set[str], first: ClusterNode) -> AbstractConnection:
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
