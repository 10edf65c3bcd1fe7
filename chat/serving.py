"""How babelroom runs under uvicorn: its options, and two protocol classes closing what uvicorn leaves open.

- `GuardedHttp` (uvicorn's httptools protocol) bounds a request's head: the request line and
  headers must arrive within `[server] header_timeout` seconds and `HEAD_MAX_BYTES`, else the
  connection gets 408 / 431 and is closed. uvicorn itself waits forever for a head that never
  ends (its keep-alive timeout only runs between requests).
- `GuardedWebSocket` (uvicorn's websockets sans-I/O protocol) answers a text frame that is not
  UTF-8 with close 1007 and one log line, where uvicorn logs a traceback per frame; pauses reading
  only while frames wait untaken (uvicorn pauses and resumes around every frame); and it
  offers itself to the application as the `babelroom.transport` scope extension (a `RawSocket`):
  the session writes frames built once for every reader (chat.wire) straight to the transport,
  with no ASGI message, no task switch and no per-reader encoding per frame, and can drop the
  connection, so a reader that never reads cannot hold its socket open: an ASGI close waits for
  the transport to become writable, which for such a reader is never.
- `RedactTokens`, a filter on uvicorn's loggers, writes `token=[redacted]` for a `token` query
  parameter in access and WebSocket log lines: a token in a URL (a link that signs in) is a
  credential and must not land in log files.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Protocol
from urllib.parse import unquote_plus

import uvicorn
from uvicorn._types import WebSocketReceiveEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol as WebSocketsProtocol
from websockets.protocol import State as WebSocketState

from chat.config import Config

log = logging.getLogger("babelroom.serving")

HEAD_MAX_BYTES = 65536  # request line plus headers
TRANSPORT_EXTENSION = "babelroom.transport"
PEER_EXTENSION = "babelroom.peer"  # the connection's own address, whatever X-Forwarded-For says
CLOSE_INVALID_DATA = 1007
INBOX_FRAMES = 2  # frames waiting for the session, untaken, before the connection stops reading


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline and a size limit on each request's head."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = None  # counting while a head is being read

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_MAX_BYTES:
                self._refuse(b"431 Request Header Fields Too Large", f"request head over {HEAD_MAX_BYTES} bytes")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a request after a keep-alive pause: its head has a deadline too
            self._start_head()

    def on_headers_complete(self) -> None:
        self._stop_head()
        # Before uvicorn's proxy-headers middleware rewrites `client` (the app runs in a task
        # started below, so the scope is complete before it reads it).
        self.scope.setdefault("extensions", {})[PEER_EXTENSION] = {"host": self.client[0] if self.client else ""}
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # the next request's bytes may already be here; count them from now on
        if not self.transport.is_closing():
            self._head_bytes = 0

    def _start_head(self) -> None:
        self._stop_head()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_bytes = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(b"408 Request Timeout", f"request head not complete within {self.header_timeout:g} s")

    def _refuse(self, status: bytes, why: str) -> None:
        self._stop_head()
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closed the HTTP connection of %s: %s", client, why)
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        self.transport.close()


class RawSocket(Protocol):
    """What a session may do with its connection besides ASGI (scope extension `babelroom.transport`)."""

    writable: Writable  # cleared while the transport's buffer is over its high-water mark

    def write_frame(self, frame: bytes) -> bool:
        """Write one whole WebSocket frame now; False when the connection no longer takes frames."""

    def abort_transport(self) -> None:
        """Drop the connection without waiting for anything to be written."""


class Inbox:
    """What uvicorn's protocol needs of its receive queue, for one reader, without asyncio.Queue's
    three deques and an Event (about 3 KB per connection). It keeps its connection's loop:
    asyncio.get_running_loop() makes a getpid() system call on Python 3.11, once a frame here."""

    __slots__ = ("_items", "_loop", "_waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._items: list[Any] = []
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Writable:
    """asyncio.Event's interface for the transport's writable state, allocating waiters only when
    someone waits (asyncio.Event keeps a deque per connection)."""

    __slots__ = ("_loop", "_set", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop  # None: the running loop, asked when someone first waits
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        waiter = self._loop.create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter


class GuardedWebSocket(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol: quiet on invalid UTF-8; frames written as given; abortable;
    lighter per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox(self.loop)  # type: ignore[assignment]
        self.writable = Writable(self.loop)  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake goes on: the app may write to and drop this transport
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = self

    def shutdown(self) -> None:
        # The server stopping sends 1012 to every connection. One whose peer's close frame already came
        # (websockets answers it itself, so the state is CLOSING though uvicorn's close_sent is not set)
        # cannot take another close frame: websockets raises InvalidState, which stopped uvicorn's loop
        # over the other connections (seen in a test server's teardown). It is only closed.
        if self.conn.state in (WebSocketState.CLOSING, WebSocketState.CLOSED):
            self.close_sent = True
        super().shutdown()

    def write_frame(self, frame: bytes) -> bool:
        # Frames written here bypass self.conn: it keeps no state for data frames it does not
        # send, and after its close frame (close_sent) nothing more may go out.
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        self.transport.write(frame)
        return True

    def abort_transport(self) -> None:
        if not self.transport.is_closing() or self.transport.get_write_buffer_size():
            self.transport.abort()

    def send(self, message: Any) -> Any:
        # After the handshake the request and response objects are dead weight per connection.
        if message.get("type") == "websocket.accept":
            return self._accept_then_forget(message)
        return super().send(message)

    async def _accept_then_forget(self, message: Any) -> None:
        await super().send(message)
        self.request = self.response = None  # type: ignore[assignment]
        # The request's headers outlive the handshake twice more (issue 27: ~2 KB per idle
        # connection): in the scope every ASGI frame above the session holds, which nothing reads
        # after the accept, and in the handshake parser's frame (websockets' ServerProtocol.parse
        # keeps `request` while it parses frames). A client waits for the accept before it sends a
        # frame (RFC 6455 4.1), so the reader is still empty and the frame parser has not started:
        # a fresh one (the frame half alone) takes its place in the same state.
        self.scope["headers"] = []
        conn = self.conn
        if not conn.reader.buffer and not conn.reader.eof:
            conn.parser = WebSocketsProtocol.parse(conn)
            next(conn.parser)

    def send_receive_event_to_app(self) -> None:
        # uvicorn pauses reading after every frame and resumes when the application takes it: two
        # epoll changes and their Python around each frame of a connection that sends one frame at a
        # time, as nearly every chat client does (issue 27). Here reading pauses only while frames
        # wait that the session has not taken (INBOX_FRAMES): what a connection can hold unread is
        # still what one socket read brings, as it was. The text is decoded once, checking it: a
        # frame that is not UTF-8 closes the connection with 1007 and one log line, not uvicorn's
        # traceback per frame.
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:  # past the application's close: discarded, reading goes on to the peer's close
            return
        event: WebSocketReceiveEvent
        if self.curr_msg_data_type == "text":
            try:
                event = {"type": "websocket.receive", "text": data.decode()}
            except UnicodeDecodeError:
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
                log.info("closed the WebSocket of %s with 1007: a text frame was not valid UTF-8", client)
                self.conn.send_close(CLOSE_INVALID_DATA, "text frames must be UTF-8")
                self.handle_parser_exception()
                return
        else:
            event = {"type": "websocket.receive", "bytes": data}
        self.queue.put_nowait(event)
        if not self.read_paused and self.queue.qsize() >= INBOX_FRAMES:
            self.read_paused = True
            self.transport.pause_reading()


REDACTED = "[redacted]"
SECRET_PARAMETERS = frozenset({"token"})
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error")  # HTTP access lines; WebSocket handshake lines


def redact_query(text: str) -> str:
    """`text` (a path with a query string, or a log line holding one) with the value of every
    secret parameter replaced, however its name is percent-encoded or cased."""
    path, mark, query = text.partition("?")
    if not mark:
        return text
    query, space, rest = query.partition(" ")  # a log line may go on after the target
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}{space}{rest}"


class RedactTokens(logging.Filter):
    """Redacts secret query parameters in a record's arguments (uvicorn passes the target as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(arg, str) and "?" in arg for arg in args):
            record.args = tuple(redact_query(arg) if isinstance(arg, str) else arg for arg in args)
        elif isinstance(record.msg, str) and "?" in record.msg and not args:
            record.msg = redact_query(record.msg)
        return True


