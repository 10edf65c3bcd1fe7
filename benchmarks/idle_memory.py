"""What one idle joined connection holds: the Python heap per connection, and where it was allocated.

Starts one node in this process (memory backend, uvicorn as `babelroom serve` runs it), then
--connections raw WebSocket clients in a child process (so their memory is not counted), each
authenticated and joined to one room, and compares tracemalloc snapshots taken before and after
(after a garbage collection). Printed: the Python heap per connection and the --top allocation
sites still held, by traceback. The kernel's socket buffers and the interpreter's own overhead are
not in these figures; the peers kit's idle mode (benchmarks/compare_small_rooms.sh IDLE=1) measures
resident memory.

    .venv/bin/python benchmarks/idle_memory.py --connections 400
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import sys
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.origin_cpu import ROOM, RawClient, join
from chat.config import load_config
from chat.tokens import TokenSigner
from rooms import Role
from tests.conftest import start_server
from tests.nodes import SECRET

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=400, help="idle joined connections (default 400)")
    parser.add_argument("--top", type=int, default=15, help="allocation sites printed (default 15)")
    parser.add_argument("--frames", type=int, default=4, help="traceback lines printed per site (default 4)")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 10000:
        parser.error("--connections must be 1-10000")
    return args


def clients(port: int, count: int, pipe: Connection) -> None:
    """The child process: connect, authenticate and join, then hold the connections until told."""

    async def run() -> None:
        signer = TokenSigner(SECRET)
        gate = asyncio.Semaphore(16)

        async def one(index: int) -> RawClient:
            async with gate:
                token = signer.issue(
                    name=f"Member {index}", role=Role.DELEGATE, lang="en", ttl=3600, user_id=f"m{index}"
                )
                return await join(port, token, "en")

        held = await asyncio.gather(*(one(index) for index in range(count)))
        pipe.send("joined")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        for client in held:
            client.close()

    asyncio.run(run())


async def measure(args: argparse.Namespace) -> None:
    os.environ.update(
        {
            "BABELROOM_BACKEND_KIND": "memory",
            "BABELROOM_AUTH_SECRET": SECRET,
            "BABELROOM_TRANSLATION_INSTALL": "",
            "BABELROOM_LIMITS_SESSION_RATE": "100000",
            "BABELROOM_LIMITS_SESSION_BURST": "100000",
        }
    )
    server = await start_server(load_config(REPO / "config.toml"))
    tracemalloc.start(25)
    gc.collect()
    before = tracemalloc.take_snapshot()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=clients, args=(server.port, args.connections, child))
    process.start()
    await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    await asyncio.sleep(2)  # the joins' presence frames drain
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(before, "traceback")
    count = args.connections
    print(
        f"{count} idle connections joined to {ROOM!r}: {sum(s.size_diff for s in stats) / count:.0f} B of "
        "Python heap per connection (tracemalloc)"
    )
    for stat in stats[: args.top]:
        print(f"{stat.size_diff / count:7.0f} B  {stat.count_diff / count:4.1f} blocks per connection")
        for line in stat.traceback.format()[-2 * args.frames :]:
            print("    " + line.strip()[:140])
    parent.send("close")
    process.join(30)
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(measure(parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
