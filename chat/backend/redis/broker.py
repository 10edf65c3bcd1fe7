"""The broker (rooms/stores/broker.py) on Redis: history (history.py) and its live half here,
pub/sub routing and the catch-up after a reconnect.

- Live fan-out: PUBLISH/SUBSCRIBE, one channel per room plus one node-wide channel, all on one
  pub/sub connection per node (subscriber.Subscriber: frames parsed by hiredis in the socket's
  data callback, a keep-alive PING when it falls silent); on Redis Cluster (`redis_cluster`) room
  channels are shard channels (SPUBLISH/SSUBSCRIBE), one connection per shard (shards.py), and a
  room whose slot moves to another master (resharding) is followed there and caught up. A
  node subscribes to a room while it has local members there.
- Every event this node receives passes `_on_pubsub` (issue 27: the receiving path is tuned for
  CPU; no await, task or copy per event): decoded once to route it, a message or translation
  handed on as received (`Encoded`), a message already delivered by a catch-up dropped.
- After a reconnect (and on a cluster after a room's slot moved) the subscriber holds live
  messages back while the backend restores what Redis may have lost (`on_reconnected`) and each
  subscribed room gets the messages it missed from history, in order, once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import msgspec
import redis.asyncio

from chat.backend.ids import make_id
from chat.backend.redis.calls import SharedRedis, write_call
from chat.backend.redis.history import RedisHistory
from chat.backend.redis.keys import StreamKey, parse_id, stream_key
from chat.backend.redis.shards import ShardedSubscriber
from chat.backend.redis.state import RedisRooms
from chat.backend.redis.subscriber import Subscriber
from rooms.stores import Broker, Encoded, Event, EventHandler
from rooms.stores.events import NewMessage, RoomSaved, Translation, TranslationFailed, decode_event, encode_event

log = logging.getLogger("babelroom.backend.redis")


class _Seen(NamedTuple):  # made for every message received: a tuple is made fastest
    """The newest message of a room this node delivered (or the room's newest when it subscribed)."""

    epoch: str
    key: StreamKey
    message_id: str


class RedisBroker(RedisHistory, Broker):
    def __init__(
        self,
        shared: SharedRedis,
        rooms: RedisRooms,
        *,
        pool: redis.asyncio.ConnectionPool,
        where: str,
        ping_interval: float,
        on_reconnected: Callable[[], Awaitable[None]],
    ) -> None:
        """`pool` makes the pub/sub connection on one Redis (`where` names it in the log); `rooms` is
        told of saves other nodes made; `on_reconnected` runs after a reconnect, before the catch-up."""
        super().__init__(shared)
        self._rooms = rooms
        self._on_reconnected = on_reconnected
        self._subscriber: Subscriber | ShardedSubscriber
        if shared.settings.redis_cluster:
            self._subscriber = ShardedSubscriber(
                shared.redis,
                node_channel=self._keys.node_channel,
                on_message=self._on_pubsub,
                on_connected=self._reconnected,
                on_moved=self._moved,
                ping_interval=ping_interval,
            )
        else:
            self._subscriber = Subscriber(
                pool.make_connection(),  # type: ignore[no-untyped-call]
                where=where,
                on_message=self._on_pubsub,
                on_connected=self._reconnected,
                ping_interval=ping_interval,
            )
        self._on_event: EventHandler | None = None
        self._subscribed: set[str] = set()  # rooms this node has local members in
        self._seen: dict[str, _Seen | None] = {}  # per subscribed room; None = it had no history yet

    # lifecycle (the backend's) -------------------------------------------------
    async def start(self, on_event: EventHandler, timeout: float) -> None:
        """Connect and subscribe to the node-wide channel; from then on events go to `on_event`."""
        self._on_event = on_event
        await self._subscriber.start({self._keys.node_channel}, timeout=timeout)

    async def close(self) -> None:
        await self._subscriber.close()
        self._on_event = None

    @property
    def up(self) -> bool:
        """The pub/sub connection is up, subscribed and caught up: no event is being missed."""
        return self._subscriber.up

    def subscribed(self) -> set[str]:
        """The rooms this node receives (it has local members there)."""
        return self._subscribed

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
    async def _reconnected(self) -> None:
        """Run by the subscriber once it has resubscribed, before live messages flow again."""
        await self._on_reconnected()
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
