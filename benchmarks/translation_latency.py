"""Translation latency: from `send` to the moment every reader holds the message in their language.

One room of --members connections (default 20) reading three languages (default en, es, pt:
Apertium's eng-spa and spa-por packages, English <-> Portuguese in two hops through Spanish),
on one `babelroom serve` node with Apertium only (memory backend, or --backend redis: a private
redis-server and two nodes, readers split between them, senders on the first). Members take
turns sending real chat lines in their own language (benchmarks/data/chat_lines.tsv, each made
unique with a number so no cache answers it) at --rate messages per second, for --seconds.

For each message: the time from its `send` to the last reader having it in their language (the
`message` frame for a reader of its language, the `translation` frame (or `translation_failed`)
for every language its `translating` names). Printed: p50, p95, p99 and max of that, over the
messages after a warm-up, and how many readers got what they were promised. Goal (issue 27):
p95 <= 50 ms at 50 msg/s. The machine's load average is printed: a busy machine slows this down.

    .venv/bin/python benchmarks/translation_latency.py
    .venv/bin/python benchmarks/translation_latency.py --backend redis --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.nodes import NodeProcess, free_port

ROOM = "plenary"
LINES = Path(__file__).resolve().parent / "data" / "chat_lines.tsv"
WARMUP = 2.0  # seconds of messages not counted (the Apertium pipelines start on first use)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("memory", "redis"),
        default="memory",
        help="memory: one node; redis: a private redis-server and two nodes (default memory)",
    )
    parser.add_argument("--members", type=int, default=20, help="connections in the room (default 20)")
    parser.add_argument("--langs", default="en,es,pt", help="reading languages, comma-separated (default en,es,pt)")
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second (default 50)")
    parser.add_argument("--seconds", type=float, default=15.0, help="sending time (default 15)")
    args = parser.parse_args(argv)
    args.lang_list = [lang.strip() for lang in args.langs.split(",") if lang.strip()]
    if not 2 <= args.members <= 1000 or not args.lang_list or args.rate <= 0 or args.seconds <= WARMUP:
        parser.error(f"--members 2-1000, --langs not empty, --rate positive, --seconds above {WARMUP}")
    return args


def chat_lines(langs: list[str]) -> dict[str, list[str]]:
    """The benchmark's lines of each language, longer ones only (short ones are not detected)."""
    lines: dict[str, list[str]] = {lang: [] for lang in langs}
    with LINES.open(encoding="utf-8") as source:
        for row in csv.DictReader(source, delimiter="\t"):
            if row["lang"] in lines and len(row["text"]) >= 20:
                lines[row["lang"]].append(row["text"])
    missing = [lang for lang, found in lines.items() if not found]
    if missing:
        raise SystemExit(f"no chat lines in {', '.join(missing)} in {LINES}")
    return lines


@dataclass
class Sent:
    at: float
    lang: str  # the sender's language (what the message's own readers read)
    waiting: set[tuple[int, str]] = field(default_factory=set)  # (reader, "message" | lang) still due
    done: float | None = None
    promised: int = 0
    delivered: int = 0


class Reader:
    def __init__(self, index: int, lang: str, socket: Any) -> None:
        self.index, self.lang, self.socket = index, lang, socket


