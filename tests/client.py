"""A protocol v1 test client over a real WebSocket: connect, send, expect; and the tests' HTTP client."""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from typing import Any

import httpx
import websockets

TIMEOUT = 5.0


@functools.cache
def _certificates() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(base_url: str, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client of a test server (10 s timeout). Every client of the process shares one TLS
    context, verifying as httpx's default does: httpx builds a new one per client otherwise, reading
    the whole CA bundle each time (~47 ms of CPU): a third to two thirds of the CPU of the
    HTTP-heavy test files, though no test talks TLS."""
    return httpx.AsyncClient(base_url=base_url, timeout=10, verify=_certificates(), **kwargs)


class Client:
    """Frames that arrive are kept in an inbox; `expect` takes the first one that matches.

    So a test states what must arrive (and in which order, per type) without depending on how
    frames of different types interleave.
    """

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> Client:
        return cls(await websockets.connect(url, open_timeout=TIMEOUT, **kwargs))

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def _receive(self, timeout: float) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        self.inbox.append(frame)
        return frame

    async def next(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The oldest frame not yet taken, whatever its type."""
        if not self.inbox:
            await self._receive(timeout)
        return self.inbox.pop(0)

    def _take(self, kind: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        for index, frame in enumerate(self.inbox):
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return self.inbox.pop(index)
        return None

    async def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The first frame of this type (and these field values) that arrived or arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := self._take(kind, fields)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} frame {fields or ''} within {timeout}s; saw {self.seen[-6:]}")
            try:
                frame = await self._receive(remaining)
            except TimeoutError:
                continue
            if frame["type"] == "error" and kind != "error":
                raise AssertionError(f"expected {kind}, got error {frame}")
        return found

    async def expect_error(self, code: str, ref: str | None = None) -> dict[str, Any]:
        frame = await self.expect("error")
        assert frame["code"] == code, frame
        if ref is not None:
            assert frame.get("ref") == ref, frame
        return frame

    async def silent(self, kind: str, within: float = 0.3) -> None:
        """Assert that no frame of this type is waiting or arrives within `within` seconds."""
        assert self._take(kind, {}) is None, f"unexpected {kind} in {self.inbox}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (remaining := deadline - loop.time()) > 0:
            try:
                frame = await self._receive(remaining)
            except TimeoutError:
                return
            assert frame["type"] != kind, f"unexpected {frame}"

    async def closed(self, timeout: float = TIMEOUT) -> int:
        """Wait for the server to close the socket; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else 1006

    # protocol steps ----------------------------------------------------------------
    async def auth(self, token: str, lang: str | None = None) -> dict[str, Any]:
        await self.send({"type": "auth", "token": token, **({"lang": lang} if lang else {})})
        return await self.expect("ready")

    async def join(self, room: str, **fields: Any) -> dict[str, Any]:
        await self.send({"type": "join", "room": room, **fields})
        return await self.expect("joined")

    async def say(self, room: str, text: str, **fields: Any) -> dict[str, Any]:
        """Send a message and wait for its ack."""
        ref = fields.pop("ref", f"r{len(self.seen)}")
        await self.send({"type": "send", "room": room, "text": text, "ref": ref, **fields})
        return await self.expect("ack", ref=ref)

    async def close(self) -> None:
        await self.ws.close()
