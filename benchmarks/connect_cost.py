"""Connect cost: what a client costs the node from sign-in to `joined` (issue 27, the connect phase).

The peers kit's small-room run signs 1,500 clients in and joins them (500 rooms x 3: two readers and
a publisher) before any message flows; babelroom took 24.8 s there where Node Socket.IO took 2.1 s.
This measures the same steps against one `babelroom serve` node (a private redis-server without
persistence, or a sqlite file), phase by phase, each phase finished for every client before the
next starts:

- sign-in: `POST /api/session` {name, lang}, as the kit's load generator does (`token` kept);
- connect: the WebSocket handshake and `auth` up to `ready`;
- join: `join` {room, history: 0} up to `joined`; client i joins room i // --per-room, so each room
  fills with --per-room people one after another (presence, census and lobby work of a join grow
  with what is there already).

Each phase runs --concurrency clients at a time (the kit's CONNECT_CONCURRENCY is 50). Printed per
phase: its wall time and the CPU the node (and Redis) spent in it per client, from
/proc/<pid>/task/*/schedstat, minus each process's idle rate measured just before; with the load
average, as other work on the machine slows the wall time but is not counted in the CPU.

    .venv/bin/python benchmarks/connect_cost.py                              # redis and sqlite, 1500 clients
    .venv/bin/python benchmarks/connect_cost.py --backend redis --clients 600 --repeat 3
    .venv/bin/python benchmarks/connect_cost.py --backend redis --profile /tmp/spy   # py-spy per phase
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.origin_cpu import RawClient, RedisProcess, cpu_ns, start_profilers, stop_profilers
from tests.nodes import NodeProcess

REPO = Path(__file__).resolve().parent.parent
PHASES = ("sign-in", "connect", "join")
PHASE_TIMEOUT = 600.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("redis", "sqlite", "both"), default="both", help="default: both")
    parser.add_argument("--clients", type=int, default=1500, help="clients (default 1500)")
    parser.add_argument("--per-room", type=int, default=3, help="clients per room (default 3: 500 rooms)")
    parser.add_argument("--concurrency", type=int, default=50, help="clients at a time (default 50)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend (default 1)")
    parser.add_argument("--idle-window", type=float, default=1.0, help="seconds of idle CPU measured first")
    parser.add_argument(
        "--node-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the node"
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy each phase: DIR/<backend>-<run>-<phase>-<node>.txt")
    parser.add_argument("--json", action="store_true", help="also print one JSON line per run")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 20000 or not 1 <= args.per_room <= args.clients or args.concurrency < 1:
        parser.error("--clients must be 1-20000, --per-room 1..clients, --concurrency positive")
    return args


def write_config(path: Path, rooms: int) -> None:
    """The project's config.toml without its rooms, plus room-0..room-(rooms-1) (as the kit's setup.sh)."""
    text = (REPO / "config.toml").read_text()
    text = text[: text.index("[[rooms]]")] if "[[rooms]]" in text else text
    text += "".join(f'\n[[rooms]]\nid = "room-{i}"\ntitle = "Room {i}"\nforum = "Bench"\n' for i in range(rooms))
    path.write_text(text)


# the client process ---------------------------------------------------------------------------------
async def sign_in(port: int, index: int) -> str:
    """POST /api/session as the kit's load generator does; the token."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"name": f"lg{index}", "lang": "en"}).encode()
    writer.write(
        f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    answer = await reader.read()
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"POST /api/session: {answer[:300]!r}")
    token: str = json.loads(payload)["token"]
    return token


async def open_socket(port: int, token: str) -> RawClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: RawClient("127.0.0.1", port), "127.0.0.1", port)
    await asyncio.wait_for(client.opened, 60)
    await client.request({"type": "auth", "token": token, "lang": "en"}, "ready")
    return client


async def run_clients(port: int, clients: int, per_room: int, concurrency: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    async def gated(work: Any) -> Any:
        async with gate:
            return await work

    async def phase(name: str, works: list[Any]) -> list[Any]:
        await loop.run_in_executor(None, pipe.recv)  # the parent has read the CPU counters
        started = time.monotonic()
        results = await asyncio.gather(*(gated(work) for work in works))
        pipe.send((name, time.monotonic() - started))
        return results

    tokens = await phase("sign-in", [sign_in(port, i) for i in range(clients)])
    sockets: list[RawClient] = await phase("connect", [open_socket(port, token) for token in tokens])
    joins = [{"type": "join", "room": f"room-{i // per_room}", "history": 0} for i in range(clients)]
    await phase("join", [sock.request(join, "joined") for sock, join in zip(sockets, joins, strict=True)])
    await loop.run_in_executor(None, pipe.recv)  # "close"
    for sock in sockets:
        sock.close()
    await asyncio.sleep(0.5)


def client_process(port: int, clients: int, per_room: int, concurrency: int, pipe: Connection) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(run_clients(port, clients, per_room, concurrency, pipe))
    except BaseException as exc:  # the parent must hear why, not wait for a process that is gone
        pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


# the measuring process ----------------------------------------------------------------------------
def redis_calls(url: str) -> dict[str, int]:
    """Commands Redis has run so far, by name (INFO commandstats; EVALSHA counts a script once)."""
    import redis as redis_client

    with redis_client.Redis.from_url(url) as client:
        stats: dict[str, dict[str, int]] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): values["calls"] for name, values in stats.items()}


