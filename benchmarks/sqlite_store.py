"""The sqlite backend: messages stored per second, ack latency over a real server, join on a big room.

Three figures, each on a fresh database file in a temporary directory (on the disk that holds
the system's temp dir unless --dir says otherwise; fsync cost depends on that disk):

1. stored/s: --writers concurrent coroutines append messages straight to SqliteBackend (no
   network) for --seconds; commits are batched (group commit), so throughput grows with
   concurrency while each message still waits for its own commit before returning.
2. ack latency: a `babelroom serve` process on sqlite (the default), --senders clients send
   together --rate messages per second with cids; the time from `send` to its `ack` (stored,
   as durable as `synchronous` makes it) is measured per message: p50/p99/max.
3. join: a room is filled with --room-size messages, then a client joins it with history=50
   (and with `since` 50 messages back) --joins times: p50/p99 of the `joined` answer.

It prints figures, not pass/fail. Examples:

    .venv/bin/python benchmarks/sqlite_store.py
    .venv/bin/python benchmarks/sqlite_store.py --synchronous normal --rate 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.backend.sqlite import SqliteBackend
from rooms import Role
from tests.nodes import NodeProcess

ROOM = "plenary"
USER = {"id": "u_bench", "name": "Bench"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help="[backend] synchronous of every run (default full, the default setting)",
    )
    parser.add_argument("--writers", type=int, default=50, help="concurrent appenders for stored/s (default 50)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of each timed run (default 5)")
    parser.add_argument(
        "--rate", type=float, default=100.0, help="messages per second for the ack latency (default 100)"
    )
    parser.add_argument("--senders", type=int, default=10, help="clients sharing that rate (default 10)")
    parser.add_argument("--room-size", type=int, default=100_000, help="messages in the room joined (default 100000)")
    parser.add_argument("--joins", type=int, default=200, help="joins measured (default 200)")
    parser.add_argument("--dir", help="directory for the database files (default: a new temporary one)")
    args = parser.parse_args(argv)
    if min(args.writers, args.senders, args.joins, args.room_size) <= 0 or args.rate <= 0 or args.seconds <= 0:
        parser.error("counts, --rate and --seconds must be positive")
    return args


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# 1. stored per second --------------------------------------------------------------------
async def stored_per_second(path: Path, args: argparse.Namespace) -> dict[str, float]:
    backend = SqliteBackend(path, node_id="bench", history_max=1000, synchronous=args.synchronous)
    await backend.start(lambda room, event: None)
    stored = 0
    end = time.perf_counter() + args.seconds

    async def writer(index: int) -> None:
        nonlocal stored
        n = 0
        while time.perf_counter() < end:
            await backend.stores.broker.append_message(
                f"room-{index % 10}", user=USER, text=f"message {n} of writer {index}", lang="en", cid=f"w{index}-{n}"
            )
            n += 1
            stored += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(args.writers)))
    elapsed = time.perf_counter() - started
    one_by_one = await _sequential(backend, args.seconds / 2)
    await backend.close()
    return {"stored_per_s": stored / elapsed, "sequential_per_s": one_by_one}


async def _sequential(backend: SqliteBackend, seconds: float) -> float:
    """One writer: every message its own transaction and commit."""
    count, end = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < end:
        await backend.stores.broker.append_message("solo", user=USER, text="one at a time", lang="en", cid=None)
        count += 1
    return count / (time.perf_counter() - started)


# 2. ack latency over a real server -----------------------------------------------------------
async def connect(node: NodeProcess, name: str) -> websockets.ClientConnection:
    ws = await websockets.connect(node.ws_url, open_timeout=30, max_queue=None, compression=None)
    await ws.send(json.dumps({"type": "auth", "token": node.token(name, user_id=f"u_{name}")}))
    await _until(ws, "ready")
    await ws.send(json.dumps({"type": "join", "room": ROOM, "history": 0}))
    await _until(ws, "joined")
    return ws


async def _until(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame
        if frame["type"] == "error":
            raise RuntimeError(f"server said {frame}")


async def ack_latency(workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    node = NodeProcess(
        "bench",
        workdir,
        backend="sqlite",
        env={
            "BABELROOM_BACKEND_SYNCHRONOUS": args.synchronous,
            "BABELROOM_TRANSLATION_ENABLED": "false",
            "BABELROOM_LIMITS_RATE_PER_SECOND": str(args.rate),
            "BABELROOM_LIMITS_RATE_BURST": str(int(args.rate) * 10),
            "BABELROOM_SERVER_LOG_LEVEL": "warning",
        },
    )
    await asyncio.to_thread(node.start)
    try:
        clients = [await connect(node, f"s{i}") for i in range(args.senders)]
        latencies: list[float] = []
        interval = args.senders / args.rate
        start = time.perf_counter() + 0.5

        async def sender(index: int, ws: websockets.ClientConnection) -> None:
            sent: dict[str, float] = {}
            count = int(args.seconds * args.rate / args.senders)

            async def receive() -> None:
                while len(latencies_mine) < count:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "ack":
                        latencies_mine.append(time.perf_counter() - sent[frame["ref"]])
                    elif frame["type"] == "error":
                        raise RuntimeError(f"server said {frame}")

            latencies_mine: list[float] = []
            reader = asyncio.create_task(receive())
            for n in range(count):
                at = start + index * interval / args.senders + n * interval
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                ref = f"{index}-{n}"
                sent[ref] = time.perf_counter()
                await ws.send(
                    json.dumps({"type": "send", "room": ROOM, "text": f"bench {ref}", "cid": ref, "ref": ref})
                )
            await asyncio.wait_for(reader, 30)
            latencies.extend(latencies_mine)

        await asyncio.gather(*(sender(i, ws) for i, ws in enumerate(clients)))
        for ws in clients:
            await ws.close()
        ms = [latency * 1000 for latency in latencies]
        return {"acks": len(ms), "p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99), "max_ms": max(ms)}
    finally:
        node.stop()


# 3. join on a big room ---------------------------------------------------------------------
async def fill(path: Path, size: int) -> None:
    """`size` messages in ROOM, written through the backend (in big concurrent waves)."""
    backend = SqliteBackend(path, node_id="fill", history_max=size + 1000, synchronous="normal")
    await backend.start(lambda room, event: None)
    wave = 500
    for first in range(0, size, wave):
        await asyncio.gather(
            *(
                backend.stores.broker.append_message(
                    ROOM, user=USER, text=f"history message number {n} " * 3, lang="en", cid=None
                )
                for n in range(first, min(size, first + wave))
            )
        )
    await backend.close()


async def join_big_room(workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    path = workdir / "data" / "babelroom.sqlite3"
    started = time.perf_counter()
    await fill(path, args.room_size)
    filled = time.perf_counter() - started
    node = NodeProcess(
        "join",
        workdir,
        backend="sqlite",
        env={
            "BABELROOM_BACKEND_HISTORY_MAX": str(args.room_size + 1000),
            "BABELROOM_TRANSLATION_ENABLED": "false",
            "BABELROOM_BACKEND_SYNCHRONOUS": args.synchronous,
            "BABELROOM_SERVER_LOG_LEVEL": "warning",
        },
    )
    opened = time.perf_counter()
    await asyncio.to_thread(node.start)
    start_s = time.perf_counter() - opened
    try:
        ws = await websockets.connect(node.ws_url, open_timeout=30, max_queue=None, compression=None)
        token = node.token("Reader", user_id="u_reader", role=Role.DELEGATE)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await _until(ws, "ready")
        plain: list[float] = []
        since: list[float] = []
        anchor = None
        for _ in range(args.joins):
            for bucket, extra in ((plain, {}), (since, {"since": anchor} if anchor else None)):
                if extra is None:
                    continue
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "join", "room": ROOM, "history": 50, **extra}))
                joined = await _until(ws, "joined")
                bucket.append((time.perf_counter() - t0) * 1000)
                if len(joined["messages"]) != 50:
                    raise RuntimeError(f"joined held {len(joined['messages'])} messages, not 50")
                if anchor is None:
                    anchor = _before(joined["messages"][0]["id"])
                await ws.send(json.dumps({"type": "leave", "room": ROOM}))
                await _until(ws, "left")
        await ws.close()
        size = path.stat().st_size
        return {
            "fill_s": filled,
            "start_s": start_s,
            "file_mb": size / 1e6,
            "joins": len(plain),
            "join_p50_ms": statistics.median(plain),
            "join_p99_ms": pct(plain, 0.99),
            "since_p50_ms": statistics.median(since),
            "since_p99_ms": pct(since, 0.99),
        }
    finally:
        node.stop()


def _before(message_id: str) -> str:
    """The id just before this one: a `since` that replays exactly 50 messages."""
    epoch, _, position = message_id.partition(".")
    return f"{epoch}.{int(position) - 1}"


async def run(args: argparse.Namespace, base: Path) -> None:
    print(f"sqlite backend, synchronous={args.synchronous}, {os.cpu_count()} CPUs, files in {base}")
    (base / "store").mkdir()
    stored = await stored_per_second(base / "store" / "db.sqlite3", args)
    print(
        f"stored/s: {stored['stored_per_s']:.0f} messages/s with {args.writers} concurrent writers "
        f"(group commit); {stored['sequential_per_s']:.0f}/s one at a time (a commit each)"
    )
    latency = await ack_latency(base / "ack", args)
    print(
        f"ack latency at {args.rate:g} msg/s over a real server ({args.senders} clients, {latency['acks']} acks): "
        f"p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms, max {latency['max_ms']:.1f} ms"
    )
    join = await join_big_room(base / "join", args)
    print(
        f"join with 50 messages of history in a room of {args.room_size} ({join['file_mb']:.0f} MB file, filled in "
        f"{join['fill_s']:.0f} s, node started in {join['start_s']:.1f} s incl. quick_check): "
        f"p50 {join['join_p50_ms']:.1f} ms, p99 {join['join_p99_ms']:.1f} ms over {join['joins']} joins; "
        f"with since (50 replayed): p50 {join['since_p50_ms']:.1f} ms, p99 {join['since_p99_ms']:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dir:
        base = Path(args.dir)
        base.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(dir=base, prefix="sqlite-bench-"))
        asyncio.run(run(args, base))
        return 0
    with tempfile.TemporaryDirectory(prefix="sqlite-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
