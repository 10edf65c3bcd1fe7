"""One long-lived, pipelined connection per node for the Lua scripts (issue 27), as centrifuge's
Redis engine pipelines its commands through rueidis.

Every call through redis-py's pool (connection.py) takes a connection out, writes, reads the reply
through an asyncio StreamReader and hiredis, and gives the connection back: a profile of the node
that accepts messages put about a quarter of its busy time in the send script's call. Here the
node keeps one connection, an asyncio.Protocol: a call packs its command with hiredis, writes it
with transport.write and awaits a future; the replies, fed to a hiredis.Reader as they arrive
(data_received), resolve the futures in the order the commands went out (Redis answers one
connection's commands in order). Many calls are in flight on the connection at once; none takes
a connection out, and none starts a task.

It is as dependable as the pool it stands beside:
- it connects as the pool's connections do (the URL's username, password and db, the node's
  client name) on first use, and again on the first call after the connection broke;
- when the connection breaks, every call in flight fails with redis-py's ConnectionError (a call
  written before the break may or may not have run: as with the pool, nothing is retried here);
- a reply that takes longer than the pool's socket_timeout fails its call with redis-py's
  TimeoutError and drops the connection (the replies behind it would otherwise be matched to
  the wrong calls);
- error replies reach the caller as redis-py raises them (its own parser's classes: NoScriptError,
  BusyLoadingError, ...);
- when the socket does not take a command at once and the transport's buffer is over its
  high-water mark, the call waits for it to drain under the same timeout, as LeanConnection does.

A caller that gives up (cancelled) leaves its reply to be read and dropped when it comes. So only
commands Redis answers at once belong here, whose first argument is one word: the scripts' EVALSHA
and SCRIPT LOAD; never a blocking one (BLPOP), which would hold every reply behind it. A connection
that is not plain TCP (TLS, a Unix socket) keeps the pool (`for_pool`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import hiredis
import redis.asyncio
import redis.exceptions
from redis._parsers.base import BaseParser
from redis._parsers.encoders import Encoder
from redis.typing import EncodableT

from chat.backend.redis.connection import LeanConnection

_NOT_ENOUGH_DATA = object()  # hiredis.Reader's answer while a reply is incomplete (None is a reply)


def pack(args: tuple[EncodableT, ...], encoder: Encoder) -> bytes:
    """A command as redis-py writes it: hiredis packs str (UTF-8), bytes, int and float itself;
    anything else (bytearray, memoryview, another encoding) goes through redis-py's encoder first,
    which refuses what redis-py refuses (a bool: DataError)."""
    packed: bytes
    if encoder.encoding in ("utf-8", "utf8"):
        try:  # not contextlib.suppress: a context manager costs more than the packing (issue 27)
            packed = hiredis.pack_command(args)  # type: ignore[arg-type]  # its stub says a 1-tuple: any length
            return packed
        except TypeError:
            pass
    encoded = tuple(bytes(encoder.encode(arg)) for arg in args)  # type: ignore[no-untyped-call]
    packed = hiredis.pack_command(encoded)  # type: ignore[arg-type]
    return packed


class _Replies(asyncio.Protocol):
    """The connection: commands out, replies matched to their calls in order."""

    def __init__(self, reader: hiredis.Reader, timeout: float | None, where: str) -> None:
        self._reader = reader
        self._timeout = timeout
        self._where = where
        self._loop = asyncio.get_running_loop()
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()  # each call in flight and its deadline
        self._timer: asyncio.TimerHandle | None = None  # at the oldest call's deadline
        self._transport: asyncio.Transport | None = None
        # while the transport's buffer is over its high-water mark: resolved when it drains (or the connection drops)
        self.drained: asyncio.Future[None] | None = None
        self.broken = False

    # the caller's side -----------------------------------------------------------------------
    def request(self, command: bytes) -> asyncio.Future[Any]:
        """Write a packed command; the future gets its reply (or the error)."""
        reply: asyncio.Future[Any] = self._loop.create_future()
        transport = self._transport
        if self.broken or transport is None or transport.is_closing():  # closing: connection_lost is on its way
            self.drop(redis.exceptions.ConnectionError(f"Connection to {self._where} is closing."))
            reply.set_exception(redis.exceptions.ConnectionError(f"Connection to {self._where} is closed."))
            return reply
        transport.write(command)
        if self._timeout is None:
            self._waiting.append((reply, 0.0))
            return reply
        deadline = self._loop.time() + self._timeout
        self._waiting.append((reply, deadline))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._check_deadline)
        return reply

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its low-water mark again; on the timeout the
        connection is dropped (the command is half written) and the call fails as redis-py's does."""
        drained = self.drained
        if drained is None:  # drained meanwhile
            return
        try:
            await asyncio.wait_for(asyncio.shield(drained), self._timeout)
        except TimeoutError:
            self.drop(redis.exceptions.TimeoutError("Timeout writing to socket"))
            raise redis.exceptions.TimeoutError("Timeout writing to socket") from None

    def drop(self, error: redis.exceptions.RedisError) -> None:
        """Close the connection at once; the oldest call in flight fails with `error`, the others
        with ConnectionError (their replies will not come)."""
        if self.broken:
            return
        self.broken = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()
        behind = f"Connection to {self._where} was dropped: {error}"
        for reply, _ in self._waiting:
            if not reply.done():
                reply.set_exception(error)
            error = redis.exceptions.ConnectionError(behind)
        self._waiting.clear()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)  # the caller's reply future holds the error
        self.drained = None

    def _check_deadline(self) -> None:
        self._timer = None
        if not self._waiting:
            return
        deadline = self._waiting[0][1]
        if self._loop.time() >= deadline:
            self.drop(redis.exceptions.TimeoutError(f"Timeout reading from {self._where}"))
        else:  # that call was answered: wait for the next one's deadline
            self._timer = self._loop.call_at(deadline, self._check_deadline)

    # the event loop's side ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is one without deriving from it

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self._waiting
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except redis.exceptions.InvalidResponse as exc:  # not RESP: nothing after it can be read
                self.drop(exc)
                return
            except UnicodeDecodeError as exc:  # one reply that does not decode: hiredis moved past it
                reply = exc
            if reply is _NOT_ENOUGH_DATA:
                return
            if not waiting:
                self.drop(redis.exceptions.InvalidResponse(f"{self._where} sent a reply no call waits for"))
                return
            future = waiting.popleft()[0]
            if future.done():  # its caller was cancelled: the reply is read and dropped
                continue
            if isinstance(reply, Exception):  # an error reply, as redis-py's parser made it, raised as redis-py does
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def eof_received(self) -> bool | None:
        return None  # the transport closes, and connection_lost fails what is in flight

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"Error while reading from {self._where} : {exc}" if exc else f"Connection closed by {self._where}."
        self.drop(redis.exceptions.ConnectionError(reason))

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.drained = None