def measure(args: argparse.Namespace, backend: str, workdir: Path, run_index: int) -> dict[str, Any]:
    rooms = -(-args.clients // args.per_room)
    config = workdir / "config.toml"
    write_config(config, rooms)
    env = {
        "BABELROOM_SERVER_LOG_LEVEL": "warning",
        "BABELROOM_LIMITS_SESSION_RATE": "100000",  # one address signs everyone in, as in the kit
        "BABELROOM_LIMITS_SESSION_BURST": "100000",
        **dict(item.split("=", 1) for item in args.node_env),
    }
    redis_server = RedisProcess(workdir / f"redis-{run_index}") if backend == "redis" else None
    node: NodeProcess | None = None
    context = multiprocessing.get_context("spawn")
    parent_pipe, child_pipe = context.Pipe()
    clients = None
    try:
        if redis_server:
            redis_server.start()
        node = NodeProcess(
            f"c{backend[0]}{run_index}",
            workdir / f"{backend}-{run_index}",
            env=env,
            backend=backend,
            key_prefix=f"conn{run_index}:",
            redis_url=redis_server.url if redis_server else None,
            args=("--config", str(config)),
        )
        node.start(timeout=60)
        pids = [node.pid] + ([redis_server.pid] if redis_server else [])
        before = [cpu_ns(pid) for pid in pids]
        time.sleep(args.idle_window)
        idle = [(cpu_ns(pid) - b) / args.idle_window for pid, b in zip(pids, before, strict=True)]
        loadavg = os.getloadavg()[0]
        clients = context.Process(
            target=client_process,
            args=(node.port, args.clients, args.per_room, args.concurrency, child_pipe),
            daemon=True,
        )
        clients.start()
        result: dict[str, Any] = {"backend": backend, "clients": args.clients, "loadavg": round(loadavg, 1)}
        for name in PHASES:
            label = f"{backend}-{run_index}-{name}"
            profilers = start_profilers(args.profile, label, [node]) if args.profile else []
            calls_before = redis_calls(redis_server.url) if redis_server else {}
            start_cpu = [cpu_ns(pid) for pid in pids]
            started = time.monotonic()
            parent_pipe.send("go")
            if not parent_pipe.poll(PHASE_TIMEOUT):
                raise SystemExit(f"the {name} phase did not finish in {PHASE_TIMEOUT:g} s")
            kind, detail = parent_pipe.recv()
            if kind != name:
                raise SystemExit(f"the client process failed: {detail}")
            window = time.monotonic() - started
            used = [cpu_ns(pid) - s - rate * window for pid, s, rate in zip(pids, start_cpu, idle, strict=True)]
            stop_profilers(profilers)
            result[name] = {"seconds": round(detail, 2), "node_us": round(used[0] / 1000 / args.clients)}
            if redis_server:
                calls = redis_calls(redis_server.url)
                made = {command: count - calls_before.get(command, 0) for command, count in calls.items()}
                result[name]["redis_us"] = round(used[1] / 1000 / args.clients)
                result[name]["commands"] = {  # per client, the info command of these counts left out
                    command: round(count / args.clients, 2)
                    for command, count in made.items()
                    if count and command != "info"
                }
        parent_pipe.send("close")
        clients.join(30)
        return result
    finally:
        if clients is not None and clients.is_alive():
            clients.terminate()
            clients.join(10)
        if node is not None:
            node.stop()
        if redis_server:
            redis_server.stop()


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:g}"
    return f"{statistics.median(values):g} ({min(values):g}-{max(values):g})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ("redis", "sqlite") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory(prefix="connect-cost-") as scratch:
        for backend in backends:
            runs = []
            for run_index in range(args.repeat):
                run = measure(args, backend, Path(scratch), run_index)
                runs.append(run)
                if args.json:
                    print(json.dumps(run), flush=True)
            loads = spread([run["loadavg"] for run in runs])
            print(f"\n== {backend}: {args.clients} clients, {args.per_room} per room, {args.concurrency} at a time")
            print(f"   load average {loads}; medians over {len(runs)} run(s), (min-max)")
            print(f"   {'phase':<8} {'wall s':>16} {'node µs/client':>18} {'redis µs/client':>18}")
            for name in PHASES:
                wall = spread([run[name]["seconds"] for run in runs])
                node = spread([run[name]["node_us"] for run in runs])
                redis_us = spread([run[name]["redis_us"] for run in runs]) if backend == "redis" else "-"
                print(f"   {name:<8} {wall:>16} {node:>18} {redis_us:>18}")
            if backend == "redis":  # the same in every run: the first run's
                for name in PHASES:
                    commands = runs[0][name]["commands"]
                    listed = ", ".join(f"{command} {count:g}" for command, count in sorted(commands.items()))
                    print(f"   {name} Redis commands per client ({sum(commands.values()):g}): {listed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
