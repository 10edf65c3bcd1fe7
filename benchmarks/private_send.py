"""The origin's CPU for the unread counts of one private send (issue 27): `Conversations.message_stored`.

A node of the chosen backend (only its backend started: message_stored uses the conversation store
and the broker) holds a conversation of --members people with --history messages from all of them;
one member's read position is the conversation's first message, the others never marked one; with
--positions each member also has a read position in that many other conversations (a member's
read positions were all read to find one before issue 27's read_position). Then
message_stored (what every private send runs: each other member's new unread count, broadcast to
them) is called --calls times per round, in alternating rounds of:

    before   the count as it was up to issue 27: `since` (or the latest history page) read and
             decoded in Python, up to 200 messages, counted there (reproduced by replacing the
             store's unread_count with that algorithm)
    after    the store's unread_count: one indexed COUNT (sqlite), one script that answers the
             number (redis), a loop over the kept messages (memory)

It prints this process's CPU (time.process_time) and wall time per call, each round, so a loaded
machine shows its spread; not pass/fail. Examples:

    .venv/bin/python benchmarks/private_send.py
    .venv/bin/python benchmarks/private_send.py --backend redis --rounds 5 --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.node import Node
from rooms import Room, RoomKind
from rooms.stores import Broker
from rooms.stores.messages import StoredMessage
from tests.conftest import REDIS_TEST_DB, REDIS_URL, test_config

ROOM = "c-bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("sqlite", "memory", "redis"),
        default="sqlite",
        help="the node's backend (default sqlite; redis uses database 15 of 127.0.0.1:6379)",
    )
    parser.add_argument("--members", type=int, default=3, help="people in the conversation (default 3)")
    parser.add_argument("--history", type=int, default=200, help="messages in it (default 200)")
    parser.add_argument(
        "--positions", type=int, default=0, help="read positions each member has in other rooms (default 0)"
    )
    parser.add_argument("--calls", type=int, default=100, help="message_stored calls timed per round (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of before and after (default 3)")
    args = parser.parse_args(argv)
    if args.members < 2 or args.history <= 0 or args.calls <= 0 or args.rounds <= 0 or args.positions < 0:
        parser.error("--members must be at least 2, --history, --calls and --rounds positive, --positions >= 0")
    return args


def old_unread_count(broker: Broker) -> Any:
    """Conversations._unread as it was before issue 27, as an unread_count."""

    async def unread_count(room: str, viewer: str, after: str | None, cap: int) -> int:
        if after is not None:
            replay = await broker.since(room, after, limit=cap)
            messages = replay.messages if replay.recovered else []
        else:
            messages = await broker.history(room, before=None, limit=cap)
        return sum(1 for m in messages if m.user.id != viewer and not m.deleted)

    return unread_count


async def timed(node: Node, message: StoredMessage, calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per message_stored call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await node.conversations.message_stored(ROOM, message)
    return (time.process_time() - cpu) * 1000 / calls, (time.perf_counter() - wall) * 1000 / calls


async def main(args: argparse.Namespace) -> None:
    prefix = f"bench-private-{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as folder:
        config = test_config(
            Path(folder),
            backend={"kind": args.backend, "key_prefix": prefix, "redis_url": f"{REDIS_URL}/{REDIS_TEST_DB}"},
        )
        node = Node(config)
        await node.backend.start(node.hub.on_event)
        try:
            store = node.stores.conversations
            members = [f"u_{i}" for i in range(args.members)]
            await node.stores.rooms.save_room(Room(id=ROOM, title="bench", kind=RoomKind.PRIVATE))
            await store.add_conversation_members(ROOM, members)
            stored = [
                (
                    await node.stores.broker.append_message(
                        ROOM,
                        user={"id": members[i % len(members)], "name": members[i % len(members)]},
                        text=f"message {i} with a sentence of ordinary length in it",
                        lang="en",
                        cid=None,
                    )
                ).message
                for i in range(args.history)
            ]
            await store.set_read(ROOM, members[1], stored[0].id)
            for member in members:
                for other in range(args.positions):
                    await store.set_read(f"c-other-{other}", member, stored[0].id)
            after = store.unread_count
            before = old_unread_count(node.stores.broker)
            message = stored[-1]
            assert await before(ROOM, members[1], stored[0].id, 200) == await after(ROOM, members[1], stored[0].id, 200)
            print(
                f"backend {args.backend}: {args.members} members, {args.history} messages, "
                f"{args.positions} other read positions each, "
                f"{args.calls} message_stored calls per round (ms per call)"
            )
            results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for name, count in (("before", before), ("after", after)):
                    store.unread_count = count  # type: ignore[method-assign]
                    results[name].append(await timed(node, message, args.calls))
                    cpu, wall = results[name][-1]
                    print(f"  {name:6}  cpu {cpu:7.3f}  wall {wall:7.3f}")
            for name, rows in results.items():
                cpus = [cpu for cpu, _ in rows]
                print(f"{name:6}  cpu median {statistics.median(cpus):.3f} ms (range {min(cpus):.3f}-{max(cpus):.3f})")
        finally:
            await node.backend.close()
            if args.backend == "redis":
                client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
                keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
                if keys:
                    await client.delete(*keys)
                await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
