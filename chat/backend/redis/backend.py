"""The redis backend: many nodes share rooms, history, presence and moderation state through Redis.

This module holds the lifecycle: it builds the store objects on one SharedRedis, starts and stops
them, and after a reconnect restores what Redis may have lost. Each idea has a module:
    keys.py        the key schema and message ids      calls.py     slots, retry, BackendUnavailable
    broker.py      the Broker's live half: pub/sub routing, the catch-up after a reconnect
    history.py     the Broker's store half: storing and reading messages
    subscriber.py  the one pub/sub connection          shards.py    one per shard on Redis Cluster
    presence.py    presence records and heartbeats     cache.py     the shared translation cache
    state.py       room and moderation state           rows.py      script rows -> messages, members
    limits.py      the send limits (token bucket, slow mode), shared by every node
    sends.py       a plain message's standing, limits, census and append: one script (one Redis)
    conversations.py  profiles, conversations, requests, blocks, reports (ConversationStore)
    meetings.py    meeting slots, places, meetings and their holds (MeetingStore)
    sessions.py    sign-ins and sign-in codes (SessionStore)
    scripts.py     the Lua scripts in lua/, loaded at start
    connection.py  the pool's lean connections         pipeline.py  the scripts' pipelined connection

- Redis away: every call raises BackendUnavailable (the client hears `unavailable`); the
  subscriber reconnects with backoff, and on reconnect this node re-registers its presence,
  re-seeds the configured rooms and (the broker) replays the messages its rooms missed, in
  order, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat.backend.base import Backend
from chat.backend.redis.broker import RedisBroker
from chat.backend.redis.cache import RedisSharedCache
from chat.backend.redis.calls import BACKGROUND_CONNECTIONS, POOL_SIZE, REDIS_DOWN_OR_SLOW, SharedRedis
from chat.backend.redis.connection import LeanConnection, LeanPool, LeanRedis
from chat.backend.redis.conversations import RedisConversations
from chat.backend.redis.keys import Keys
from chat.backend.redis.limits import RedisLimits
from chat.backend.redis.meetings import RedisMeetings
from chat.backend.redis.pipeline import PipelinedRedis
from chat.backend.redis.presence import REAP_CHUNK, RedisPresence
from chat.backend.redis.scripts import register_all
from chat.backend.redis.sends import RedisSends
from chat.backend.redis.sessions import RedisSessions
from chat.backend.redis.state import RedisModeration, RedisRooms
from chat.backend.sends import SendsInARow
from chat.config import BackendSettings
from rooms.stores import EventHandler, Outgoing, SendGate, SendStore, Sent, Stores

log = logging.getLogger("babelroom.backend.redis")

START_TIMEOUT = 10.0  # seconds a starting node waits for Redis before giving up


class RedisBackend(Backend):
    def __init__(self, settings: BackendSettings, node_id: str) -> None:
        self.node_id = node_id
        self._settings = settings
        self._keys = Keys(settings.key_prefix, cluster=settings.redis_cluster)
        self._slots = asyncio.Semaphore(POOL_SIZE)
        self._pool = LeanPool.from_url(
            settings.redis_url,
            decode_responses=True,
            max_connections=POOL_SIZE + BACKGROUND_CONNECTIONS,
            socket_connect_timeout=2,
            socket_timeout=5,
            client_name=f"babelroom:{node_id}",
            # No silent retries: a script may have run before the connection broke. The client
            # hears `unavailable` and retries with its cid, which is idempotent.
            retry=Retry(NoBackoff(), 0),
        )
        if self._pool.connection_class is redis.asyncio.Connection:  # plain TCP (not TLS, not a Unix socket)
            self._pool.connection_class = LeanConnection
        self._redis: Any
        self._pipelined: PipelinedRedis | None = None
        if settings.redis_cluster:
            # the URL names any one node; the client learns the others and routes by slot
            self._redis = redis.asyncio.RedisCluster.from_url(
                settings.redis_url,
                decode_responses=True,
                max_connections=POOL_SIZE + BACKGROUND_CONNECTIONS,
                socket_connect_timeout=2,
                socket_timeout=5,
                client_name=f"babelroom:{node_id}",
                retry=Retry(NoBackoff(), 0),
            )
        else:
            self._redis = LeanRedis(connection_pool=self._pool)  # the pool retries nothing, as LeanRedis needs
            self._pipelined = PipelinedRedis.for_pool(self._pool)  # the scripts' one connection (pipeline.py)
        self._scripts = register_all(self._redis, sharded=settings.redis_cluster, pipelined=self._pipelined)
        shared = SharedRedis(self._redis, self._keys, self._slots, self._scripts, settings)
        self._rooms = RedisRooms(shared, copies_valid=lambda: self._broker.up)
        self._conversations = RedisConversations(shared)
        heartbeat_ttl = max(1, settings.presence_ttl)
        self._broker = broker = RedisBroker(
            shared,
            self._rooms,
            pool=self._pool,
            where=self._where(),
            ping_interval=min(5.0, heartbeat_ttl),
            on_reconnected=self._restore,
        )
        self._presence = RedisPresence(
            self._redis,
            self._keys,
            self._scripts,
            self._slots,
            instance=secrets.token_hex(8),
            node_id=node_id,
            ttl=heartbeat_ttl,
            announce=broker.publish,
            rooms=broker.subscribed,
            on_lost=self._rooms.seed_again,
            rooms_per_reap=1 if settings.redis_cluster else REAP_CHUNK,
        )
        moderation, limits = RedisModeration(shared), RedisLimits(shared)
        # on a cluster the room's, the user's and the event-wide keys live in three slots: no one script
        sends = (
            SendsInARow(moderation, limits, self._presence, broker=broker)
            if settings.redis_cluster
            else RedisSendStore(shared)
        )
        self.stores = Stores(
            broker=broker,
            presence=self._presence,
            rooms=self._rooms,
            moderation=moderation,
            limits=limits,
            conversations=self._conversations,
            meetings=RedisMeetings(shared),
            sessions=RedisSessions(shared),
            sends=sends,
        )

    def _where(self) -> str:
        kwargs = self._pool.connection_kwargs
        if "path" in kwargs:
            return f"{kwargs['path']}/{kwargs.get('db', 0)}"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    # lifecycle ---------------------------------------------------------------
    async def start(self, on_event: EventHandler) -> None:
        await self._broker.start(on_event, timeout=START_TIMEOUT)
        await self._warn_without_persistence()
        adopted = await self._conversations.adopt_old_reports()
        if adopted:
            log.info("reports: %d kept by an earlier version now have a state and one place per reporter", adopted)
        await self._index_profiles()
        self._presence.start()

    async def _index_profiles(self) -> None:
        """Index the profiles an older build stored (once per Redis); a failure is retried at the next start."""
        refused: tuple[type[Exception], ...] = (redis.exceptions.ResponseError, *REDIS_DOWN_OR_SLOW)
        try:
            indexed = await self._conversations.index_profiles()
        except refused:
            log.warning("could not index the stored profiles for the directory; the next start tries again")
            return
        if indexed:
            log.info("indexed %d stored profiles for the directory", indexed)

    async def _warn_without_persistence(self) -> None:
        """Say once, at start, when this Redis would forget everything on its next restart."""
        refused: tuple[type[Exception], ...] = (redis.exceptions.ResponseError, *REDIS_DOWN_OR_SLOW)
        try:
            appendonly = (await self._redis.config_get("appendonly")).get("appendonly") or ""
            save = (await self._redis.config_get("save")).get("save") or ""
        except refused:
            return  # CONFIG renamed or refused (managed Redis): nothing to tell
        if appendonly != "yes" and not save.strip():
            log.warning(
                'Redis at %s keeps no persistence (appendonly no, save ""): history, rooms and '
                "moderation state are lost if Redis restarts; enable the append-only file "
                "(appendonly yes, see README)",
                self._where(),
            )

    async def close(self) -> None:
        await self._presence.stop()
        with contextlib.suppress(*REDIS_DOWN_OR_SLOW):  # the heartbeat expires and other nodes drop these records
            await asyncio.wait_for(self._presence.forget_all(), 2)
        await self._broker.close()
        await self._redis.aclose()
        await self._pool.disconnect()
        if self._pipelined is not None:
            await self._pipelined.aclose()

    def healthy(self) -> bool:
        return self._broker.up

    def health_problem(self) -> str:
        return "" if self._broker.up else "the connection to Redis is down (reconnecting)"

    def shared_cache(self) -> RedisSharedCache:
        return RedisSharedCache(self._redis, self._keys, self._slots)

    # after a reconnect ---------------------------------------------------------
    async def _restore(self) -> None:
        """Run by the broker once its subscriber has resubscribed, before it catches its rooms up
        and live messages flow again: what Redis may have lost while it was away."""
        self._rooms.forget_room(None)  # saves made while the connection was down sent notices nobody read
        await self._presence.beat()
        await self._presence.remove_unremoved()
        await self._rooms.seed_again()


class RedisSendStore(RedisSends, SendStore):
    """SendStore.send on one Redis: one script, one round trip (sends.py)."""

    async def send(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        return await self._send_in_one(room, message, gate)
