"""What the backend contract tests share: a started backend that records its events, sample users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from chat.backend import Backend, Encoded, Event, Member
from rooms.stores import Stores
from rooms.stores.messages import StoredMessage

ROOM = "plenary"
ADA = {"id": "u_ada", "name": "Ada"}
BOB = {"id": "u_bob", "name": "Bob"}


@dataclass
class Node:
    """A started backend and the events it delivered, in order."""

    backend: Backend
    events: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    passed_through: list[Encoded] = field(default_factory=list)  # handed over already encoded

    @property
    def stores(self) -> Stores:
        """The backend's store objects: each contract test asks the one its interface names."""
        return self.backend.stores

    def on_event(self, room: str | None, event: Event | Encoded) -> None:
        # as it travels: a JSON object with a "type" (an Encoded one is its frame, already JSON)
        if isinstance(event, Encoded):
            self.passed_through.append(event)
        recorded = msgspec.json.decode(event.payload) if isinstance(event, Encoded) else msgspec.to_builtins(event)
        self.events.append((room, recorded))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for _, event in self.events if event.get("type") == kind]

    async def wait_for(self, kind: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first `count` events of a type, waiting for pub/sub to deliver them."""
        deadline = time.monotonic() + timeout
        while len(self.of_type(kind)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.of_type(kind))} {kind} events of {count} after {timeout}s")
            await asyncio.sleep(0.01)
        return self.of_type(kind)[:count]

    async def say(
        self, text: str, user: dict[str, str] = ADA, cid: str | None = None, room: str = ROOM
    ) -> StoredMessage:
        return (await self.stores.broker.append_message(room, user=user, text=text, lang="en", cid=cid)).message


def member(conn: str, user: dict[str, str] = ADA, lang: str = "en") -> Member:
    return Member(conn, user["id"], user["name"], lang, "delegate")


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
