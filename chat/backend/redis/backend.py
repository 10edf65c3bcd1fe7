"""The redis backend: many nodes share rooms, history, presence and moderation state through Redis.

This module holds the lifecycle and the live half of the broker: pub/sub routing and the
catch-up after a reconnect. The other ideas have a module each:
    keys.py        the key schema and message ids      calls.py     slots, retry, BackendUnavailable
    history.py     storing and reading messages        presence.py  presence records and heartbeats
    state.py       room and moderation state           cache.py     the shared translation cache
    limits.py      the send limits (token bucket, slow mode), shared by every node
    sends.py       a plain message's standing, limits, census and append: one script (one Redis)
    conversations.py  profiles, conversations, requests, blocks, reports (ConversationStore)
    meetings.py    meeting slots, places, meetings and their holds (MeetingStore)
    subscriber.py  the one pub/sub connection          rows.py      script rows -> messages, members
    scripts.py     the Lua scripts in lua/, loaded at start

- Live fan-out: PUBLISH/SUBSCRIBE, one channel per room plus one node-wide channel, all on one
  pub/sub connection per node (subscriber.Subscriber); on Redis Cluster (`redis_cluster`) room
  channels are shard channels (SPUBLISH/SSUBSCRIBE), one connection per shard (shards.py), and a
  room whose slot moves to another master (resharding) is followed there and caught up. A
  node subscribes to a room while it has local members there.
- Redis away: every call raises BackendUnavailable (the client hears `unavailable`); the
  subscriber reconnects with backoff, and on reconnect this node re-registers its presence,
  re-seeds the configured rooms and replays the messages its rooms missed, in order, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any, NamedTuple

import msgspec
import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat.backend.base import Backend
from chat.backend.ids import make_id
from chat.backend.redis.cache import RedisSharedCache
from chat.backend.redis.calls import BACKGROUND_CONNECTIONS, POOL_SIZE, REDIS_DOWN_OR_SLOW, SharedRedis, write_call
from chat.backend.redis.connection import LeanConnection, LeanPool, LeanRedis
from chat.backend.redis.conversations import RedisConversations
from chat.backend.redis.history import RedisHistory
from chat.backend.redis.keys import Keys, StreamKey, parse_id, stream_key
from chat.backend.redis.limits import RedisLimits
from chat.backend.redis.meetings import RedisMeetings
from chat.backend.redis.presence import RedisPresence
from chat.backend.redis.scripts import register_all
from chat.backend.redis.sends import RedisSends
from chat.backend.redis.sessions import RedisSessions
from chat.backend.redis.shards import ShardedSubscriber
from chat.backend.redis.state import RedisModeration, RedisRooms
from chat.backend.redis.subscriber import Subscriber
from chat.backend.sends import SendsInARow
from chat.config import BackendSettings
from rooms.stores import Encoded, Event, EventHandler, Outgoing, SendGate, SendStore, Sent, Stores
from rooms.stores.events import NewMessage, RoomSaved, Translation, TranslationFailed, decode_event, encode_event

log = logging.getLogger("babelroom.backend.redis")

START_TIMEOUT = 10.0  # seconds a starting node waits for Redis before giving up


class _Seen(NamedTuple):  # made for every message received: a tuple is made fastest
    """The newest message of a room this node delivered (or the room's newest when it subscribed)."""

    epoch: str
    key: StreamKey
    message_id: str


class RedisBackend(RedisHistory, Backend):
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
        self._scripts = register_all(self._redis, sharded=settings.redis_cluster)
        shared = SharedRedis(self._redis, self._keys, self._slots, self._scripts, settings)
        self._rooms = RedisRooms(shared, copies_valid=lambda: self._subscriber.up)
        self._conversations = RedisConversations(shared)
        heartbeat_ttl = max(1, settings.presence_ttl)
        self._presence = RedisPresence(
            self._redis,
            self._keys,
            self._scripts,
            self._slots,
            instance=secrets.token_hex(8),
            node_id=node_id,
            ttl=heartbeat_ttl,
            announce=self.publish,
            rooms=lambda: self._subscribed,
            on_lost=self._rooms.seed_again,
        )
        self._subscriber: Subscriber | ShardedSubscriber
        if settings.redis_cluster:
            self._subscriber = ShardedSubscriber(
                self._redis,
                node_channel=self._keys.node_channel,
                on_message=self._on_pubsub,
                on_connected=self._restore,
                on_moved=self._moved,
                ping_interval=min(5.0, heartbeat_ttl),
            )
        else:
            self._subscriber = Subscriber(
                self._pool.make_connection(),  # type: ignore[no-untyped-call]
                where=self._where(),
                on_message=self._on_pubsub,
                on_connected=self._restore,
                ping_interval=min(5.0, heartbeat_ttl),
            )
        self._on_event: EventHandler | None = None
        self._subscribed: set[str] = set()  # rooms this node has local members in
        self._seen: dict[str, _Seen | None] = {}  # per subscribed room; None = it had no history yet
        moderation, limits = RedisModeration(shared), RedisLimits(shared)
        # on a cluster the room's, the user's and the event-wide keys live in three slots: no one script
        sends = (
            SendsInARow(moderation, limits, self._presence, broker=self)
            if settings.redis_cluster
            else RedisSendStore(shared)
        )
        self.stores = Stores(
            broker=self,
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
        self._on_event = on_event
        await self._subscriber.start({self._keys.node_channel}, timeout=START_TIMEOUT)
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
        await self._subscriber.close()
        self._on_event = None
        await self._redis.aclose()
        await self._pool.disconnect()

    def healthy(self) -> bool:
        return self._subscriber.up

    def health_problem(self) -> str:
        return "" if self._subscriber.up else "the connection to Redis is down (reconnecting)"

    def shared_cache(self) -> RedisSharedCache:
        return RedisSharedCache(self._redis, self._keys, self._slots)

    # pub/sub -----------------------------------------------------------------
    @write_call
    async def subscribe(self, room: str) -> None:
        self._subscribed.add(room)
        try:
            await self._subscriber.subscribe(self._keys.channel(room))
            await self._remember_newest(room)
        except BaseException:
            self._subscribed.discard(room)
            self._seen.pop(room, None)
            await self._subscriber.unsubscribe(self._keys.channel(room))
            raise

    async def _remember_newest(self, room: str) -> None:
        """Note the room's newest message: a reconnect replays what came after it."""
        log_key, meta, *_ = self._keys.history(room)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(log_key)
            pipe.hmget(meta, ["epoch", "last"])
            exists, (epoch, last) = await pipe.execute()
        if room in self._seen:  # a live message arrived meanwhile and is newer
            return
        self._seen[room] = _Seen(epoch, stream_key(last), make_id(epoch, last)) if exists and epoch and last else None

    async def unsubscribe(self, room: str) -> None:
        self._subscribed.discard(room)
        self._seen.pop(room, None)
        await self._subscriber.unsubscribe(self._keys.channel(room))

    @write_call
    async def publish(self, room: str, event: Event) -> None:
        if self._settings.redis_cluster:  # the room's shard channel, on the shard that stores the room
            await self._redis.spublish(self._keys.channel(room), encode_event(event))
        else:
            await self._redis.publish(self._keys.channel(room), encode_event(event))

    @write_call
    async def broadcast(self, event: Event) -> None:
        await self._redis.publish(self._keys.node_channel, encode_event(event))

    def _on_pubsub(self, channel: str, payload: str) -> None:
        """One message from the pub/sub connection, in publish order."""
        try:
            event = decode_event(payload)
        except (ValueError, msgspec.ValidationError):
            log.warning("ignored a malformed event on %s", channel)
            return
        if channel == self._keys.node_channel:
            if isinstance(event, RoomSaved):  # this node's own business, not an event for the hub
                self._rooms.forget_room(event.id)
            else:
                self._emit(None, event)
            return
        room = self._keys.room_of_channel(channel)
        if room is None or room not in self._subscribed:
            return  # sent before our UNSUBSCRIBE took effect
        if isinstance(event, NewMessage) and not self._advance(room, event.id):
            return  # already delivered by the replay after a reconnect
        self._emit(room, _passed_through(event, payload))

    def _advance(self, room: str, message_id: Any) -> bool:
        """Record a room's message as delivered; False when it (or a newer one) already was."""
        parts = parse_id(message_id) if isinstance(message_id, str) else None
        if parts is None:
            return True
        epoch, stream_id = parts
        key = stream_key(stream_id)
        seen = self._seen.get(room)
        if seen is not None and seen.epoch == epoch and key <= seen.key:
            return False
        self._seen[room] = _Seen(epoch, key, message_id)
        return True

    def _emit(self, room: str | None, event: Event | Encoded) -> None:
        if self._on_event is not None:
            self._on_event(room, event)

    # after a reconnect ---------------------------------------------------------
    async def _restore(self) -> None:
        """Run by the subscriber once it has resubscribed, before live messages flow again."""
        self._rooms.forget_room(None)  # saves made while the connection was down sent notices nobody read
        await self._presence.beat()
        await self._presence.remove_unremoved()
        await self._rooms.seed_again()
        for room in sorted(self._subscribed):
            await self._catch_up(room)

    async def _moved(self, channel: str) -> None:
        """A room's shard channel was subscribed again on the master its slot moved to (Redis
        Cluster resharding): replay what the room stored while no connection carried it."""
        room = self._keys.room_of_channel(channel)
        if room is not None and room in self._subscribed:
            await self._catch_up(room)

    async def _catch_up(self, room: str) -> None:
        """Deliver, in order, the messages this node's members missed while Redis was away."""
        if room not in self._seen:
            return  # still subscribing: the join that asked for it reads history after that
        seen = self._seen[room]
        replay = await self._since(room, seen.message_id if seen else None, limit=self._settings.history_max)
        if seen is not None and not replay.recovered:
            log.warning(
                "room %s: history since %s was trimmed or lost while Redis was away; replaying what is kept",
                room,
                seen.message_id,
            )
        for message in replay.messages:
            if self._advance(room, message.id):
                self._emit(
                    room,
                    NewMessage(
                        room=room,
                        id=message.id,
                        ts=message.ts,
                        user=message.user,
                        lang=message.lang,
                        text=message.text,
                        deleted=message.deleted,
                        reply_to=message.reply_to,
                        mentions=message.mentions,
                        meeting=message.meeting,
                    ),
                )


class RedisSendStore(RedisSends, SendStore):
    """SendStore.send on one Redis: one script, one round trip (sends.py)."""

    async def send(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        return await self._send_in_one(room, message, gate)


def _passed_through(event: Event, payload: str) -> Event | Encoded:
    """A message or translation as published: its payload is byte for byte the frame readers get
    (append.lua writes a NewMessage's own encoding, which is the `message` frame's), so readers
    get it as is instead of a re-encoding; the decoded event only routed it."""
    if isinstance(event, NewMessage) and not event.deleted and not (event.reply_to and event.reply_to.tr):
        # (a reply whose quote has translations is one frame per reading language: chat/hub.py builds them)
        return Encoded("message", event.id, None, payload.encode(), author=event.user.id)
    if isinstance(event, Translation):
        return Encoded("translation", event.id, event.lang, payload.encode())
    if isinstance(event, TranslationFailed):
        return Encoded("translation_failed", event.id, event.lang, payload.encode())
    return event
