"""The redis backend: many nodes share rooms, history, presence and moderation state through Redis.

- Live fan-out: PUBLISH/SUBSCRIBE, one channel per room plus one node-wide channel, all on one
  pub/sub connection per node (redis_pubsub.Subscriber). A node subscribes to a room while it
  has local members there.
- History: one Stream per room (exact MAXLEN). Storing and publishing a message is one Lua
  script, so every node and every reader see history's order. Each stream has an epoch; ids
  are "<epoch>.<stream id>" and a `since` from a lost or trimmed history is `recovered: false`.
- Presence: one hash per room of connection records, each naming its node process (instance);
  an instance counts while its heartbeat key (TTL presence_ttl, refreshed every ttl/3) lives.
- Redis away: every call raises BackendUnavailable (the client hears `unavailable`); the
  subscriber reconnects with backoff, and on reconnect this node re-registers its presence,
  re-seeds the configured rooms and replays the messages its rooms missed, in order, once.

Keys and channels, all under `key_prefix` (the history keys are described in redis_scripts):
    room:<id>:log, :meta, :extra, :gone   history (Stream, epoch, translations, deleted placeholders)
    room:<id>:cid:<digest>                a (user, cid) seen, -> message id; expires (idempotency_ttl)
    room:<id>:presence, :users            hash "<instance> <connection>" -> {conn, id, name, lang, role};
                                          hash user -> that user's fields (see redis_scripts)
    room:<id>:mutes / :bans / :moderators  hash user -> until ms ('' = until unmuted) / set / set
    room:<id>:modlog                      Stream of moderation entries, capped
    rooms, rooms:order                    hash id -> room JSON; zset id -> listing position
    node:<instance>                       heartbeat (value: the node id), TTL presence_ttl
    cache:<key>                           shared translation cache, TTL 7 days
    chan:room:<id>, chan:node             pub/sub channels
Scripts reach heartbeat keys they were not passed, so this needs one Redis (or a primary with
replicas), not Redis Cluster.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Concatenate, ParamSpec, Protocol, TypeVar

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat.backend import redis_scripts as lua
from chat.backend.base import (Appended, Backend, BackendUnavailable, Event, EventHandler, Member, Mute,
                               Replay)
from chat.backend.ids import make_id, new_epoch, split_id
from chat.backend.redis_pubsub import REDIS_DOWN, Subscriber
from chat.config import BackendSettings
from chat.protocol import encode, message_frame
from rooms import Room

log = logging.getLogger("babelroom.backend.redis")

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
START_TIMEOUT = 10.0  # seconds a starting node waits for Redis before giving up
MODERATION_LOG_MAX = 1000  # entries kept per room
CACHE_TTL = 7 * 86400  # seconds a shared translation stays cached
POOL_SIZE = 64  # backend calls holding a Redis connection at once; more wait for a slot
BACKGROUND_CONNECTIONS = 8  # headroom for the heartbeat and the reconnect work, which take no slot

P = ParamSpec("P")
T = TypeVar("T")
StreamKey = tuple[int, int]


class _UsesRedis(Protocol):
    _slots: asyncio.Semaphore


S = TypeVar("S", bound=_UsesRedis)
Method = Callable[Concatenate[S, P], Awaitable[T]]


def _redis_call(*, retry: bool) -> Callable[[Method[S, P, T]], Method[S, P, T]]:
    """Wrap a backend call: it waits for a connection slot, and Redis connection trouble becomes
    BackendUnavailable, so sessions answer `unavailable`.

    The slots bound the connections a node opens (redis-py's plain pool would fail when full,
    and its blocking pool costs twice the CPU per command). With `retry`, a connection error is
    tried once more first: only for calls that can run twice harmlessly (reads); it spares
    clients an `unavailable` when the pool hands out a connection a restarted Redis closed.
    """

    def decorate(method: Method[S, P, T]) -> Method[S, P, T]:
        @functools.wraps(method)
        async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            async with self._slots:
                try:
                    try:
                        return await method(self, *args, **kwargs)
                    except redis.exceptions.ConnectionError:
                        if not retry:
                            raise
                    return await method(self, *args, **kwargs)  # redis-py dropped the broken connection
                except REDIS_DOWN as exc:
                    raise BackendUnavailable(f"Redis is unavailable: {exc}") from exc

        return wrapper

    return decorate


_read_call = _redis_call(retry=True)
_write_call = _redis_call(retry=False)


def _stream_key(stream_id: str) -> StreamKey:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


def _parse_id(message_id: str | None) -> tuple[str, str] | None:
    """(epoch, stream id) of one of our message ids, or None."""
    parts = split_id(message_id) if message_id else None
    if parts is None or not STREAM_ID.match(parts[1]):
        return None
    return parts


@dataclass(frozen=True)
class _Keys:
    """Every key and channel name, all under the configured prefix."""

    prefix: str

    def room(self, room: str, part: str) -> str:
        return f"{self.prefix}room:{room}:{part}"

    def history(self, room: str) -> list[str]:
        """The keys the history scripts take, in their order: log, meta, extra, gone."""
        return [self.room(room, part) for part in ("log", "meta", "extra", "gone")]

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

    def cache(self, key: str) -> str:
        return f"{self.prefix}cache:{key}"


@dataclass(frozen=True)
class _Seen:
    """The newest message of a room this node delivered (or the room's newest when it subscribed)."""

    epoch: str
    key: StreamKey
    message_id: str


class RedisSharedCache:
    """The translation cache every node shares: plain strings with a TTL."""

    def __init__(self, client: redis.asyncio.Redis, keys: _Keys, slots: asyncio.Semaphore) -> None:
        self._client = client
        self._keys = keys
        self._slots = slots

    @_read_call
    async def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        return await self._client.mget([self._keys.cache(key) for key in keys])

    @_write_call
    async def set_many(self, items: dict[str, str]) -> None:
        if not items:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._keys.cache(key), value, ex=CACHE_TTL)
            await pipe.execute()


