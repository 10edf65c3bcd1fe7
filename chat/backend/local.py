"""What every single-process backend shares: in-process fan-out, presence and send limits.

`memory` and `sqlite` both serve exactly one node, so live events never leave the process:
publishing is a function call, in publish order; presence (who is connected right now) needs no
storage because it dies with the process anyway; and the send limits of the one node are the
limits of the whole "cluster".
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

from rooms.limits import PRUNE_AT, TokenBucket
from rooms.models import SLOW_MODE_MAX
from rooms.stores import Broker, Event, EventHandler, LimitStore, Member, Presence, SendWait


class LocalBroker(Broker):
    """The Broker's pub/sub inside one process; the memory and sqlite brokers add their history."""

    def __init__(self) -> None:
        self._on_event: EventHandler | None = None
        self._subscribed: set[str] = set()

    def start(self, on_event: EventHandler) -> None:
        """Hand every event of a subscribed room, and every node-wide one, to `on_event` (the hub)."""
        self._on_event = on_event

    def close(self) -> None:
        self._on_event = None

    # pub/sub ---------------------------------------------------------------
    async def subscribe(self, room: str) -> None:
        self._subscribed.add(room)

    async def unsubscribe(self, room: str) -> None:
        self._subscribed.discard(room)

    async def publish(self, room: str, event: Event) -> None:
        self._deliver(room, event)

    async def broadcast(self, event: Event) -> None:
        if self._on_event:
            self._on_event(None, event)

    def _deliver(self, room: str, event: Event) -> None:
        """Hand a room's event to this node's hub, now (so in the order of the calls)."""
        if self._on_event and room in self._subscribed:
            self._on_event(room, event)


class LocalPresence(Presence):
    """Presence inside one process: who is connected dies with the process, so nothing is stored."""

    def __init__(self) -> None:
        self._members: dict[str, dict[str, Member]] = defaultdict(dict)
        # Census: connections per (user, language), and users per language, kept on every change.
        self._readers: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        self._census: dict[str, Counter[str]] = defaultdict(Counter)
        self._connections: dict[str, set[str]] = {}  # user -> open connections (this process is the cluster)

    async def add_member(self, room: str, member: Member) -> bool:
        present = self._members[room]
        first = all(other.id != member.id for other in present.values())
        old = present.get(member.conn)
        if old is not None:
            self._count_reader(room, old, -1)
        present[member.conn] = member
        self._count_reader(room, member, +1)
        return first

    async def remove_member(self, room: str, member: Member) -> bool:
        present = self._members[room]
        old = present.pop(member.conn, None)
        if old is None:
            return False
        self._count_reader(room, old, -1)
        return all(other.id != member.id for other in present.values())

    def _count_reader(self, room: str, member: Member, step: int) -> None:
        readers, census = self._readers[room], self._census[room]
        key = (member.id, member.lang)
        readers[key] += step
        if readers[key] <= 0:
            del readers[key]
            census[member.lang] -= 1
            if census[member.lang] <= 0:
                del census[member.lang]
        elif step > 0 and readers[key] == 1:
            census[member.lang] += 1

    async def census(self, room: str) -> dict[str, int]:
        """Users per reading language, kept on every join, leave and language change."""
        return dict(sorted(self._census[room].items()))

    async def members(self, room: str) -> list[Member]:
        return list(self._members[room].values())

    async def open_connection(self, user: str, conn: str, most: int) -> bool:
        open_now = self._connections.get(user, set())
        if conn not in open_now and len(open_now) >= most:
            return False
        self._connections[user] = open_now | {conn}
        return True

    async def close_connection(self, user: str, conn: str) -> None:
        open_now = self._connections.get(user)
        if open_now is not None:
            open_now.discard(conn)
            if not open_now:
                del self._connections[user]


class LocalLimits(LimitStore):
    """Limits in this process: the whole cluster when the backend serves one node."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._last_sent: dict[tuple[str, str], float] = {}

    async def take_token(self, user: str, rate: float, burst: int) -> float:
        return self._bucket(user, rate, burst).take()

    def _bucket(self, user: str, rate: float, burst: int) -> TokenBucket:
        bucket = self._buckets.get(user)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            if len(self._buckets) >= PRUNE_AT:
                self._buckets = {key: kept for key, kept in self._buckets.items() if not kept.full()}
            bucket = self._buckets[user] = TokenBucket(rate, burst)
        return bucket

    async def take_send(self, user: str, rate: float, burst: int, room: str, slow_seconds: int) -> SendWait:
        bucket = self._bucket(user, rate, burst)
        wait = SendWait(bucket.wait(), self._slow_wait(room, user, slow_seconds) if slow_seconds else 0.0)
        if wait.allowed:  # no await between the checks and the takes: one step
            bucket.take()
            if slow_seconds:
                self._slow_take(room, user, slow_seconds)
        return wait

    def _slow_wait(self, room: str, user: str, seconds: int) -> float:
        last = self._last_sent.get((room, user))
        elapsed = None if last is None else time.monotonic() - last
        return seconds - elapsed if elapsed is not None and elapsed < seconds else 0.0

    async def slow_mode_wait(self, room: str, user: str, seconds: int) -> float:
        return self._slow_take(room, user, seconds)

    def _slow_take(self, room: str, user: str, seconds: int) -> float:
        now = time.monotonic()
        key = (room, user)
        last = self._last_sent.get(key)
        if last is not None and now - last < seconds:
            return seconds - (now - last)
        if len(self._last_sent) >= PRUNE_AT:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < SLOW_MODE_MAX}
        self._last_sent[key] = now
        return 0.0