class Run:
    def __init__(self) -> None:
        self.by_cid: dict[str, Sent] = {}
        self.by_id: dict[str, Sent] = {}
        self.pending: dict[str, list[tuple[Reader, dict[str, Any]]]] = {}  # frames before the ack

    def settle(self, sent: Sent, reader: Reader, what: str) -> None:
        if (reader.index, what) in sent.waiting:
            sent.waiting.discard((reader.index, what))
            sent.delivered += 1
            if not sent.waiting:
                sent.done = time.monotonic()

    def on_frame(self, reader: Reader, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ack" and frame.get("cid") in self.by_cid:
            self.by_id[frame["id"]] = self.by_cid[frame["cid"]]
            for early_reader, early in self.pending.pop(frame["id"], []):
                self.on_frame(early_reader, early)
            return
        if kind not in ("message", "translation", "translation_failed"):
            return
        sent = self.by_id.get(frame.get("id", ""))
        if sent is None:
            self.pending.setdefault(frame.get("id", ""), []).append((reader, frame))
            return
        if kind == "message":
            translating = frame.get("translating") or []
            if reader.lang in translating and (reader.index, "message") in sent.waiting:
                sent.waiting.add((reader.index, reader.lang))  # its translation is what this reader waits for
                sent.promised += 1
            self.settle(sent, reader, "message")
        elif frame.get("lang") == reader.lang:
            self.settle(sent, reader, reader.lang)


async def connect(node: NodeProcess, index: int, lang: str, run: Run) -> tuple[Reader, asyncio.Task[None]]:
    socket = await websockets.connect(node.ws_url, max_size=None, open_timeout=60)
    token = node.token(f"Member {index}", user_id=f"m{index}", lang=lang)
    await socket.send(json.dumps({"type": "auth", "token": token, "lang": lang}))
    while json.loads(await socket.recv()).get("type") != "ready":
        pass
    await socket.send(json.dumps({"type": "join", "room": ROOM, "history": 0}))
    while json.loads(await socket.recv()).get("type") != "joined":
        pass
    reader = Reader(index, lang, socket)

    async def listen() -> None:
        async for raw in socket:
            run.on_frame(reader, json.loads(raw))

    return reader, asyncio.create_task(listen())


async def drive(args: argparse.Namespace, nodes: list[NodeProcess]) -> list[Sent]:
    run = Run()
    lines = chat_lines(args.lang_list)
    joined = [
        await connect(nodes[index % len(nodes)], index, args.lang_list[index % len(args.lang_list)], run)
        for index in range(args.members)
    ]
    readers = senders = [reader for reader, _ in joined]  # members take turns sending
    counter = itertools.count()
    started, interval, counted = time.monotonic(), 1 / args.rate, []
    total = int(args.seconds * args.rate)
    for seq in range(total):
        await asyncio.sleep(max(0.0, started + seq * interval - time.monotonic()))
        sender = senders[seq % len(senders)]
        line = lines[sender.lang][next(counter) % len(lines[sender.lang])]
        cid = f"c{seq}"
        sent = Sent(at=time.monotonic(), lang=sender.lang, waiting={(reader.index, "message") for reader in readers})
        run.by_cid[cid] = sent
        await sender.socket.send(json.dumps({"type": "send", "room": ROOM, "text": f"{line} ({seq})", "cid": cid}))
        if seq * interval >= WARMUP:
            counted.append(sent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(sent.done is None for sent in counted):
        await asyncio.sleep(0.05)
    for reader, task in joined:
        task.cancel()
        await reader.socket.close()
    return counted


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(args: argparse.Namespace, counted: list[Sent]) -> None:
    latencies = [1000 * (sent.done - sent.at) for sent in counted if sent.done is not None]
    unfinished = len(counted) - len(latencies)
    translated = sum(sent.promised for sent in counted)
    print(
        f"translation_latency: {args.members} members reading {','.join(args.lang_list)}, {args.rate:g} msg/s "
        f"for {args.seconds:g} s on {args.backend} (Apertium), {len(counted)} messages counted after "
        f"{WARMUP:g} s of warm-up; load average {os.getloadavg()[0]:.2f} (2 CPUs shared)"
    )
    if latencies:
        print(
            f"send -> every reader in their language, ms: p50 {statistics.median(latencies):.1f}  "
            f"p95 {percentile(latencies, 0.95):.1f}  p99 {percentile(latencies, 0.99):.1f}  "
            f"max {max(latencies):.1f}"
        )
    print(f"translations promised to readers: {translated}; messages not complete after 30 s: {unfinished}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("apertium") is None:
        print("apertium is not installed (Debian: apertium apertium-eng-spa apertium-es-pt)", file=sys.stderr)
        return 2
    env = {
        "BABELROOM_TRANSLATION_ENGINES": "apertium",
        "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
        "BABELROOM_LIMITS_RATE_BURST": "1000",
        "BABELROOM_LIMITS_SESSION_RATE": "100000",
        "BABELROOM_LIMITS_SESSION_BURST": "100000",
    }
    with tempfile.TemporaryDirectory(prefix="translation-latency-") as folder:
        workdir = Path(folder)
        redis_server: subprocess.Popen[bytes] | None = None
        redis_url = None
        if args.backend == "redis":
            port = free_port()
            redis_server = subprocess.Popen(
                ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", folder],
                stdout=subprocess.DEVNULL,
            )
            redis_url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.5)
        nodes = [
            NodeProcess(f"n{index}", workdir, redis_url=redis_url, env=env) for index in range(2 if redis_url else 1)
        ]
        try:
            for node in nodes:
                node.start(timeout=60)
            report(args, asyncio.run(drive(args, nodes)))
        finally:
            for node in nodes:
                node.stop()
            if redis_server is not None:
                redis_server.terminate()
                redis_server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
