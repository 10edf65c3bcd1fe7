"""One connection's output: whole WebSocket frames written in order, bounded, and closed (like
centrifuge's writer.go).

Frames are whole WebSocket frames (chat.wire), most of them built once for every reader of an
event. While the socket takes them they are written straight to its transport (no queue, no task
switch), all of one turn of the event loop in one write (`push` corks, the turn uncorks); when its
buffer is full they wait in a backlog drained by a task that exists only meanwhile. The backlog is
bounded twice: a reader `frames_max` frames or more than `bytes_max` bytes behind is aborted with
1013 (its memberships end at once, through the owner's `writer_aborted`). A close asked for with
`close` goes out after the frames queued before it; when even the close frame cannot be written
within CLOSE_WRITE_SECONDS the transport is dropped (see chat.serving). Whatever goes wrong
writing to one socket closes that socket only, logged once.

Without the `babelroom.transport` extension (another ASGI server) frames go out as ASGI
`websocket.send` messages through the same backlog.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol, cast

from starlette.types import Send

from chat.serving import RawSocket
from chat.wire import payload_of

log = logging.getLogger("babelroom.session")

CLOSE_OVERLOADED = 1013
CLOSE_FLUSH_SECONDS = 5.0  # a closing connection's queued frames get this long to go out
CLOSE_WRITE_SECONDS = 1.5  # a forced close that cannot be written within this drops the transport
TOO_SLOW = "too slow: reconnect and join with since"


class Owner(Protocol):
    """What a writer needs of its connection (chat.session.Session is one)."""

    def describe(self) -> str:
        """The connection in a log line."""

    async def writer_aborted(self) -> None:
        """The connection is closing now, its queued frames dropped: end its memberships."""


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class Writer:
    """The writing half of one WebSocket connection."""

    __slots__ = (
        "send_asgi",
        "socket",
        "owner",
        "_frames_max",
        "_bytes_max",
        "_corked",
        "_corked_bytes",
        "_backlog",
        "_backlog_bytes",
        "_drainer",
        "closed",
        "_closing",
        "loop",
    )

    def __init__(
        self, owner: Owner, send_asgi: Send, socket: RawSocket | None, *, frames_max: int, bytes_max: int
    ) -> None:
        self.send_asgi = send_asgi
        self.socket = socket  # None: frames go out as ASGI messages
        self.owner = owner
        self._frames_max = frames_max
        self._bytes_max = bytes_max
        self._corked: list[bytes] | None = None  # frames of this turn of the event loop, not yet written
        self._corked_bytes = 0
        # Frames waiting for the socket to drain; None while frames can be written at once.
        self._backlog: deque[bytes | _Close] | None = None
        self._backlog_bytes = 0  # the frames' bytes in the backlog
        self._drainer: asyncio.Task[None] | None = None  # runs only while there is a backlog
        self.closed = False  # no frame is taken any more (a close is queued or under way)
        self._closing: asyncio.Task[None] | None = None  # an abort under way
        # The loop its socket lives on, asked once: asyncio.get_running_loop() makes a getpid()
        # system call each time (Python 3.11), which in a room of two would be one per message.
        self.loop = asyncio.get_running_loop()

    @property
    def backlog(self) -> tuple[int, int]:
        """(frames, bytes) waiting for the socket to drain."""
        backlog = self._backlog
        if backlog is None:
            return 0, 0
        return sum(1 for item in backlog if not isinstance(item, _Close)), self._backlog_bytes

    def push(self, frame: bytes) -> None:
        """Send a whole WebSocket frame: written at once while the socket takes it, else queued; a
        reader `frames_max` frames or more than `bytes_max` bytes behind is aborted with 1013."""
        if self.closed:
            return
        backlog = self._backlog
        if backlog is None:
            socket = self.socket
            if socket is not None and socket.writable.is_set():
                # Written at the end of this turn of the event loop, with whatever else this
                # reader gets in the same turn: one system call for a burst, not one per frame.
                corked = self._corked
                if corked is None:
                    self._corked, self._corked_bytes = [frame], len(frame)
                    _TURN.add(self)
                    return
                if self._corked_bytes + len(frame) <= self._bytes_max:
                    corked.append(frame)
                    self._corked_bytes += len(frame)
                    return
                # A turn's burst as large as the byte cap (one socket answering many requests
                # without yielding): write it now, so the transport says whether it takes more.
                self.uncork()
                if self._backlog is None and socket.writable.is_set():
                    self._corked, self._corked_bytes = [frame], len(frame)  # still in this turn's list
                    return
            backlog = self._backlog
            if backlog is None:
                backlog = self._backlog = deque()
                self._drainer = asyncio.create_task(self._drain())
        queued = self._backlog_bytes + len(frame)
        if len(backlog) >= self._frames_max or queued > self._bytes_max:
            log.info(
                "closing %s: %d frames, %d bytes behind, a frame of %d bytes more",
                self.owner.describe(),
                len(backlog),
                self._backlog_bytes,
                len(frame),
            )
            self.abort(CLOSE_OVERLOADED, TOO_SLOW)
            return
        backlog.append(frame)
        self._backlog_bytes = queued

    def push_all(self, frames: list[bytes], size: int) -> None:
        """`push` each of `frames` (`size`: their bytes), in order, in one call: a batch that many
        readers get alike (the lobby's room summaries) costs each reader one call, not one a frame."""
        if self.closed:
            return
        socket = self.socket
        if self._backlog is None and socket is not None and socket.writable.is_set():
            corked = self._corked
            if corked is None:
                if size <= self._bytes_max:
                    self._corked, self._corked_bytes = list(frames), size  # a copy: more may be appended
                    _TURN.add(self)
                    return
            elif self._corked_bytes + size <= self._bytes_max:
                corked.extend(frames)
                self._corked_bytes += size
                return
        for frame in frames:  # the long way: the byte cap, the backlog, the ASGI path
            self.push(frame)

    def uncork(self) -> None:
        """Write the frames pushed during this turn of the event loop, in one write."""
        frames, self._corked, self._corked_bytes = self._corked, None, 0
        if not frames or self.socket is None:
            return
        if self._backlog is None and self.socket.writable.is_set():
            self.socket.write_frame(frames[0] if len(frames) == 1 else b"".join(frames))
            return
        # The transport filled up meanwhile (a ping or a close went out): these go first, in order.
        self._backlog_bytes += sum(len(frame) for frame in frames)
        if self._backlog is None:
            self._backlog = deque(frames)
            self._drainer = asyncio.create_task(self._drain())
        else:
            self._backlog.extendleft(reversed(frames))

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent (at once when too many wait)."""
        if self.closed:
            return
        self.uncork()
        if self._backlog is not None and (
            len(self._backlog) >= self._frames_max or self._backlog_bytes > self._bytes_max
        ):
            self.abort(code, reason)
            return
        self.closed = True
        if self._backlog is None:
            self._backlog = deque()
            self._drainer = asyncio.create_task(self._drain())
        self._backlog.append(_Close(code, reason))

    def abort(self, code: int, reason: str) -> None:
        """Close now, dropping whatever is queued; the owner's memberships end at once."""
        self.closed = True
        self._corked, self._corked_bytes = None, 0
        if self._closing is None:
            self._closing = asyncio.create_task(self._close_now(code, reason))

    async def finish(self) -> None:
        """The connection ended: let a requested close go out after the frames before it (for at
        most CLOSE_FLUSH_SECONDS), stop writing otherwise, and wait for an abort under way."""
        drainer = self._drainer
        if drainer is not None and not drainer.done():
            if self.closed:
                # asyncio.wait neither raises nor cancels: the drainer may have been cancelled already
                await asyncio.wait({drainer}, timeout=CLOSE_FLUSH_SECONDS)
            self.closed = True
            drainer.cancel()
            await asyncio.gather(drainer, return_exceptions=True)
        if self._closing is not None:
            await asyncio.gather(self._closing, return_exceptions=True)

    async def _close_now(self, code: int, reason: str) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            await asyncio.gather(self._drainer, return_exceptions=True)
        self._backlog = None
        self._backlog_bytes = 0
        await self.owner.writer_aborted()
        await self.send_close(code, reason)
        # The close frame may sit behind megabytes the reader never takes: do not wait for it.
        asyncio.get_running_loop().call_later(CLOSE_WRITE_SECONDS, self.drop_transport)

    async def send_close(self, code: int, reason: str) -> None:
        """Send a close frame; one that cannot be written within CLOSE_WRITE_SECONDS drops the transport."""
        try:
            await asyncio.wait_for(
                self.send_asgi({"type": "websocket.close", "code": code, "reason": reason}), CLOSE_WRITE_SECONDS
            )
        except TimeoutError:
            log.info(
                "closing %s: the close could not be written within %g s; dropping the connection",
                self.owner.describe(),
                CLOSE_WRITE_SECONDS,
            )
            self.drop_transport()
        except Exception:  # noqa: BLE001 - the socket may be gone already, whatever it raises then
            pass

    def drop_transport(self) -> None:
        """Drop the connection without waiting for anything to be written."""
        if self.socket is not None:
            self.socket.abort_transport()

    async def _drain(self) -> None:
        """Write the backlog as the socket takes it; a queued close goes out after the frames before it."""
        backlog = self._backlog
        assert backlog is not None
        socket = self.socket
        try:
            while backlog:
                item = backlog[0]
                if isinstance(item, _Close):
                    backlog.clear()
                    self._backlog_bytes = 0
                    await self.send_close(item.code, item.reason)
                    return
                if socket is None:
                    await self.send_asgi({"type": "websocket.send", "text": payload_of(item).decode()})
                    backlog.popleft()
                    self._backlog_bytes -= len(item)
                    continue
                await socket.writable.wait()
                while backlog and not isinstance(backlog[0], _Close) and socket.writable.is_set():
                    frame = cast(bytes, backlog.popleft())  # not a _Close: checked above
                    self._backlog_bytes -= len(frame)
                    if not socket.write_frame(frame):
                        self.closed = True  # the connection is going
                        backlog.clear()
                        return
        except (OSError, RuntimeError):  # the socket is gone or closing
            self.closed = True
        finally:
            if self._backlog is backlog:
                self._backlog = None  # from now on frames are written at once again
                self._backlog_bytes = 0


class _Turn:
    """The writers that got frames during this turn of the event loop; each writes them at its end."""

    __slots__ = ("_writers",)

    def __init__(self) -> None:
        self._writers: list[Writer] = []

    def add(self, writer: Writer) -> None:
        if not self._writers:
            writer.loop.call_soon(self._write)
        self._writers.append(writer)

    def _write(self) -> None:
        writers, self._writers = self._writers, []
        for writer in writers:
            try:
                writer.uncork()
            except Exception:
                log.exception("could not write to %s", writer.owner.describe())


_TURN = _Turn()