def install_log_redaction() -> None:
    """Put RedactTokens on uvicorn's loggers (once; uvicorn's dictConfig keeps a logger's filters)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
            logger.addFilter(RedactTokens())


def uvicorn_config(app: Any, config: Config, **overrides: Any) -> uvicorn.Config:
    """The uvicorn options babelroom runs with (the CLI and the tests use the same)."""
    http = type("GuardedHttp", (GuardedHttp,), {"header_timeout": config.server.header_timeout})
    options: dict[str, Any] = dict(
        host=config.server.host,
        port=config.server.port,
        log_level=config.server.log_level,
        lifespan="on",
        http=http,
        ws=GuardedWebSocket,
        ws_max_size=config.limits.frame_bytes,
        ws_per_message_deflate=config.limits.compression,
        timeout_keep_alive=config.server.keep_alive_timeout,
        # bounded: uvicorn's default waits for every connection's task however long it takes
        timeout_graceful_shutdown=config.server.shutdown_timeout,
    )
    if config.server.trusted_proxies:  # uvicorn takes the scheme (X-Forwarded-Proto) from them too
        options["forwarded_allow_ips"] = list(config.server.trusted_proxies)
    options.update(overrides)
    uv_config = uvicorn.Config(app, **options)  # configures uvicorn's logging
    install_log_redaction()
    return uv_config


class ListeningServer(uvicorn.Server):
    """uvicorn's server, with an event for the end of its startup (uvicorn keeps only the `started` flag)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_up = asyncio.Event()  # set when startup ends, listening (`started`) or not

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.started_up.set()
