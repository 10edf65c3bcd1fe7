"""Origin CPU: what one message costs the node that accepts it, at several room sizes.

The goal is flat: apart from delivering to its own local members, the node that accepts a
`send` (decode, checks, detection, store, ack, translation bookkeeping) should do the same
work for a message in a 50-member room as in a 5,000-member one.

For each room size it starts everything itself on 127.0.0.1 (fresh nodes per size):

- redis: a private redis-server (no persistence) and two `babelroom serve` nodes. The sender
  is the only member on node A (the origin); every other member is on node B. Printed: node
  A's CPU per message (the figure that should be flat), node B's CPU per delivery, Redis'
  CPU per message.
- memory: one node holds everyone, so its CPU per message includes the fan-out; printed per
  message and per delivery.

Members are real WebSocket connections (auth, join), made by a second process with a tiny
raw-socket client that only counts `message` frames, so the node's work is what is measured.
They share --users user ids (each user has many connections): presence is announced once per
user, so the join phase does not cost N^2 presence frames; everything a message costs per
member is per connection. Members read in several languages; without a translation package no
translation is made (the relay still works out the room's languages). Where Debian's Apertium
packages are installed (the test install has them), rooms of 50 and more get real en->es and
en->fr translations, which the origin pays for: add --node-env BABELROOM_TRANSLATION_ENGINES=argos
to measure the message alone.

CPU is each process's on-CPU time from /proc/<pid>/task/*/schedstat (nanoseconds), over the
sending window up to the last delivery, minus the same process's idle rate measured just
before. Other work on the machine slows things down but is not counted; the load average and
the machine's busy share during the window are printed so busy runs can be told apart.

Examples:

    .venv/bin/python benchmarks/origin_cpu.py                          # both backends, 50/500/5000, 3 runs each
    .venv/bin/python benchmarks/origin_cpu.py --backend redis --sizes 50,5000 --repeat 1
    .venv/bin/python benchmarks/origin_cpu.py --node-env BABELROOM_TRANSLATION_DETECTOR=py3langid

With --callgrind the origin node runs under valgrind's callgrind, instrumented only from the first
message to the last delivery, and the figure is its instructions per message: the same for the same
code whatever else the machine does (CPU time is not; use it to compare commits), less the idle
window's instructions per second over the sending window (a longer --idle-window steadies that). The node runs
~50x slower under callgrind: keep the rate low (the default --max-rate 5 then):

    .venv/bin/python benchmarks/origin_cpu.py --backend redis --sizes 20 --repeat 1 --messages 200 \
        --idle-window 10 --callgrind /tmp/cg --node-env BABELROOM_TRANSLATION_ENGINES=argos
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.tokens import TokenSigner
from rooms import Role
from tests.nodes import SECRET, NodeProcess, free_port

ROOM = "plenary"
LANGS = ("en", "de", "fr", "es", "zh")
MAX_MEMBERS = 10000
CONNECT_CONCURRENCY = 32
CONNECT_TIMEOUT = 600.0  # seconds for every member to connect, authenticate and join
WARMUP = 5  # messages sent and delivered before measuring
SETTLE = 0.5  # seconds after the last delivery still counted (the origin's background work ends)
TEXT = "Good morning everyone, this is update {seq} on the agenda of the plenary session before lunch"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("redis", "memory", "both"),
        default="both",
        help="redis: two nodes, origin holds only the sender; memory: one node (default: both)",
    )
    parser.add_argument(
        "--sizes",
        default="50,500,5000",
        help=f"comma-separated room sizes in connections, each <= {MAX_MEMBERS} (default 50,500,5000)",
    )
    parser.add_argument("--messages", type=int, default=60, help="messages sent per run (default 60)")
    parser.add_argument("--max-rate", type=float, default=20.0, help="highest send rate, msg/s (default 20)")
    parser.add_argument(
        "--max-deliveries",
        type=float,
        default=10000.0,
        help="the rate is lowered so that rate x size stays under this many deliveries/s (default 10000)",
    )
    parser.add_argument(
        "--users", type=int, default=20, help="distinct user ids among the members (default 20; see above)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians are printed (default 3)")
    parser.add_argument(
        "--idle-window",
        type=float,
        default=2.0,
        help="seconds of idle CPU measured before each run, subtracted (default 2)",
    )
    parser.add_argument(
        "--node-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the nodes (repeatable), e.g. BABELROOM_LIMITS_SEND_QUEUE=1024",
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON line per run")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record each node with py-spy during the sending window (collapsed stacks, "
        "DIR/<backend>-<size>-<run>-<node>.txt); needs `pip install py-spy`",
    )
    parser.add_argument(
        "--callgrind",
        metavar="DIR",
        help="run the origin node under valgrind's callgrind (instructions per message, "
        "DIR/<backend>-<size>-<run>.callgrind); --max-rate defaults to 5 then",
    )
    args = parser.parse_args(argv)
    if args.callgrind and "--max-rate" not in (argv if argv is not None else sys.argv):
        args.max_rate = 5.0
    try:
        args.size_list = [int(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error("--sizes must be comma-separated integers, e.g. 50,500,5000")
    if not args.size_list or not all(1 <= size <= MAX_MEMBERS for size in args.size_list):
        parser.error(f"every size must be between 1 and {MAX_MEMBERS}")
    if not 1 <= args.messages <= 10000 or args.max_rate <= 0 or args.max_deliveries <= 0:
        parser.error("--messages must be 1-10000; --max-rate and --max-deliveries positive")
    if not 1 <= args.repeat <= 20 or args.users < 1 or args.idle_window <= 0:
        parser.error("--repeat must be 1-20, --users at least 1, --idle-window positive")
    for item in args.node_env:
        if "=" not in item:
            parser.error(f"--node-env takes KEY=VALUE, not {item!r}")
    return args


class Unavailable(Exception):
    """The node answered `unavailable`: retry."""


# a tiny WebSocket client: handshake, masked text frames out, frames in counted -------------
class RawClient(asyncio.Protocol):
    """One connection that counts the `message` frames it gets and answers pings and closes."""

    def __init__(self, host: str, port: int) -> None:
        self._request = (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._upgraded = False
        self._waiting: tuple[str, asyncio.Future[dict[str, Any]]] | None = None
        self.messages = 0
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a TCP connection's transport (uvloop's is not an asyncio.Transport subclass: no isinstance)
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None:
            self.close_code = 1006
        self._fail(ConnectionError(f"connection closed ({self.close_code})"))

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self._waiting and not self._waiting[1].done():
            self._waiting[1].set_exception(exc)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self._buffer[:end].split(b"\r\n", 1)[0]:
                self._fail(ConnectionError(bytes(self._buffer[:end]).decode("latin-1")))
                return
            self._upgraded = True
            del self._buffer[: end + 4]
            if not self.opened.done():
                self.opened.set_result(None)
        self._read_frames()

    def _read_frames(self) -> None:
        buffer, position, size = self._buffer, 0, len(self._buffer)
        while size - position >= 2:
            length, head = buffer[position + 1] & 0x7F, 2
            if length == 126:
                if size - position < 4:
                    break
                length, head = int.from_bytes(buffer[position + 2 : position + 4], "big"), 4
            elif length == 127:
                if size - position < 10:
                    break
                length, head = int.from_bytes(buffer[position + 2 : position + 10], "big"), 10
            start = position + head
            if size < start + length:
                break
            self._frame(buffer[position] & 0x0F, start, length)
            position = start + length
        if position:
            del buffer[:position]

    def _frame(self, opcode: int, start: int, length: int) -> None:
        buffer = self._buffer
        if opcode == 0x1:
            if buffer.find(b'"type":"message"', start, min(start + length, start + 48)) >= 0:
                self.messages += 1
            elif self._waiting is not None:
                frame = json.loads(bytes(buffer[start : start + length]))
                kind, future = self._waiting
                if frame.get("type") == kind and not future.done():
                    future.set_result(frame)
                elif frame.get("type") == "error" and not future.done():
                    error = Unavailable if frame.get("code") == "unavailable" else RuntimeError
                    future.set_exception(error(f"waiting for {kind}: {frame}"))
        elif opcode == 0x9:  # ping: answer with the same payload
            self._write(0xA, bytes(buffer[start : start + length]))
        elif opcode == 0x8:
            self.close_code = int.from_bytes(buffer[start : start + 2], "big") if length >= 2 else 1005
            self._write(0x8, bytes(buffer[start : start + 2]))
            assert self.transport is not None
            self.transport.close()

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        size = len(payload)
        if size < 126:
            head = bytes((0x80 | opcode, 0x80 | size))
        elif size < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
        mask = os.urandom(4)
        keystream = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "little") ^ int.from_bytes(keystream, "little")).to_bytes(size, "little")
        self.transport.write(head + mask + masked)

    def send(self, frame: dict[str, Any]) -> None:
        self._write(0x1, json.dumps(frame, separators=(",", ":")).encode())

    async def request(self, frame: dict[str, Any], answer: str) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting = (answer, future)
        self.send(frame)
        try:
            return await asyncio.wait_for(future, 180)
        finally:
            self._waiting = None

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


@dataclass(frozen=True)
class ClientPlan:
    member_port: int  # node B on redis, the only node on memory
    origin_port: int
    size: int
    users: int
    messages: int
    rate: float
    secret: str


async def join(port: int, token: str, lang: str) -> RawClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: RawClient("127.0.0.1", port), "127.0.0.1", port)
    await asyncio.wait_for(client.opened, 60)
    await client.request({"type": "auth", "token": token, "lang": lang}, "ready")
    for attempt in range(10):
        try:
            await client.request({"type": "join", "room": ROOM, "history": 0}, "joined")
            return client
        except Unavailable:  # a busy machine: Redis calls time out under the join storm
            await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError("join was `unavailable` 10 times")


async def run_clients(plan: ClientPlan, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    signer = TokenSigner(plan.secret)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def member(index: int) -> RawClient:
        user = index % plan.users
        async with gate:
            token = signer.issue(name=f"Member {user}", role=Role.DELEGATE, lang="en", ttl=3600, user_id=f"m{user}")
            return await join(plan.member_port, token, LANGS[index % len(LANGS)])

    members = await asyncio.wait_for(asyncio.gather(*(member(i) for i in range(plan.size - 1))), CONNECT_TIMEOUT)
    sender = await join(
        plan.origin_port, signer.issue(name="Speaker", role=Role.DELEGATE, lang="en", ttl=3600, user_id="speaker"), "en"
    )
    readers = [*members, sender]
    # Warm up (lazy imports, detector profiles, caches), and let the joins' presence frames drain.
    for seq in range(WARMUP):
        sender.send({"type": "send", "room": ROOM, "text": "Warming up before we start, message " + str(seq)})
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(reader.messages >= WARMUP for reader in readers):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    for reader in readers:
        reader.messages = 0
    pipe.send(("ready", len(readers)))
    await loop.run_in_executor(None, pipe.recv)  # "go"
    started = time.monotonic()
    interval = 1 / plan.rate
    for seq in range(plan.messages):
        await asyncio.sleep(max(0.0, started + seq * interval - time.monotonic()))
        sender.send({"type": "send", "room": ROOM, "text": TEXT.format(seq=seq)})
    deadline = started + plan.messages * interval + 120
    while time.monotonic() < deadline:
        if all(reader.messages >= plan.messages or reader.close_code is not None for reader in readers):
            break
        await asyncio.sleep(0.01)
    finished = time.monotonic()
    pipe.send(
        (
            "done",
            {
                "delivered": sum(reader.messages for reader in readers),
                "expected": plan.messages * len(readers),
                "closed": sum(reader.close_code is not None for reader in readers),
                "seconds": finished - started,
            },
        )
    )
    await loop.run_in_executor(None, pipe.recv)  # "close"
    for reader in readers:
        reader.close()
    await asyncio.sleep(0.5)


def client_process(plan: ClientPlan, pipe: Connection) -> None:
    """The second process: members and the sender."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(run_clients(plan, pipe))
    except BaseException as exc:  # the parent must hear why, not wait for a process that is gone
        pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


