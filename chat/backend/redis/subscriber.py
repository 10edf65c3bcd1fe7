"""The node's one pub/sub connection to Redis: subscribe, read, and come back after Redis goes away.

One connection carries every channel the node needs (its rooms and the node-wide channel). Its
frames are parsed (hiredis) and handed on as the socket delivers them, in order; a keep-alive
task PINGs it when it has been silent for `ping_interval` and gives it up when the next interval
brings nothing either. `subscribe` waits until Redis confirms, so an event published
after that reaches this node. When the connection breaks the subscriber reconnects with
exponential backoff (0.1 s ... 5 s), subscribes to every channel again, runs the owner's
`on_connected` (re-register presence, replay missed messages) while holding back live
messages, then releases them in order. The outage is logged once, and its end once.

On Redis Cluster (shards.py) a node has one such connection per shard, with `sharded` commands
(SSUBSCRIBE, `smessage`), and one for the node-wide channel; each asks `connect` for a fresh
connection before every attempt, so that after a failover it reaches the shard's new master.
A shard channel can also leave a live connection: when its slot moves to another master
(resharding) Redis sends an unasked SUNSUBSCRIBE, and a SSUBSCRIBE sent to a master that no
longer serves the slot is answered MOVED. Either way the channel is dropped here and handed to
`on_dropped`, which subscribes it where its slot lives now.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import hiredis
import redis.exceptions
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot

from chat.backend.redis.calls import REDIS_DOWN, REDIS_DOWN_OR_SLOW
from rooms.stores import BackendUnavailable

log = logging.getLogger("babelroom.backend.redis")

BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0
CONFIRM_TIMEOUT = 5.0  # seconds Redis has to confirm a SUBSCRIBE
READ_SIZE = 65536  # bytes read off the socket at most at once (redis-py's socket_read_size)

MessageHandler = Callable[[str, str], None]  # (channel, payload)
DroppedHandler = Callable[[str], None]  # a channel whose slot left this connection's Redis
Connect = Callable[[set[str]], Awaitable[AbstractConnection]]  # the channels -> a connection to carry them


class ChannelMoved(Exception):
    """Redis answered a SSUBSCRIBE with MOVED: another master serves the channel's slot now."""


