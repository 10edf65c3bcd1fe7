"""Receive CPU: what one room event costs the node that gets it from Redis pub/sub (issue 27).

In small rooms (one-to-one conversations: a message reaches two people) the fixed cost of an
event on the receiving node — reading it off the pub/sub connection, decoding it, routing it to
the room's local sessions, writing it to their sockets — is most of what the message costs there.
This measures exactly that path, in one process, with the real parts: a RedisBackend (its one
pub/sub connection, subscribed to every room), the Hub, and per member a real Writer on a real
socket (a socketpair; its other end is never read: each member gets a few frames, which the kernel
buffers).

A second process publishes `--events` `message` events, encoded as lua/append.lua publishes them
(a NewMessage's own encoding), round-robin over `--rooms` rooms at `--rate` events per second,
each a PUBLISH of its own as an origin node sends it. Every member reads the message's language,
so no translation is involved.

CPU is this process's on-CPU time (time.process_time) from the first event to the last frame
written, minus its idle rate measured just before; printed per event and per delivery (frame
written to a socket), with the machine's load average, for `--repeat` runs.

Uses the Redis of the tests (BABELROOM_TEST_REDIS or redis://127.0.0.1:6379, db 15) with a key
prefix of its own, deleted afterwards.

    .venv/bin/python benchmarks/receive_cpu.py                       # 500 rooms x 2, 3000 events at 500/s, 3 runs
    .venv/bin/python benchmarks/receive_cpu.py --rooms 50 --members 20 --rate 50 --events 1000
    .venv/bin/python benchmarks/receive_cpu.py --hold 30 --repeat 1   # prints its PID: py-spy record -p PID
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import secrets
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from chat.backend.redis import RedisBackend
from chat.backend.redis.keys import Keys
from chat.config import BackendSettings
from chat.hub import Hub
from chat.serving import Writable
from chat.writer import Writer
from rooms.stores.events import NewMessage, encode_event
from rooms.stores.messages import Author

REDIS_URL = os.environ.get("BABELROOM_TEST_REDIS", "redis://127.0.0.1:6379")
TEXT = "Good morning, shall we meet at the station at half past nine tomorrow? {seq}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=500, help="rooms (default 500)")
    parser.add_argument("--members", type=int, default=2, help="local members per room (default 2)")
    parser.add_argument("--events", type=int, default=3000, help="events published per run (default 3000)")
    parser.add_argument("--rate", type=float, default=500.0, help="events per second (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="seconds to wait after printing the PID before the first run (for py-spy)",
    )
    return parser.parse_args()


class Sink(asyncio.Protocol):
    """A member's socket, as chat.serving's GuardedWebSocket writes to it (RawSocket)."""

    written = 0  # frames written to every member's socket (read without summing a thousand sinks)

    def __init__(self) -> None:
        self.writable = Writable()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def write_frame(self, frame: bytes) -> bool:
        assert self.transport is not None
        self.transport.write(frame)
        Sink.written += 1
        return True

    def abort_transport(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class Member:
    """A session as the hub sees it (chat.hub.Reader), writing through a real Writer."""

    moderates_event = False
    session_id = ""

    def __init__(self, user_id: str, writer_socket: Sink) -> None:
        self.lang = "en"
        self.user_id = user_id
        self.writer = Writer(self, self._send_asgi, writer_socket, frames_max=512, bytes_max=1 << 20)

    async def _send_asgi(self, message: object) -> None:
        raise AssertionError("frames go to the raw socket")

    def describe(self) -> str:
        return self.user_id

    async def writer_aborted(self) -> None:
        raise AssertionError(f"{self.user_id} was too slow")

    def push(self, frame: bytes) -> None:
        self.writer.push(frame)

    def push_all(self, frames: list[bytes], size: int) -> None:
        self.writer.push_all(frames, size)

    def removed_from(self, room: str, reason: str) -> None:
        pass

    def role_changed(self, room: str) -> None:
        pass

    def signed_out(self) -> None:
        pass


def publish(
    url: str,
    channels: list[str],
    rooms: list[str],
    events: int,
    rate: float,
    start_ms: int,
    go: multiprocessing.synchronize.Event,
) -> None:
    """The origin nodes: one PUBLISH per message, paced at `rate`."""
    client = redis.Redis.from_url(url)
    epoch = "0badcafe"
    payloads = []
    for seq in range(events):
        index = seq % len(rooms)
        event = NewMessage(
            room=rooms[index],
            id=f"{epoch}.{start_ms}-{seq}",
            ts=start_ms,
            user=Author(id=f"u{index}a", name="Ada"),
            lang="en",
            text=TEXT.format(seq=seq),
        )
        payloads.append((channels[index], encode_event(event)))
    go.wait()
    began = time.perf_counter()
    for seq, (channel, payload) in enumerate(payloads):
        delay = began + seq / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client.publish(channel, payload)


async def run(args: argparse.Namespace) -> None:
    prefix = f"bench-receive-{secrets.token_hex(4)}:"
    url = f"{REDIS_URL}/15"
    # presence heartbeats every hour, not every 5 s: a beat reaps each of the 500 rooms, a burst the
    # idle rate would catch or miss by chance; it is not what an event costs
    backend = RedisBackend(
        BackendSettings(kind="redis", redis_url=url, key_prefix=prefix, presence_ttl=3600), "receiver"
    )
    hub = Hub(backend.stores.broker)
    await backend.start(hub.on_event)
    loop = asyncio.get_running_loop()
    rooms = [f"room-{index}" for index in range(args.rooms)]
    sinks: list[Sink] = []
    far_ends: list[socket.socket] = []
    for room in rooms:
        for seat in range(args.members):
            near, far = socket.socketpair()
            far_ends.append(far)
            _, sink = await loop.connect_accepted_socket(Sink, sock=near)
            sinks.append(sink)
            member = Member(f"{room}-{seat}", sink)
            await hub.attach(room, member)
            hub.deliver_held(room, member, set())
    keys = Keys(prefix)
    channels = [keys.channel(room) for room in rooms]
    print(
        f"pid {os.getpid()}: {args.rooms} rooms x {args.members} members, {args.events} events at "
        f"{args.rate:g}/s per run",
        flush=True,
    )
    if args.hold:
        await asyncio.sleep(args.hold)
    per_event: list[float] = []
    context = multiprocessing.get_context("spawn")
    try:
        for attempt in range(args.repeat):
            go = context.Event()
            start_ms = int(time.time() * 1000) + attempt
            publisher = context.Process(
                target=publish, args=(url, channels, rooms, args.events, args.rate, start_ms, go)
            )
            publisher.start()
            await asyncio.sleep(2.0)  # the publisher builds its payloads meanwhile
            idle_cpu, idle_wall = time.process_time(), time.perf_counter()
            await asyncio.sleep(2.0)
            idle_rate = (time.process_time() - idle_cpu) / (time.perf_counter() - idle_wall)
            before = Sink.written
            expected = before + args.events * args.members
            go.set()
            while Sink.written < before + args.events * args.members // 10:
                await asyncio.sleep(0.001)
            cpu, wall = time.process_time(), time.perf_counter()  # from here: the steady part of the run
            collections = [generation["collections"] for generation in gc.get_stats()]
            first = Sink.written
            deadline = time.monotonic() + args.events / args.rate + 30
            while (written := Sink.written) < expected:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {written} of {expected} frames written")
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - wall
            used = time.process_time() - cpu - idle_rate * elapsed
            delivered = written - first
            events = delivered / args.members
            publisher.join()
            per_event.append(used / events * 1e6)
            collected = [
                generation["collections"] - before_run
                for generation, before_run in zip(gc.get_stats(), collections, strict=True)
            ]
            print(
                f"run {attempt + 1}: {used / events * 1e6:7.1f} us per event, {used / delivered * 1e6:6.1f} us "
                f"per delivery ({events:.0f} events, idle {idle_rate * 100:.1f} % CPU, load "
                f"{os.getloadavg()[0]:.2f}, gc runs per generation {collected})",
                flush=True,
            )
    finally:
        await backend.close()
        for far in far_ends:
            far.close()
        for sink in sinks:
            sink.abort_transport()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
    print(f"per event: {min(per_event):.1f}-{max(per_event):.1f} us (median {statistics.median(per_event):.1f})")


def main() -> None:
    args = parse_args()
    try:
        import uvloop  # the server's loop (chat/cli.py asks uvicorn, which picks uvloop when installed)
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
