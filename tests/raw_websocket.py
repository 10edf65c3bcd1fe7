"""A raw WebSocket client on a plain socket with a tiny receive buffer: a test controls when it reads."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, masked, as RFC 6455 requires of clients)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _reading(writer: asyncio.StreamWriter) -> asyncio.Transport:
    """The writer's transport, which also reads (a TCP connection's)."""
    transport = writer.transport
    assert isinstance(transport, asyncio.Transport)
    return transport


class RawClient:
    """A WebSocket client on a plain socket, so a test controls its receive buffer and when it reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, *, rcvbuf: int | None = None) -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect: the window is negotiated in the handshake
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        if rcvbuf is not None:
            _reading(writer).pause_reading()  # the test decides when to read
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        client = cls(reader, writer)
        if rcvbuf is not None:
            _reading(writer).resume_reading()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return client

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send_text(json.dumps(frame).encode())

    async def send_text(self, payload: bytes) -> None:
        self.writer.write(mask_frame(0x1, payload))
        await self.writer.drain()

    async def read_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """(opcode, payload) of the next server frame."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await asyncio.wait_for(self.reader.readexactly(size), timeout)

    async def read_json(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == 0x1:
                frame = json.loads(payload)
                if frame.get("type") == kind:
                    return frame

    def stop_reading(self) -> None:
        _reading(self.writer).pause_reading()

    async def drain_until_closed(self, timeout: float) -> int | None:
        """Read everything the server sent until the connection ends: its close code, None when it was
        dropped without one (reset or EOF)."""
        _reading(self.writer).resume_reading()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (remaining := deadline - loop.time()) > 0:
                opcode, payload = await self.read_frame(remaining)
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        raise AssertionError(f"the server kept the connection open for {timeout} s")

    def close(self) -> None:
        self.writer.transport.abort()