class Subscriber:
    def __init__(
        self,
        connection: AbstractConnection,
        *,
        where: str,
        on_message: MessageHandler,
        on_connected: Callable[[], Awaitable[None]],
        ping_interval: float = 5.0,
        sharded: bool = False,
        connect: Connect | None = None,
        on_dropped: DroppedHandler | None = None,
    ) -> None:
        self._conn = connection
        self._connect = connect
        self._sharded = sharded
        self._on_dropped = on_dropped
        # sharded pub/sub (Redis >= 7): the commands and the kinds of frames they answer with
        self._subscribe_command, self._unsubscribe_command = (
            ("SSUBSCRIBE", "SUNSUBSCRIBE") if sharded else ("SUBSCRIBE", "UNSUBSCRIBE")
        )
        self._message_kind, self._confirm_kind = ("smessage", "ssubscribe") if sharded else ("message", "subscribe")
        self._unsubscribed_kind = "sunsubscribe" if sharded else "unsubscribe"
        self._unsubscribing: dict[str, int] = {}  # our own UNSUBSCRIBEs not yet answered, per channel
        self._where = where  # host:port/db for the log, never the password
        self._on_message = on_message
        self._on_connected = on_connected
        self._ping_interval = ping_interval
        self._channels: set[str] = set()
        self._confirms: dict[str, list[asyncio.Future[None]]] = {}
        self._held: list[tuple[str, str]] | None = None  # live messages held back while reconnecting
        self._ready = False  # subscribed to everything and caught up: `subscribe` may send
        self._lost = False  # the outage was logged; log its end
        self._was_up = False  # the current connection came fully up
        self._first_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heard = False  # a frame arrived since the keep-alive last looked

    @property
    def up(self) -> bool:
        return self._ready

    @property
    def channels(self) -> set[str]:
        return set(self._channels)

    async def start(self, channels: set[str], timeout: float) -> None:
        """Connect and subscribe; raise BackendUnavailable when Redis does not answer within `timeout`."""
        self._channels.update(channels)
        self._task = asyncio.create_task(self._run(), name="redis-pubsub")
        try:
            await asyncio.wait_for(self._first_up.wait(), timeout)
        except TimeoutError:
            await self.close()
            raise BackendUnavailable(f"cannot reach Redis at {self._where}") from None

    async def close(self) -> None:
        self._ready = False
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._conn.disconnect(nowait=True)

    # channels ----------------------------------------------------------------
    async def subscribe(self, channel: str) -> None:
        """Subscribe and wait for Redis' confirmation: from then on this node gets the channel's messages."""
        # Check the connection too: redis-py reconnects a closed connection on send, which must
        # only ever happen in the reconnect loop.
        if not (self._ready and self._conn.is_connected):
            raise BackendUnavailable(f"Redis at {self._where} is unavailable")
        self._channels.add(channel)
        confirmed = asyncio.get_running_loop().create_future()
        self._confirms.setdefault(channel, []).append(confirmed)
        try:
            await self._conn.send_command(self._subscribe_command, channel, check_health=False)
            await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT)
        except ChannelMoved:
            self._channels.discard(channel)
            raise
        except REDIS_DOWN_OR_SLOW as exc:
            self._channels.discard(channel)
            raise BackendUnavailable(f"could not subscribe at {self._where}: {exc}") from exc
        finally:
            waiting = self._confirms.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    async def unsubscribe(self, channel: str) -> None:
        """Stop a channel; while Redis is away this only means not subscribing again."""
        self._channels.discard(channel)
        if self._ready and self._conn.is_connected:
            self._unsubscribing[channel] = self._unsubscribing.get(channel, 0) + 1
            with contextlib.suppress(*REDIS_DOWN):  # the reconnect subscribes only to the channels still wanted
                await self._conn.send_command(self._unsubscribe_command, channel, check_health=False)

    # the connection's life ----------------------------------------------------
    async def _run(self) -> None:
        delay = BACKOFF_MIN
        while True:
            try:
                await self._serve_connection()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever broke the connection: reconnect
                # (CLUSTERDOWN: a cluster without a majority of its masters, as during a failover)
                if not isinstance(exc, (*REDIS_DOWN, BackendUnavailable, redis.exceptions.ClusterDownError)):
                    log.error("pub/sub connection failed unexpectedly", exc_info=exc)
                self._went_down(exc)
            if self._was_up:  # a connection that had fully come up starts the backoff over
                self._was_up = False
                delay = BACKOFF_MIN
            await self._conn.disconnect(nowait=True)
            # jitter: nodes that lost Redis together do not all come back in the same millisecond
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _serve_connection(self) -> None:
        """Connect, subscribe to everything, catch up, then read until the connection breaks."""
        self._ready = False
        if self._connect is not None:
            self._conn = await self._connect(set(self._channels))
        await self._conn.connect()  # type: ignore[no-untyped-call]
        self._held = []
        self._unsubscribing = {}
        # Two tasks per connection, not a timer per frame: one reads, one watches for silence.
        connection = {
            asyncio.create_task(self._read_loop(), name="redis-pubsub-reader"),
            asyncio.create_task(self._keep_alive(), name="redis-pubsub-ping"),
        }
        try:
            await self._subscribe_all(connection)
            await self._on_connected()
            self._release_held()
            self._came_up()
            done, _ = await asyncio.wait(connection, return_when=asyncio.FIRST_COMPLETED)
            _raise_from(done)
        finally:
            self._ready = False
            self._held = None
            for task in connection:
                task.cancel()
            await asyncio.gather(*connection, return_exceptions=True)
            self._fail_confirms()

    async def _subscribe_all(self, connection: set[asyncio.Task[None]]) -> None:
        channels = sorted(self._channels)
        if not channels:
            return
        loop = asyncio.get_running_loop()
        waiting = [loop.create_future() for _ in channels]
        for channel, future in zip(channels, waiting, strict=True):
            self._confirms.setdefault(channel, []).append(future)
        if self._sharded:  # one command per channel: a SSUBSCRIBE's channels must share one slot
            await self._conn.send_packed_command(
                self._conn.pack_commands([(self._subscribe_command, channel) for channel in channels]),
                check_health=False,
            )
        else:
            await self._conn.send_command(self._subscribe_command, *channels, check_health=False)
        confirmed = asyncio.ensure_future(asyncio.gather(*waiting, return_exceptions=True))
        done, _ = await asyncio.wait(
            [confirmed, *connection], timeout=CONFIRM_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if confirmed not in done:
            confirmed.cancel()
            _raise_from(connection & done)  # why the connection broke
            raise redis.exceptions.TimeoutError(f"Redis did not confirm {len(channels)} subscriptions")
        for channel, outcome in zip(channels, confirmed.result(), strict=True):
            if isinstance(outcome, ChannelMoved):  # its slot moved while this connection was away
                self._drop(channel)
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _read_loop(self) -> None:
        """Read frames until the connection fails.

        With hiredis (the declared dependency) frames are parsed and handled as the socket
        delivers them, in the transport's own callback: redis-py's read_response costs a timer,
        a current-task lookup, a logger lookup and a task wake-up per frame, which in a room of
        two is most of what a message costs this node (issue 27). This task then only waits for
        the connection to end. Without hiredis read_response it is."""
        source = _frame_source(self._conn)
        if source is None:
            while True:
                try:
                    frame = await self._conn.read_response(
                        timeout=self._ping_interval, disconnect_on_error=False, push_request=True
                    )  # RESP3 delivers pub/sub as pushes
                except redis.exceptions.ResponseError as error:  # MOVED: the answer to a SSUBSCRIBE of ours
                    frame = error
                if frame is not None:
                    self._heard = True
                    self._frame(frame)
        reader, stream = source
        received = functools.partial(self._received, reader, stream)
        # The stream's protocol hands it every read (StreamReaderProtocol.data_received calls
        # feed_data): from now on the bytes go to hiredis instead of the stream's buffer, so the
        # stream only ever tells of the connection's end (EOF, or the error set below).
        stream.feed_data = received  # type: ignore[method-assign]
        received(b"")  # frames hiredis holds already
        try:
            while True:
                data = await stream.read(READ_SIZE)  # only past bytes (none) or the end
                if not data:
                    raise redis.exceptions.ConnectionError("Redis closed the pub/sub connection")
                received(data)
        except OSError as exc:
            raise redis.exceptions.ConnectionError(f"pub/sub connection lost: {exc}") from exc
        finally:  # a connection given up delivers nothing more, as when this task read it
            stream.feed_data = _ignore  # type: ignore[method-assign,assignment]

    def _received(self, reader: hiredis.Reader, stream: asyncio.StreamReader, data: bytes) -> None:
        """Bytes off the socket: handle every frame they complete, in order."""
        try:
            if data:
                self._heard = True
                reader.feed(data)
            while (frame := reader.gets()) is not NOT_ENOUGH_DATA:
                self._frame(frame)
        except Exception as exc:  # noqa: BLE001 - an error reply, or hiredis refusing the bytes: ends the connection
            stream.feed_data = _ignore  # type: ignore[method-assign,assignment]
            stream.set_exception(exc)  # raised by the read in _read_loop

    def _frame(self, frame: Any) -> None:
        """One frame of the connection, in the order Redis sent them."""
        kind = frame[0] if isinstance(frame, list) and frame else None  # a PING answers "PONG" in RESP3
        if kind == self._message_kind:
            self._dispatch(frame[1], frame[2])
        elif kind == self._confirm_kind:
            self._confirm(frame[1])
        elif kind == self._unsubscribed_kind:
            self._unsubscribed(frame[1])
        elif isinstance(frame, redis.exceptions.MovedError) and self._sharded:  # the answer to a SSUBSCRIBE of ours
            self._moved(frame.slot_id)
        elif isinstance(frame, Exception):  # an error reply (or a connection error hiredis handed over)
            raise frame

    async def _keep_alive(self) -> None:
        """A connection silent for a whole ping interval is PINGed, then given up when the next
        interval passes without a word from Redis either."""
        pinged = False
        while True:
            self._heard = False
            await asyncio.sleep(self._ping_interval)
            if self._heard:
                pinged = False
            elif pinged:
                raise redis.exceptions.TimeoutError("Redis did not answer a PING on the pub/sub connection")
            else:
                await self._conn.send_command("PING", check_health=False)
                pinged = True

    def _dispatch(self, channel: str, payload: str) -> None:
        if self._held is not None:
            self._held.append((channel, payload))
        else:
            self._on_message(channel, payload)

    def _confirm(self, channel: str) -> None:
        waiting = self._confirms.get(channel)
        if waiting:
            future = waiting.pop(0)
            if not future.done():
                future.set_result(None)
            if not waiting:
                del self._confirms[channel]

    def _unsubscribed(self, channel: str) -> None:
        """An UNSUBSCRIBE frame: the answer to ours, or, unasked, Redis dropping a shard channel
        whose slot moved to another master (Redis >= 7 does so when the slot leaves it)."""
        asked = self._unsubscribing.get(channel, 0)
        if asked:
            if asked == 1:
                del self._unsubscribing[channel]
            else:
                self._unsubscribing[channel] = asked - 1
        elif channel in self._channels:
            self._drop(channel)

    def _moved(self, slot: int) -> None:
        """MOVED for a SSUBSCRIBE: the channels of that slot waiting for a confirmation are not served here."""
        for channel in [c for c in self._confirms if key_slot(c.encode()) == slot]:
            for future in self._confirms.pop(channel):
                if not future.done():
                    future.set_exception(ChannelMoved(channel))
                    future.exception()  # retrieved: a subscribe that gave up waiting raises nothing more

    def _drop(self, channel: str) -> None:
        """A wanted channel this connection no longer carries: its owner subscribes it elsewhere."""
        self._channels.discard(channel)
        if self._on_dropped is not None:
            self._on_dropped(channel)

    def _fail_confirms(self) -> None:
        for waiting in self._confirms.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(redis.exceptions.ConnectionError("pub/sub connection lost"))
                    future.exception()  # retrieved: nobody may be waiting any more
        self._confirms.clear()

    def _release_held(self) -> None:
        held, self._held = self._held or [], None
        for channel, payload in held:
            self._on_message(channel, payload)

    # the log says once that Redis is gone and once that it is back ---------------
    def _came_up(self) -> None:
        self._ready = True
        self._was_up = True
        if self._lost:
            self._lost = False
            if self._first_up.is_set():
                log.info("Redis is back at %s: resubscribed to %d channels", self._where, len(self._channels))
            else:
                log.info("connected to Redis at %s", self._where)
        self._first_up.set()

    def _went_down(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if self._lost:
            log.debug("Redis at %s still unavailable: %s", self._where, reason)
            return
        self._lost = True
        if self._first_up.is_set():
            log.warning(
                "lost Redis at %s (%s): sends answer `unavailable`; reconnecting with backoff", self._where, reason
            )
        else:
            log.warning("cannot reach Redis at %s (%s); retrying with backoff", self._where, reason)


def _frame_source(connection: AbstractConnection) -> tuple[hiredis.Reader, asyncio.StreamReader] | None:
    """The hiredis reader and the socket stream of a connected redis-py connection, or None when it
    parses with something else. redis-py keeps both private (`_parser._reader`, `_parser._stream`);
    they are read only here, and a redis-py without them means read_response."""
    parser = getattr(connection, "_parser", None)
    reader = getattr(parser, "_reader", None)
    stream = getattr(parser, "_stream", None)
    if (
        isinstance(parser, _AsyncHiredisParser)
        and isinstance(reader, hiredis.Reader)
        and isinstance(stream, asyncio.StreamReader)
    ):
        return reader, stream
    return None


def _ignore(data: bytes) -> None:
    """What a broken connection's remaining bytes go to."""


def _raise_from(done: Iterable[asyncio.Task[None]]) -> None:
    """Raise why a task of the connection ended (each runs until the connection breaks)."""
    for task in done:
        task.result()
        raise redis.exceptions.ConnectionError(f"the pub/sub connection's {task.get_name()} task ended")