class PipelinedRedis:
    """A node's pipelined connection to one Redis (not Redis Cluster), made on first use and again
    after it broke. `execute` runs one command; any number may be in flight."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        client_name: str | None = None,
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = None,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        decode_responses: bool = False,
    ) -> None:
        self._host, self._port, self._db = host, port, db
        self._username, self._password, self._client_name = username, password, client_name
        self._timeout, self._connect_timeout = socket_timeout, socket_connect_timeout
        self._encoder = Encoder(encoding, encoding_errors, decode_responses)  # type: ignore[no-untyped-call]
        self._decode = decode_responses
        self._replies: _Replies | None = None
        self._connecting: asyncio.Task[_Replies] | None = None  # the attempt that calls arriving meanwhile share

    @classmethod
    def for_pool(cls, pool: redis.asyncio.ConnectionPool) -> PipelinedRedis | None:
        """One connecting where, and as, the pool's connections do; None when they are not plain TCP
        (TLS, a Unix socket) or authenticate through a credential provider: those keep the pool."""
        kwargs = pool.connection_kwargs
        if pool.connection_class is not LeanConnection or kwargs.get("credential_provider") is not None:
            return None
        return cls(
            host=kwargs.get("host", "localhost"),
            port=int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db") or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            client_name=kwargs.get("client_name"),
            socket_timeout=kwargs.get("socket_timeout"),
            socket_connect_timeout=kwargs.get("socket_connect_timeout"),
            encoding=kwargs.get("encoding", "utf-8"),
            encoding_errors=kwargs.get("encoding_errors", "strict"),
            decode_responses=bool(kwargs.get("decode_responses", False)),
        )

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    async def execute(self, *args: EncodableT) -> Any:
        """Run one command (its name one word) and return its reply, or raise its error."""
        return await self.execute_packed(pack(args, self._encoder))

    def pack(self, args: tuple[EncodableT, ...]) -> bytes:
        """`args` as this connection writes a command (`pack`): for callers that pack a part once."""
        return pack(args, self._encoder)

    async def execute_packed(self, command: bytes) -> Any:
        """`execute`, for a command already packed (RESP: an array of bulk strings)."""
        replies = self._replies
        if replies is None or replies.broken:
            replies = await self._connect()
        reply = replies.request(command)
        if replies.drained is not None:
            try:
                await replies.drain()
            except BaseException:
                _abandon(reply)
                raise
        return await reply

    async def aclose(self) -> None:
        """Close the connection (calls in flight fail with ConnectionError); a later call reconnects."""
        if self._connecting is not None:
            self._connecting.cancel()
        if self._replies is not None:
            self._replies.drop(redis.exceptions.ConnectionError(f"Connection to {self.where} was closed by this node."))
            self._replies = None

    async def _connect(self) -> _Replies:
        """The connection, from one attempt that every call arriving meanwhile waits for and hears
        the outcome of (with Redis unreachable, every call fails after one connect timeout, as with
        the pool, not one after another). A caller cancelled while waiting leaves it to the others."""
        attempt = self._connecting
        if attempt is None:
            attempt = self._connecting = asyncio.ensure_future(self._open())
            attempt.add_done_callback(self._attempt_ended)
        return await asyncio.shield(attempt)

    def _attempt_ended(self, attempt: asyncio.Task[_Replies]) -> None:
        self._connecting = None
        if not attempt.cancelled():
            attempt.exception()  # its callers heard it; asyncio would log it again when none is left

    async def _open(self) -> _Replies:
        reader_options: dict[str, Any] = {
            "protocolError": redis.exceptions.InvalidResponse,
            "replyError": BaseParser.parse_error,  # redis-py's error classes, as its hiredis parser makes them
            "notEnoughData": _NOT_ENOUGH_DATA,
        }
        if self._decode:
            reader_options.update(encoding=self._encoder.encoding, errors=self._encoder.encoding_errors)
        replies = _Replies(hiredis.Reader(**reader_options), self._timeout, self.where)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: replies, self._host, self._port), self._connect_timeout
            )
        except TimeoutError:
            raise redis.exceptions.TimeoutError(f"Timeout connecting to {self.where}") from None
        except OSError as exc:
            raise redis.exceptions.ConnectionError(f"Error connecting to {self.where}: {exc}") from exc
        try:
            await self._greet(replies)
        except BaseException:
            replies.drop(redis.exceptions.ConnectionError(f"Could not set up the connection to {self.where}"))
            raise
        self._replies = replies
        return replies

    async def _greet(self, replies: _Replies) -> None:
        """What redis-py's connection says first: AUTH, CLIENT SETNAME, SELECT, written together."""
        commands: list[tuple[EncodableT, ...]] = []
        if self._password is not None:
            commands.append(("AUTH", self._username, self._password) if self._username else ("AUTH", self._password))
        if self._client_name:
            commands.append(("CLIENT", "SETNAME", self._client_name))
        if self._db:
            commands.append(("SELECT", self._db))
        await asyncio.gather(*(replies.request(pack(command, self._encoder)) for command in commands))


def _abandon(reply: asyncio.Future[Any]) -> None:
    """A reply its caller no longer waits for: read and dropped when it comes, its error not logged."""
    if not reply.cancel() and not reply.cancelled():
        reply.exception()  # retrieved: asyncio would log an error nobody read
