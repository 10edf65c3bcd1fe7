"""redis-py's TCP connection, writing a command without a task per call, packed in one C call, and
its pool and client without their per-command wrappers (issue 27).

redis-py sends every command through `asyncio.wait_for(..., socket_timeout)`, which on Python 3.11
wraps the write in a new task: a task, a turn of the event loop and a timer per Redis call, for a
write that almost always goes to the kernel at once. Here the command is written directly; only
when the socket does not take it all does the send wait for the transport to drain, under the
same timeout and with redis-py's own handling. Anything unexpected goes redis-py's way.

A command is packed by hiredis at once: redis-py first runs every argument through its encoder
(several isinstance checks and a call each: a send's script has 30 arguments), which hiredis does
itself in C for what a call passes here (str as UTF-8, bytes, int, float written as repr writes it).

LeanPool and LeanRedis take out of each command what babelroom does not use: redis-py 8 awaits
four observability records, a lock and a release event in the pool, and a retry closure and two
more records in the client, per command (~10-18 us of CPU of ~45 per HGET on this machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import hiredis
import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import AbstractConnection
from redis.typing import EncodableT


class LeanConnection(redis.asyncio.Connection):
    def pack_command(self, *args: EncodableT) -> list[bytes]:
        # redis-py splits a first argument of several words ("CLIENT SETNAME"); another encoding than
        # UTF-8, a memoryview or a bool (TypeError from hiredis) go its way too
        if isinstance(args[0], str) and " " not in args[0] and self.encoder.encoding in ("utf-8", "utf8"):
            try:
                return [hiredis.pack_command(args)]  # type: ignore[arg-type]  # its stub says a 1-tuple: any length
            except TypeError:
                pass
        return super().pack_command(*args)

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        writer = self._writer
        if (
            writer is None
            or not self.is_connected
            or writer.transport.is_closing()
            or writer.transport.get_write_buffer_size()
        ):
            await super().send_packed_command(command, check_health)  # connect, or wait for a full buffer
            return
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            writer.writelines(command)
            if writer.transport.get_write_buffer_size():  # the socket took part of it: wait as redis-py does
                await asyncio.wait_for(writer.drain(), self.socket_timeout)
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise redis.exceptions.TimeoutError("Timeout writing to socket") from None
        except BaseException as exc:
            await self.disconnect(nowait=True)
            if isinstance(exc, Exception) and not isinstance(exc, redis.exceptions.RedisError):
                raise redis.exceptions.ConnectionError(f"Error while writing to socket: {exc!r}") from exc
            raise


class LeanPool(redis.asyncio.ConnectionPool):
    """redis-py's pool, handing out and taking back an idle connection without its lock, its
    observability counters (four awaited calls per command) and its release event, when nothing
    waits on the lock: in one event loop the pop and the add cannot interleave. Making a
    connection, one to reconnect and a contended pool go redis-py's way. What is skipped serves
    features babelroom does not use (redis-py's OpenTelemetry metrics, re-authentication by a
    credential provider on release)."""

    async def get_connection(self, *args: Any, **options: Any) -> AbstractConnection:
        if not self._available_connections or self._lock.locked():
            connection: AbstractConnection = await super().get_connection(*args, **options)  # type: ignore[no-untyped-call]
            return connection
        connection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)  # connected, nothing left unread: else reconnected
        except BaseException:
            await super().release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        if self._lock.locked() or connection.should_reconnect():  # type: ignore[no-untyped-call]
            await super().release(connection)
            return
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)


class LeanRedis(redis.asyncio.Redis):
    """redis-py's client, running a command without its per-call retry closure and observability
    records: take a connection, write, read, give it back. Only for a pool that retries nothing
    (the backend's: Retry(NoBackoff(), 0)); what the retry object did with no retries left is done
    here: a connection that failed is closed, so it is not handed out again."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.single_connection_client or self.connection is not None:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        pool = self.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_command(*args)
            return await self.parse_response(connection, args[0], **options)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, TimeoutError) as exc:
            await connection.disconnect(error=exc)
            raise
        finally:
            await pool.release(connection)