class RedisBackend(Backend):
    def __init__(self, settings: BackendSettings, node_id: str) -> None:
        self.node_id = node_id
        self._settings = settings
        self._keys = _Keys(settings.key_prefix)
        # Presence records name this process (a hex id), not the node id: a node restarted under
        # the same id must not revive the records its previous life left behind.
        self._instance = secrets.token_hex(8)
        self._heartbeat_ttl = max(1, settings.presence_ttl)
        self._slots = asyncio.Semaphore(POOL_SIZE)
        self._pool = redis.asyncio.ConnectionPool.from_url(
            settings.redis_url, decode_responses=True, max_connections=POOL_SIZE + BACKGROUND_CONNECTIONS,
            socket_connect_timeout=2, socket_timeout=5, client_name=f"babelroom:{node_id}",
            # No silent retries: a script may have run before the connection broke. The client
            # hears `unavailable` and retries with its cid, which is idempotent.
            retry=Retry(NoBackoff(), 0))
        self._redis = redis.asyncio.Redis(connection_pool=self._pool)
        self._scripts = {name: self._redis.register_script(getattr(lua, name))
                         for name in ("APPEND", "READ", "ADD_TRANSLATION", "DELETE", "ADD_MEMBER",
                                      "REMOVE_MEMBER", "MEMBERS", "REAP", "GET_MUTE")}
        self._subscriber = Subscriber(self._pool.make_connection(), where=self._where(),
                                      on_message=self._on_pubsub, on_connected=self._restore,
                                      ping_interval=min(5.0, self._heartbeat_ttl))
        self._on_event: EventHandler | None = None
        self._subscribed: set[str] = set()  # rooms this node has local members in
        self._seen: dict[str, _Seen | None] = {}  # per subscribed room; None = it had no history yet
        self._local: dict[str, dict[str, Member]] = {}  # this node's presence, rewritten after a loss
        self._unremoved: dict[str, dict[str, Member]] = {}  # connections that left while Redis was away
        self._configured_rooms: tuple[Room, ...] = ()
        self._heartbeat: asyncio.Task[None] | None = None

    def _where(self) -> str:
        kwargs = self._pool.connection_kwargs
        if "path" in kwargs:
            return f"{kwargs['path']}/{kwargs.get('db', 0)}"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    # lifecycle ---------------------------------------------------------------
    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        await self._subscriber.start({self._keys.node_channel}, timeout=START_TIMEOUT)
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="redis-heartbeat")

    async def close(self) -> None:
        if self._heartbeat:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        try:
            await asyncio.wait_for(self._forget_presence(), 2)
        except (*REDIS_DOWN, asyncio.TimeoutError):
            pass  # the heartbeat expires and other nodes drop these records
        await self._subscriber.close()
        self._on_event = None
        await self._redis.aclose()
        await self._pool.disconnect()

    def healthy(self) -> bool:
        return self._subscriber.up

    async def _forget_presence(self) -> None:
        """A clean shutdown: this node's records go now instead of when its heartbeat expires."""
        for records in (self._local, self._unremoved):
            for room, members in list(records.items()):
                for member in list(members.values()):
                    await self._unregister(room, member)
        await self._redis.delete(self._keys.heartbeat_prefix + self._instance)

    # pub/sub -----------------------------------------------------------------
    @_write_call
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
        self._seen[room] = _Seen(epoch, _stream_key(last), make_id(epoch, last)) if exists and epoch and last \
            else None

    async def unsubscribe(self, room: str) -> None:
        self._subscribed.discard(room)
        self._seen.pop(room, None)
        await self._subscriber.unsubscribe(self._keys.channel(room))

    @_write_call
    async def publish(self, room: str, event: Event) -> None:
        await self._redis.publish(self._keys.channel(room), encode(event))

    @_write_call
    async def broadcast(self, event: Event) -> None:
        await self._redis.publish(self._keys.node_channel, encode(event))

    def _on_pubsub(self, channel: str, payload: str) -> None:
        """One message from the pub/sub connection, in publish order."""
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("ignored a malformed event on %s", channel)
            return
        if channel == self._keys.node_channel:
            self._emit(None, event)
            return
        room = channel.removeprefix(self._keys.room_channel_prefix)
        if room not in self._subscribed:
            return  # sent before our UNSUBSCRIBE took effect
        if event.get("type") == "message" and not self._advance(room, event.get("id")):
            return  # already delivered by the replay after a reconnect
        self._emit(room, event)

    def _advance(self, room: str, message_id: Any) -> bool:
        """Record a room's message as delivered; False when it (or a newer one) already was."""
        parts = _parse_id(message_id) if isinstance(message_id, str) else None
        if parts is None:
            return True
        epoch, stream_id = parts
        key = _stream_key(stream_id)
        seen = self._seen.get(room)
        if seen is not None and seen.epoch == epoch and key <= seen.key:
            return False
        self._seen[room] = _Seen(epoch, key, message_id)
        return True

    def _emit(self, room: str | None, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(room, event)

    # after a reconnect ---------------------------------------------------------
    async def _restore(self) -> None:
        """Run by the subscriber once it has resubscribed, before live messages flow again."""
        await self._beat()
        await self._remove_unremoved()
        await self._seed(self._configured_rooms)
        for room in sorted(self._subscribed):
            await self._catch_up(room)

    async def _catch_up(self, room: str) -> None:
        """Deliver, in order, the messages this node's members missed while Redis was away."""
        if room not in self._seen:
            return  # still subscribing: the join that asked for it reads history after that
        seen = self._seen[room]
        replay = await self._since(room, seen.message_id if seen else None, limit=self._settings.history_max)
        if seen is not None and not replay.recovered:
            log.warning("room %s: history since %s was trimmed or lost while Redis was away; "
                        "replaying what is kept", room, seen.message_id)
        for message in replay.messages:
            if self._advance(room, message["id"]):
                self._emit(room, message_frame(message))

    # messages ----------------------------------------------------------------
    @_write_call
    async def append_message(self, room: str, *, user: dict[str, str], text: str, lang: str,
                             cid: str | None) -> Appended:
        keys = self._keys.history(room)
        if cid:
            keys.append(self._keys.idempotency(room, user["id"], cid))
        body = {"user": user, "lang": lang, "text": text}
        head = '{"type":"message","room":' + json.dumps(room) + ","
        tail = "," + encode(body)[1:]
        reply = await self._scripts["APPEND"](keys=keys, args=[
            self._keys.channel(room), self._settings.history_max, new_epoch(), encode(user), lang, text,
            self._settings.idempotency_ttl, head, tail])
        created, epoch, stream_id = int(reply[0]), reply[1], reply[2]
        if created:
            message = {"room": room, "id": make_id(epoch, stream_id), "ts": _stream_key(stream_id)[0],
                       "user": dict(user), "lang": lang, "text": text, "tr": {}}
            return Appended(message, created=True)
        fields, extra = reply[3], reply[4]
        row = _live(room, epoch, stream_id, fields, extra) if fields else _deleted(room, epoch, stream_id, extra)
        return Appended(row, created=False)

    @_read_call
    async def history(self, room: str, *, before: str | None, limit: int) -> list[dict[str, Any]]:
        if before is None:
            return (await self._read(room, "page", None, limit)).messages
        if _parse_id(before) is None:
            return []
        return (await self._read(room, "page", before, limit)).messages

    @_read_call
    async def since(self, room: str, since: str, *, limit: int) -> Replay:
        return await self._since(room, since, limit=limit)

    async def _since(self, room: str, since: str | None, *, limit: int) -> Replay:
        return await self._read(room, "since", since if _parse_id(since) else None, limit)

    async def _read(self, room: str, mode: str, message_id: str | None, limit: int) -> Replay:
        """Run the READ script and turn its rows into messages, oldest first."""
        epoch_in, stream_in = _parse_id(message_id) or ("", "")
        epoch, recovered, live, deleted = await self._scripts["READ"](
            keys=self._keys.history(room), args=[mode, epoch_in, stream_in, limit])
        if not epoch:
            return Replay([], recovered=False)
        messages = [_live(room, epoch, stream_id, fields, extra) for stream_id, fields, extra in live]
        messages += [_deleted(room, epoch, stream_id, tombstone) for stream_id, tombstone in deleted]
        messages.sort(key=lambda message: _stream_key(message["id"].partition(".")[2]))
        if not recovered:  # a page: the newest `limit` of live messages and placeholders
            messages = messages[-limit:] if limit > 0 else []
        return Replay(messages, recovered=bool(recovered))

    @_write_call
    async def add_translation(self, room: str, message_id: str, lang: str, text: str) -> None:
        parts = _parse_id(message_id)
        if parts is None:
            return
        event = {"type": "translation", "room": room, "id": message_id, "lang": lang, "text": text}
        log_key, meta, extra, _ = self._keys.history(room)
        await self._scripts["ADD_TRANSLATION"](keys=[log_key, meta, extra], args=[
            parts[0], parts[1], lang, text, self._keys.channel(room), encode(event)])

    @_write_call
    async def delete_message(self, room: str, message_id: str) -> bool:
        parts = _parse_id(message_id)
        if parts is None:
            return False
        return bool(await self._scripts["DELETE"](keys=self._keys.history(room), args=list(parts)))

    # presence ----------------------------------------------------------------
    @_write_call
    async def add_member(self, room: str, member: Member) -> bool:
        self._local.setdefault(room, {})[member.conn] = member
        self._unremoved.get(room, {}).pop(member.conn, None)
        return await self._register(room, member)

    def _field(self, conn: str) -> str:
        """A connection's field in a room's presence hash: the scripts read its instance from it."""
        return f"{self._instance} {conn}"

    def _presence_keys(self, room: str) -> list[str]:
        return [self._keys.room(room, "presence"), self._keys.room(room, "users")]

    async def _register(self, room: str, member: Member) -> bool:
        record = encode({"conn": member.conn, **member.public()})
        first = await self._scripts["ADD_MEMBER"](keys=self._presence_keys(room), args=[
            self._keys.heartbeat_prefix, self._field(member.conn), member.id, record])
        return bool(first)

    @_write_call
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

    async def _unregister(self, room: str, member: Member) -> bool:
        last = await self._scripts["REMOVE_MEMBER"](keys=self._presence_keys(room), args=[
            self._keys.heartbeat_prefix, self._field(member.conn), member.id])
        return bool(last)

    async def _remove_unremoved(self) -> None:
        """Remove the records of connections that closed while Redis was away, announcing leaves."""
        for room, members in list(self._unremoved.items()):
            for conn, member in list(members.items()):
                if await self._unregister(room, member):
                    await self.publish(room, _presence(room, "leave", member))
                members.pop(conn, None)
            if not members:
                self._unremoved.pop(room, None)

    @_read_call
    async def members(self, room: str) -> list[Member]:
        records = await self._scripts["MEMBERS"](keys=[self._keys.room(room, "presence")],
                                                 args=[self._keys.heartbeat_prefix])
        return [_member_of(record) for record in json.loads(records)]

    async def _heartbeat_loop(self) -> None:
        """Keep this node's presence alive, and clear the records of nodes that died."""
        interval = self._heartbeat_ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._beat()
                await self._remove_unremoved()
                await self._reap()
            except (*REDIS_DOWN, BackendUnavailable):
                pass  # the subscriber logs the outage and restores presence when Redis is back
            except Exception:  # noqa: BLE001 - the heartbeat must outlive any one failure
                log.exception("presence heartbeat failed")

    async def _beat(self) -> None:
        """Refresh the heartbeat. If it had vanished, Redis lost its data (or this node stalled past
        the TTL and other nodes dropped its records): write this node's presence and the
        configured rooms again."""
        previous = await self._redis.set(self._keys.heartbeat_prefix + self._instance, self.node_id,
                                         ex=self._heartbeat_ttl, get=True)
        if previous is None:
            await self._rewrite_presence()
            await self._seed(self._configured_rooms)

    async def _rewrite_presence(self) -> None:
        for room, members in list(self._local.items()):
            for member in list(members.values()):
                if await self._register(room, member):
                    # other nodes may have announced this user's leave when its records vanished
                    await self.publish(room, _presence(room, "join", member))

    async def _reap(self) -> None:
        for room in sorted(self._subscribed):
            gone = await self._scripts["REAP"](keys=self._presence_keys(room), args=[self._keys.heartbeat_prefix])
            for raw in gone:
                member = _member(raw)
                log.info("room %s: %s left with a node that stopped answering", room, member.id)
                await self.publish(room, _presence(room, "leave", member))

    # rooms -------------------------------------------------------------------
    @_write_call
    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        self._configured_rooms = tuple(rooms)  # seeded again after a reconnect: Redis may have lost them
        await self._seed(self._configured_rooms)

    async def _seed(self, rooms: tuple[Room, ...]) -> None:
        if not rooms:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for position, room in enumerate(rooms):
                pipe.hsetnx(self._keys.rooms, room.id, encode(room.to_dict()))
                # configured rooms list first, in config order; rooms opened later follow by time
                pipe.zadd(self._keys.rooms_order, {room.id: position}, nx=True)
            await pipe.execute()

    @_read_call
    async def list_rooms(self) -> list[Room]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.rooms)
            pipe.zrange(self._keys.rooms_order, 0, -1)
            stored, order = await pipe.execute()
        ordered = [room for room in order if room in stored] + sorted(set(stored) - set(order))
        return [Room.from_dict(json.loads(stored[room])) for room in ordered]

    @_read_call
    async def get_room(self, room: str) -> Room | None:
        raw = await self._redis.hget(self._keys.rooms, room)
        return Room.from_dict(json.loads(raw)) if raw else None

    @_write_call
    async def save_room(self, room: Room) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.rooms, room.id, encode(room.to_dict()))
            pipe.zadd(self._keys.rooms_order, {room.id: time.time() * 1000}, nx=True)
            await pipe.execute()

    # moderation ----------------------------------------------------------------
    @_read_call
    async def get_mute(self, room: str, user: str) -> Mute | None:
        until = await self._scripts["GET_MUTE"](keys=[self._keys.room(room, "mutes")],
                                                args=[user, int(time.time() * 1000)])
        if until is None:
            return None
        return Mute(int(until) if until else None)

    @_write_call
    async def set_mute(self, room: str, user: str, until: int | None) -> None:
        await self._redis.hset(self._keys.room(room, "mutes"), user, "" if until is None else str(until))

    @_write_call
    async def clear_mute(self, room: str, user: str) -> bool:
        return bool(await self._redis.hdel(self._keys.room(room, "mutes"), user))

    @_read_call
    async def is_banned(self, room: str, user: str) -> bool:
        return bool(await self._redis.sismember(self._keys.room(room, "bans"), user))

    @_write_call
    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        key = self._keys.room(room, "bans")
        changed = await (self._redis.sadd(key, user) if banned else self._redis.srem(key, user))
        return bool(changed)

    @_read_call
    async def moderators(self, room: str) -> set[str]:
        return set(await self._redis.smembers(self._keys.room(room, "moderators")))

    @_write_call
    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        key = self._keys.room(room, "moderators")
        changed = await (self._redis.sadd(key, user) if appointed else self._redis.srem(key, user))
        return bool(changed)

    @_write_call
    async def record_moderation(self, room: str, entry: dict[str, Any]) -> None:
        await self._redis.xadd(self._keys.room(room, "modlog"), {"e": encode(entry)},
                               maxlen=MODERATION_LOG_MAX, approximate=False)

    @_read_call
    async def moderation_log(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        entries = await self._redis.xrevrange(self._keys.room(room, "modlog"), count=limit)
        return [json.loads(fields["e"]) for _, fields in reversed(entries)]

    # translation ---------------------------------------------------------------
    def shared_cache(self) -> RedisSharedCache:
        return RedisSharedCache(self._redis, self._keys, self._slots)


# rows of the READ and APPEND scripts -> messages ------------------------------------
def _live(room: str, epoch: str, stream_id: str, fields: list[str], extra: str | None) -> dict[str, Any]:
    entry = dict(zip(fields[::2], fields[1::2]))
    return {"room": room, "id": make_id(epoch, stream_id), "ts": _stream_key(stream_id)[0],
            "user": json.loads(entry["u"]), "lang": entry["l"], "text": entry["t"],
            "tr": json.loads(extra) if extra else {}}


def _deleted(room: str, epoch: str, stream_id: str, tombstone: str | None) -> dict[str, Any]:
    stone = json.loads(tombstone) if tombstone else {}
    return {"room": room, "id": make_id(epoch, stream_id), "ts": _stream_key(stream_id)[0],
            "user": json.loads(stone["u"]) if "u" in stone else {"id": "", "name": ""},
            "lang": stone.get("l", ""), "text": "", "tr": {}, "deleted": True}


def _member(raw: str) -> Member:
    return _member_of(json.loads(raw))


def _member_of(record: dict[str, str]) -> Member:
    return Member(record["conn"], record["id"], record["name"], record["lang"], record["role"])


def _presence(room: str, event: str, member: Member) -> Event:
    return {"type": "presence", "room": room, "event": event,
            "user": {"id": member.id, "name": member.name, "lang": member.lang}}
