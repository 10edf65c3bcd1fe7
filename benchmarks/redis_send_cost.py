"""Redis' own cost of one plain message's send (SendStore.send, chat/backend/redis/lua/send.lua).

What a message costs Redis, not the node: the EVALSHA of send.lua with its gate (standing, send
limits), census, append and PUBLISH, and the delivery of that PUBLISH to two subscribers on the
room's channel (two nodes with members there), as in the peers kit's rooms x 2 members run.

It starts its own redis-server on a free 127.0.0.1 port (no persistence: --save "" --appendonly no),
makes --rooms rooms of two members each (one reads English, one Spanish: every message is
translated into the other's language), subscribes two `redis-cli subscribe` processes to every
room's channel, warms up (each member sends once: streams, buckets and idempotency keys exist, as
on a running event), then drives --sends sends through the real backend (RedisBackend's SendStore,
a cid each unless --no-cid) round-robin over the rooms' members, and prints per send:

- without --callgrind: Redis' CPU time (INFO cpu, user + sys) and INFO commandstats' usec_per_call
  of evalsha, at --rate sends a second (0: back to back, one at a time). CPU time moves with what
  else runs on the machine and with cache warmth (a low rate is a cold-cache figure).
- with --callgrind DIR: redis-server runs under valgrind's callgrind, counting only from the first
  measured send; printed are the instructions per send of the whole process (command parsing,
  the script, the pub/sub writes to the subscribers, the event loop) less the idle rate measured
  in a window before, and of evalShaCommand alone (inclusive). Instruction counts are the same for
  the same code whatever else the machine does: the figure to compare commits with.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/redis_send_cost.py --callgrind /tmp/cg
    PYTHONPATH=$PWD .venv/bin/python benchmarks/redis_send_cost.py --rate 100 --sends 3000
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from chat.backend.redis import RedisBackend
from chat.backend.redis.keys import Keys
from chat.config import BackendSettings
from rooms.stores import Member, Outgoing, SendGate
from rooms.stores.messages import Author
from tests.nodes import free_port

PREFIX = "sendcost:"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=500, help="rooms of two members each (default 500)")
    parser.add_argument("--sends", type=int, default=2000, help="measured sends (default 2000)")
    parser.add_argument("--rate", type=float, default=0, help="sends a second; 0: back to back (default)")
    parser.add_argument("--text", default="Good morning everyone, the next session starts in ten minutes.")
    parser.add_argument("--no-cid", action="store_true", help="send without a cid (no idempotency key)")
    parser.add_argument(
        "--callgrind", metavar="DIR", help="run redis-server under callgrind, dumps in DIR (instructions per send)"
    )
    parser.add_argument("--idle-window", type=float, default=5.0, help="callgrind: seconds of idle counted first")
    return parser.parse_args(argv)


def start_redis(directory: Path, port: int, callgrind: Path | None) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory), "--logfile", str(directory / "redis.log")]
    if callgrind:
        if shutil.which("valgrind") is None:
            raise SystemExit("--callgrind needs valgrind (apt-get install -y valgrind)")
        callgrind.mkdir(parents=True, exist_ok=True)
        out = callgrind / "redis.callgrind.%p"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 120
    while True:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start on port {port}") from None
            time.sleep(0.1)


def callgrind_control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True, timeout=120)


def dump_totals(directory: Path, pid: int, number: int) -> tuple[int, int]:
    """The whole process's instructions in dump `number`, and evalShaCommand's inclusive ones."""
    (dump,) = directory.glob(f"redis.callgrind.{pid}.{number}")
    text = dump.read_text(errors="replace")
    total = int(next(line for line in text.splitlines() if line.startswith("summary:")).split()[1])
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    evalsha = next((line for line in annotated.splitlines() if "evalShaCommand " in line), "0 ")
    return total, int(evalsha.split()[0].replace(",", ""))


def info_cpu(client: redis.Redis) -> float:
    cpu: dict[str, Any] = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


class Run:
    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.args = args
        settings = BackendSettings(kind="redis", redis_url=f"redis://127.0.0.1:{port}/0", key_prefix=PREFIX)
        self.backend = RedisBackend(settings, node_id="sendcost")
        self.keys = Keys(PREFIX)
        self.rooms = [f"room{i}" for i in range(args.rooms)]
        self.count = 0

    def channels(self) -> list[str]:
        return [self.keys.channel(room) for room in self.rooms]  # where send.lua publishes

    async def setup(self) -> None:
        presence = self.backend.stores.presence
        for index, room in enumerate(self.rooms):
            for side, lang in (("a", "en"), ("b", "es")):
                user = f"u{index}{side}"
                await presence.add_member(room, Member(f"c{index}{side}", user, user, lang, "delegate"))

    async def send(self, number: int) -> None:
        room_index, side = (number // 2) % len(self.rooms), number % 2
        room = self.rooms[room_index]
        user = f"u{room_index}{'ab'[side]}"
        lang, other = ("en", "es") if side == 0 else ("es", "en")
        message = Outgoing(
            user=Author(id=user, name=user),
            text=self.args.text,
            lang=lang,
            cid=None if self.args.no_cid else f"cid{number}",
            candidates=frozenset({other, "fr"}),
            sender_lang=lang,
        )
        gate = SendGate(user, rate=1000.0, burst=1000, slow_seconds=0)  # never refuses: every send is stored
        sent = await self.backend.stores.sends.send(room, message, gate)
        if sent.appended is None or not sent.appended.created:
            raise SystemExit(f"send {number} was not stored: {sent}")
        self.count += 1

    async def drive(self, first: int, count: int, rate: float) -> float:
        """`count` sends from number `first`; returns the seconds they took."""
        started = time.monotonic()
        if rate <= 0:
            for number in range(first, first + count):
                await self.send(number)
        else:
            tasks = []
            for offset in range(count):
                delay = started + offset / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.send(first + offset)))
            await asyncio.gather(*tasks)
        return time.monotonic() - started


def subscribers(port: int, channels: list[str]) -> list[subprocess.Popen[bytes]]:
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    return [
        subprocess.Popen([cli, "-p", str(port), "subscribe", *channels], stdout=subprocess.DEVNULL) for _ in range(2)
    ]


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    callgrind = Path(args.callgrind).resolve() if args.callgrind else None
    with tempfile.TemporaryDirectory(prefix="sendcost") as scratch:
        server = start_redis(Path(scratch), port, callgrind)
        client = redis.Redis(port=port, decode_responses=True)
        run = Run(args, port)
        listeners: list[subprocess.Popen[bytes]] = []
        try:
            await run.setup()
            listeners = subscribers(port, run.channels())
            deadline = time.monotonic() + 60
            while client.pubsub_numsub(run.channels()[-1])[0][1] < 2:
                if time.monotonic() > deadline:
                    raise SystemExit("the subscribers did not subscribe")
                await asyncio.sleep(0.1)
            warmup = 2 * len(run.rooms)
            await run.drive(0, warmup, 0)
            client.config_resetstat()
            if callgrind:
                callgrind_control("--instr=on", server.pid)
                await asyncio.sleep(args.idle_window)
                callgrind_control("--dump=idle", server.pid)
            cpu_before = info_cpu(client)
            seconds = await run.drive(warmup, args.sends, args.rate)
            cpu_after = info_cpu(client)
            if callgrind:
                callgrind_control("--dump=sends", server.pid)
            stats = client.info("commandstats").get("cmdstat_evalsha", {})
            print(f"redis_send_cost: {args.sends} sends over {len(run.rooms)} rooms x 2 members, 2 subscribers a room")
            print(f"  sends/s {args.sends / seconds:.1f} (asked {args.rate or 'back to back'}), cid: {not args.no_cid}")
            print(f"  redis CPU per send (INFO cpu): {(cpu_after - cpu_before) / args.sends * 1e6:.1f} us")
            print(
                f"  evalsha calls {stats.get('calls')}, usec_per_call {stats.get('usec_per_call')}"
                + (" (under callgrind)" if callgrind else "")
            )
            if callgrind:
                idle, _ = dump_totals(callgrind, server.pid, 1)
                total, evalsha = dump_totals(callgrind, server.pid, 2)
                per_send = (total - idle / args.idle_window * seconds) / args.sends
                print(f"  instructions per send, whole redis-server (idle rate subtracted): {per_send:,.0f}")
                print(f"  instructions per send, evalShaCommand inclusive: {evalsha / args.sends:,.0f}")
        finally:
            for listener in listeners:
                listener.terminate()
                listener.wait(10)
            await run.backend.close()
            client.shutdown(nosave=True)
            server.wait(120)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