# measurements ---------------------------------------------------------------------------------
def cpu_ns(pid: int) -> int:
    """Nanoseconds the process's threads have run (threads that ended are not counted)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stats:
                total += int(stats.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def machine_busy() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class RedisProcess:
    """A throwaway redis-server without persistence: Redis' own disk work is not what is measured."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis as redis_client

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with redis_client.Redis(port=self.port, socket_connect_timeout=0.5) as client:
                    if client.ping():
                        return
            except redis_client.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 15 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Run:
    backend: str
    size: int
    messages: int
    rate: float
    origin_us_per_msg: float
    other_us_per_delivery: float | None
    redis_us_per_msg: float | None
    delivered: int
    expected: int
    closed: int
    seconds: float
    loadavg: float
    machine_busy_pct: float
    extra: dict[str, Any] = field(default_factory=dict)


def measure(args: argparse.Namespace, backend: str, size: int, workdir: Path, run_index: int) -> Run:
    rate = min(args.max_rate, args.max_deliveries / size)
    env = {
        "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
        "BABELROOM_LIMITS_RATE_BURST": "1000",
        "BABELROOM_SERVER_LOG_LEVEL": "warning",
        "BABELROOM_SERVER_LOBBY_INTERVAL": "2.0",
        **dict(item.split("=", 1) for item in args.node_env),
    }
    redis_server = RedisProcess(workdir / f"redis-{run_index}") if backend == "redis" else None
    nodes: list[NodeProcess] = []
    context = multiprocessing.get_context("spawn")
    parent_pipe, child_pipe = context.Pipe()
    clients = None
    try:
        if redis_server:
            redis_server.start()
        names = ["a", "b"] if redis_server else ["m"]
        callgrind_out = Path(args.callgrind) / f"{backend}-{size}-{run_index}.callgrind" if args.callgrind else None
        for name in names:
            nodes.append(
                NodeProcess(
                    f"{name}{run_index}",
                    workdir,
                    env=env,
                    key_prefix=f"ocpu{run_index}:",
                    redis_url=redis_server.url if redis_server else None,
                    command_prefix=callgrind_prefix(callgrind_out) if callgrind_out and not nodes else (),
                )
            )
            nodes[-1].start(timeout=600 if callgrind_out and len(nodes) == 1 else 60)
        origin, other = nodes[0], nodes[-1]
        plan = ClientPlan(
            member_port=other.port,
            origin_port=origin.port,
            size=size,
            users=args.users,
            messages=args.messages,
            rate=rate,
            secret=SECRET,
        )
        clients = context.Process(target=client_process, args=(plan, child_pipe), daemon=True)
        clients.start()
        if not parent_pipe.poll(CONNECT_TIMEOUT + 60):
            raise SystemExit("the client process did not get ready in time")
        kind, detail = parent_pipe.recv()
        if kind != "ready":
            raise SystemExit(f"the client process failed: {detail}")
        pids = [node.pid for node in nodes] + ([redis_server.pid] if redis_server else [])
        if callgrind_out:  # the idle window first: what the node does anyway (pings, beats, lobby) per second
            callgrind_control("--instr=on", nodes[0])
        before = [cpu_ns(pid) for pid in pids]
        time.sleep(args.idle_window)
        idle_rate = [(cpu_ns(pid) - b) / args.idle_window for pid, b in zip(pids, before, strict=True)]
        loadavg = os.getloadavg()[0]
        busy_before = machine_busy()
        profilers = start_profilers(args.profile, f"{backend}-{size}-{run_index}", nodes) if args.profile else []
        if callgrind_out:  # the idle window's instructions were dumped: count from here
            callgrind_control("--dump=idle", nodes[0])
        start_cpu = [cpu_ns(pid) for pid in pids]
        started = time.monotonic()
        parent_pipe.send("go")
        if not parent_pipe.poll(args.messages / rate + 240):
            raise SystemExit("the run did not finish in time")
        kind, result = parent_pipe.recv()
        if kind != "done":
            raise SystemExit(f"the client process failed: {result}")
        time.sleep(SETTLE)
        if callgrind_out:
            callgrind_control("--dump", nodes[0])
        window = time.monotonic() - started
        used = [cpu_ns(pid) - s - idle * window for pid, s, idle in zip(pids, start_cpu, idle_rate, strict=True)]
        busy_after = machine_busy()
        stop_profilers(profilers)
        busy = 100 * (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
        parent_pipe.send("close")
        clients.join(30)
        messages = args.messages
        extra = {}
        if callgrind_out:
            idle, sending = callgrind_dumps(callgrind_out)
            extra["origin_instructions_per_msg"] = (sending - idle / args.idle_window * window) / messages
        if backend == "redis":
            return Run(
                backend,
                size,
                messages,
                rate,
                origin_us_per_msg=used[0] / 1000 / messages,
                other_us_per_delivery=used[1] / 1000 / (messages * (size - 1)),
                redis_us_per_msg=used[2] / 1000 / messages,
                delivered=result["delivered"],
                expected=result["expected"],
                closed=result["closed"],
                seconds=result["seconds"],
                loadavg=loadavg,
                machine_busy_pct=busy,
                extra=extra,
            )
        return Run(
            backend,
            size,
            messages,
            rate,
            origin_us_per_msg=used[0] / 1000 / messages,
            other_us_per_delivery=used[0] / 1000 / (messages * size),
            redis_us_per_msg=None,
            delivered=result["delivered"],
            expected=result["expected"],
            closed=result["closed"],
            seconds=result["seconds"],
            loadavg=loadavg,
            machine_busy_pct=busy,
            extra=extra,
        )
    finally:
        if clients is not None and clients.is_alive():
            clients.terminate()
            clients.join(10)
        for node in nodes:
            node.stop()
        if redis_server:
            redis_server.stop()


def start_profilers(directory: str, label: str, nodes: list[NodeProcess]) -> list[subprocess.Popen[bytes]]:
    """py-spy on every node (its own cost lands on the machine, not in the nodes' CPU figures)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(directory).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(node.pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(Path(directory) / f"{label}-{node.node_id}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for node in nodes
    ]


def callgrind_prefix(out: Path) -> tuple[str, ...]:
    """valgrind's callgrind around the node, not counting until `--instr=on` (its start stays fast)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--callgrind needs valgrind (apt-get install -y valgrind)")
    out.parent.mkdir(parents=True, exist_ok=True)
    return ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p")


def callgrind_control(option: str, node: NodeProcess) -> None:
    subprocess.run(["callgrind_control", option, str(node.pid)], check=True, capture_output=True, timeout=120)


def callgrind_dumps(out: Path) -> tuple[int, int]:
    """Instructions in the run's two dumps: the idle window's, then the sending window's (the files
    .PID.1 and .PID.2; .PID is the rest, written at exit)."""
    totals = []
    for number in (1, 2):
        (dump,) = out.parent.glob(f"{out.name}.*.{number}")
        summary = next(line for line in dump.read_text(errors="replace").splitlines() if line.startswith("summary:"))
        totals.append(int(summary.split()[1]))
    return totals[0], totals[1]


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        try:
            profiler.wait(30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait(5)


def median_range(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.0f}"
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def report(runs: list[Run]) -> None:
    print(
        f"\n== origin_cpu ({os.cpu_count()} CPUs shared by the nodes, Redis and the clients); "
        "medians over the runs, (min-max)"
    )
    print(
        "backend | members | msgs @ rate | origin node us/msg | other node us/delivery | redis us/msg | "
        "delivered | closed | load avg | machine busy %"
    )
    print("---|---|---|---|---|---|---|---|---|---")
    for key in dict.fromkeys((run.backend, run.size) for run in runs):
        group = [run for run in runs if (run.backend, run.size) == key]
        first = group[0]
        other = median_range([r.other_us_per_delivery for r in group if r.other_us_per_delivery is not None])
        other_label = other + (" (same node)" if first.backend == "memory" else "")
        redis = (
            median_range([r.redis_us_per_msg for r in group if r.redis_us_per_msg is not None])
            if first.redis_us_per_msg is not None
            else "-"
        )
        delivered = sum(r.delivered for r in group)
        expected = sum(r.expected for r in group)
        print(
            f"{first.backend} | {first.size} | {first.messages} @ {first.rate:g}/s | "
            f"{median_range([r.origin_us_per_msg for r in group])} | {other_label} | {redis} | "
            f"{delivered}/{expected} | {sum(r.closed for r in group)} | "
            f"{statistics.median([r.loadavg for r in group]):.2f} | "
            f"{statistics.median([r.machine_busy_pct for r in group]):.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ["redis", "memory"] if args.backend == "both" else [args.backend]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="origin-cpu-") as tmp:
        index = 0
        for backend in backends:
            for size in args.size_list:
                for _ in range(args.repeat):
                    index += 1
                    run = measure(args, backend, size, Path(tmp), index)
                    runs.append(run)
                    print(
                        f"run {index}: {backend} {size} members: origin {run.origin_us_per_msg:.0f} us/msg, "
                        f"per delivery {run.other_us_per_delivery or 0:.1f} us, delivered "
                        f"{run.delivered}/{run.expected}, closed {run.closed}, load {run.loadavg:.2f}, "
                        f"busy {run.machine_busy_pct:.0f} %",
                        flush=True,
                    )
                    if "origin_instructions_per_msg" in run.extra:
                        print(f"run {index}: origin {run.extra['origin_instructions_per_msg']:,.0f} instructions/msg")
                    if args.json:
                        print(json.dumps(run.__dict__), flush=True)
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
